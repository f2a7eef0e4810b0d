/**
 * The tiered store: a bounded memory store (L1) in front of the Redis store (L2), as one
 * `CacheStore`. An L1 hit answers synchronously, at the memory store's cost.
 *
 * @module
 */

import { InvalidOptionError } from '../../errors/index.js';
import { MemoryStore, type MemoryStoreOptions, type MemoryStoreStats } from '../memory.js';
import type { CacheEntry, CacheStore, CacheStoreStats } from '../types.js';
import { RedisStore, type RedisStoreStats } from './store.js';

/** Options of {@link tieredStore}. */
export interface TieredStoreOptions {
  /** The shared tier: a {@link RedisStore}. The tiered store closes it in `close()`. */
  l2: RedisStore;
  /**
   * The local tier: a {@link MemoryStore}, or options for a new one. Default `memoryStore()`
   * (10,000 entries, 64 MiB, entries copied on the way in). Give it the same `now` as L2.
   */
  l1?: MemoryStore | MemoryStoreOptions;
}

/** {@link TieredStore.stats}: L1's counters (entries, bytes, evictions held here), the tiers' hits, and L2's own. */
export interface TieredStoreStats extends CacheStoreStats {
  /** Lookups answered by L1. */
  l1Hits: number;
  /** Lookups L1 missed and L2 answered (each filled L1 while L2 was listening). */
  l2Hits: number;
  /** Lookups neither tier answered. */
  misses: number;
  /** Times L1 was emptied because L2 stopped listening for invalidations or another replica cleared the store. */
  resyncs: number;
  /** L1's own counters. */
  l1: MemoryStoreStats;
  /** L2's own counters. */
  l2: RedisStoreStats;
}

/**
 * Memory in front of Redis. `get` tries L1 first (synchronously), then L2, and fills L1
 * with what L2 found; `set`, `delete`, `invalidateTag` and `clear` go to both. An L1 copy
 * never outlives its L2 entry (it is the same entry, expiring at the same `staleUntil`),
 * and never survives an invalidation: tags dropped by any replica reach L1 through L2's
 * pub/sub channel, and whenever that channel is down (or another replica clears the
 * store) L1 is emptied and not filled again until L2 is listening once more. Answers
 * counts and failures from L2, the shared truth.
 */
export class TieredStore implements CacheStore {
  /** Always `tiered`. */
  readonly name = 'tiered';
  readonly #l1: MemoryStore;
  readonly #l2: RedisStore;
  readonly #remoteListeners = new Set<(tag: string) => void>();
  readonly #unsubscribe: (() => void)[] = [];
  /** Bumped whenever L1 is emptied, so an L2 answer from before does not fill it. */
  #resyncs = 0;
  #l1Hits = 0;
  #l2Hits = 0;
  #misses = 0;
  readonly #fill = (key: string, resyncs: number, entry: CacheEntry | undefined): CacheEntry | undefined => {
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#l2Hits++;
    if (resyncs === this.#resyncs && this.#l2.listening) this.#l1.set(key, entry);
    return entry;
  };

  /**
   * @param options - the two tiers; see {@link TieredStoreOptions}
   * @throws InvalidOptionError when `l2` is not a Redis store or `l1` is invalid
   */
  constructor(options: TieredStoreOptions) {
    if (options === null || typeof options !== 'object' || !(options.l2 instanceof RedisStore)) {
      throw new InvalidOptionError('tieredStore', 'l2', 'a RedisStore from redisStore()', options?.l2);
    }
    this.#l2 = options.l2;
    this.#l1 = options.l1 instanceof MemoryStore ? options.l1 : new MemoryStore(options.l1 ?? {});
    this.#unsubscribe.push(
      this.#l2.onRemoteInvalidate((tag) => {
        this.#l1.invalidateTag(tag);
        for (const listener of this.#remoteListeners) listener(tag);
      }),
      this.#l2.onResync(() => {
        this.#resyncs++;
        this.#l1.clear();
      }),
    );
  }

  /** The entry from L1 (synchronously), else from L2 (filling L1), else `undefined`. */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const local = this.#l1.get(key);
    if (local !== undefined) {
      this.#l1Hits++;
      return local;
    }
    const resyncs = this.#resyncs;
    const remote = this.#l2.get(key);
    if (remote instanceof Promise) return remote.then((entry) => this.#fill(key, resyncs, entry));
    return this.#fill(key, resyncs, remote);
  }

  /** Passes on to L2: the fill of `key` claimed there ended without an entry. */
  abandonFill(key: string): void {
    this.#l2.abandonFill(key);
  }

  /** Writes L1 (while L2 is listening), then L2; settles with L2's write. */
  set(key: string, entry: CacheEntry): Promise<void> {
    if (this.#l2.listening) this.#l1.set(key, entry);
    else this.#l1.delete(key);
    return this.#l2.set(key, entry);
  }

  /** Deletes from both; `true` if L2 held the entry. */
  delete(key: string): Promise<boolean> {
    this.#l1.delete(key);
    return this.#l2.delete(key);
  }

  /** Drops the tag from L1, then from L2 (and so from every replica); answers L2's count. */
  invalidateTag(tag: string): Promise<number> {
    this.#l1.invalidateTag(tag);
    return this.#l2.invalidateTag(tag);
  }

  /** Empties L1 and clears L2 (every replica). */
  clear(): Promise<void> {
    this.#resyncs++;
    this.#l1.clear();
    return this.#l2.clear();
  }

  /** L1's `entries`, `bytes` and `evictions`, the hits per tier, and both tiers' own counters. */
  stats(): TieredStoreStats {
    const l1 = this.#l1.stats();
    return {
      entries: l1.entries,
      bytes: l1.bytes,
      evictions: l1.evictions,
      l1Hits: this.#l1Hits,
      l2Hits: this.#l2Hits,
      misses: this.#misses,
      resyncs: this.#resyncs,
      l1,
      l2: this.#l2.stats(),
    };
  }

  /** Tags invalidated by other replicas (after L1 has dropped them). Answers an unregister function. */
  onRemoteInvalidate(listener: (tag: string) => void): () => void {
    this.#remoteListeners.add(listener);
    return () => {
      this.#remoteListeners.delete(listener);
    };
  }

  /** Empties L1 and closes L2. */
  async close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#l1.clear();
    await this.#l2.close();
  }
}

/**
 * Creates a {@link TieredStore}: a memory L1 in front of a Redis L2, as one store.
 *
 * @example
 * ```ts
 * import { redisStore, tieredStore } from 'mcp-perf/redis';
 * const store = tieredStore({ l2: redisStore({ url: 'redis://127.0.0.1:6379' }), l1: { maxEntries: 5_000 } });
 * withMiddleware(server, [cache({ store })]);
 * ```
 * @throws InvalidOptionError when `l2` is not a Redis store or `l1` is invalid
 */
export function tieredStore(options: TieredStoreOptions): TieredStore {
  return new TieredStore(options);
}
