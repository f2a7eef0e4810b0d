/**
 * Which keys carry a tag, for a store that drops entries by tag.
 *
 * Each tag keeps an append-only list of keys and a count of the entries that carry it.
 * Storing an entry appends its key; losing one only lowers the count, so neither walks
 * or rehashes a set of every key with that tag. (A `Set` per tag did: with a tag such as
 * `method:tools/call` on every entry of a full store, each miss added to and evicted
 * from two sets of ten thousand keys, which profiling showed as a quarter of a miss.)
 * The list may hold keys whose entry has gone or no longer carries the tag, and
 * duplicates; it is compacted when it grows past {@link COMPACT_FACTOR} times the live
 * count, and a tag whose count reaches zero is forgotten with its list.
 *
 * Compaction asks the store about every key in the list, so its cost per stored entry is
 * about `factor / (factor - 1)` lookups: at 2 that was two lookups in a full store for
 * every miss (~0.3 µs here); at 4 it is 1.3, for a list that may hold three dead keys for
 * each live one (references to key strings, ~100 bytes each, until the next compaction).
 *
 * Internal: used by the memory store.
 *
 * @module
 */

/** A tag's list is compacted when it holds more than this many times its live count … */
const COMPACT_FACTOR = 4;
/** … plus this many entries. */
const COMPACT_SLACK = 32;

interface Tagged {
  keys: string[];
  live: number;
}

/** Tag → keys, for {@link MemoryStore}-like stores. */
export class TagIndex {
  readonly #tags = new Map<string, Tagged>();
  readonly #carries: (key: string, tag: string) => boolean;

  /**
   * @param carries - whether the entry the store holds under `key` carries `tag` now;
   *   asked only while compacting a list
   */
  constructor(carries: (key: string, tag: string) => boolean) {
    this.#carries = carries;
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
      tagged.live++;
      tagged.keys.push(key);
      if (tagged.keys.length > COMPACT_FACTOR * tagged.live + COMPACT_SLACK)
        tagged.keys = compact(tagged.keys, tag, tagged.live, this.#carries);
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
   * Keys that may carry `tag` (a copy: dropping entries while walking it is safe). Every
   * key whose entry carries the tag is in it; the caller checks each.
   */
  candidates(tag: string): string[] {
    const tagged = this.#tags.get(tag);
    return tagged === undefined ? [] : tagged.keys.slice();
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
