/**
 * Which keys carry a tag, for a store that drops entries by tag.
 *
 * Each tag keeps an append-only list of keys and a count of the entries that carry it.
 * Storing an entry appends its key; losing one only lowers the count, so neither walks
 * or rehashes a set of every key with that tag. (A `Set` per tag did: with a tag such as
 * `method:tools/call` on every entry of a full store, each miss added to and evicted
 * from two sets of ten thousand keys, which profiling showed as a quarter of a miss.)
 * The list may hold keys whose entry has gone or no longer carries the tag, and
 * duplicates; it is compacted when it grows past twice the live count, and a tag whose
 * count reaches zero is forgotten with its list.
 *
 * Internal: used by the memory store.
 *
 * @module
 */

/** List entries allowed beyond twice the live count before a tag's list is compacted. */
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
      if (tagged.keys.length > 2 * tagged.live + COMPACT_SLACK)
        tagged.keys = compact(tagged.keys, tag, this.#carries);
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

function compact(keys: string[], tag: string, carries: (key: string, tag: string) => boolean): string[] {
  const kept = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (!kept.has(key) && carries(key, tag)) kept.add(key);
  }
  return [...kept];
}
