/**
 * Which keys carry a tag, for a store that drops entries by tag.
 *
 * Each tag keeps a count of the entries that carry it and, while that count is small, an
 * append-only list of their keys. Storing an entry appends its key; losing one only
 * lowers the count, so neither walks or rehashes a set of every key with that tag. (A
 * `Set` per tag did: with a tag such as `method:tools/call` on every entry of a full
 * store, each miss added to and evicted from two sets of ten thousand keys, which
 * profiling showed as a quarter of a miss.) The list may hold keys whose entry has gone
 * or no longer carries the tag, and duplicates; it is compacted when it grows past
 * {@link COMPACT_FACTOR} times the live count, and a tag whose count reaches zero is
 * forgotten with its list.
 *
 * A tag carried by more entries than the index's `listLimit` stops being listed: it is
 * *broad*, and {@link TagIndex.candidates} answers {@link EVERY_KEY} for it, so the
 * store walks all its entries to drop it. Keeping such lists cost more than anything
 * else a miss did in a full store (an append to a list of ten thousand keys per tag, and
 * compactions that look up every listed key; benchmark `cache.miss.inmemory` measures a
 * miss in a full store). A broad tag stays broad
 * until its count reaches zero, and dropping it removes every entry that carries it, so
 * it is walked for once; it became broad by being stored with more than `listLimit`
 * entries, so that walk costs at most `store size / listLimit` checks for each of them.
 *
 * Internal: used by the memory store.
 *
 * @module
 */

/** A tag's list is compacted when it holds more than this many times its live count … */
const COMPACT_FACTOR = 4;
/** … plus this many entries. */
const COMPACT_SLACK = 32;

/** What {@link TagIndex.candidates} answers for a broad tag: any key may carry it. */
export const EVERY_KEY = Symbol('every key');

interface Tagged {
  /** The keys that may carry the tag; `undefined` once the tag is broad. */
  keys: string[] | undefined;
  live: number;
}

/** Tag → keys, for {@link MemoryStore}-like stores. */
export class TagIndex {
  readonly #tags = new Map<string, Tagged>();
  readonly #carries: (key: string, tag: string) => boolean;
  readonly #listLimit: number;

  /**
   * @param carries - whether the entry the store holds under `key` carries `tag` now;
   *   asked only while compacting a list
   * @param listLimit - a tag carried by more live entries than this is broad (not listed)
   */
  constructor(carries: (key: string, tag: string) => boolean, listLimit: number) {
    this.#carries = carries;
    this.#listLimit = listLimit;
  }

  /** The entry now stored under `key` carries `tags`. */
  add(key: string, tags: readonly string[]): void {
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!;
      let tagged = this.#tags.get(tag);
      if (tagged === undefined) {
        tagged = { keys: [], live: 0 };
        this.#tags.set(tag, tagged);
      }
      const live = ++tagged.live;
      const keys = tagged.keys;
      if (keys === undefined) continue;
      if (live > this.#listLimit) {
        tagged.keys = undefined;
        continue;
      }
      keys.push(key);
      if (keys.length > COMPACT_FACTOR * live + COMPACT_SLACK)
        tagged.keys = compact(keys, tag, live, this.#carries);
    }
  }

  /** An entry that carried `tags` is gone (evicted, deleted or replaced). */
  remove(tags: readonly string[]): void {
    for (let i = 0; i < tags.length; i++) {
      const tagged = this.#tags.get(tags[i]!);
      if (tagged !== undefined && --tagged.live <= 0) this.#tags.delete(tags[i]!);
    }
  }

  /**
   * Keys that may carry `tag` (a copy: dropping entries while walking it is safe), or
   * {@link EVERY_KEY} for a broad tag. Every key whose entry carries the tag is in the
   * list; the caller checks each.
   */
  candidates(tag: string): string[] | typeof EVERY_KEY {
    const tagged = this.#tags.get(tag);
    if (tagged === undefined) return [];
    return tagged.keys === undefined ? EVERY_KEY : tagged.keys.slice();
  }

  /** How many tags have live entries. */
  get size(): number {
    return this.#tags.size;
  }

  /** Forgets every tag. */
  clear(): void {
    this.#tags.clear();
  }
}

/**
 * The keys of `keys` whose entry carries `tag` now, each once. A key stored again while its
 * earlier place was still listed appears twice; only then, when more keys are kept than
 * `live` entries exist, is a set built to drop the repeats.
 */
function compact(
  keys: string[],
  tag: string,
  live: number,
  carries: (key: string, tag: string) => boolean,
): string[] {
  const kept: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (carries(key, tag)) kept.push(key);
  }
  return kept.length <= live ? kept : [...new Set(kept)];
}
