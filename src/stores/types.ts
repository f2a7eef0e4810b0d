/**
 * The `CacheStore` interface: where the cache middleware keeps its entries. Stores are
 * pluggable and may be local (the bounded {@link MemoryStore}) or shared between
 * replicas (the Redis store in `mcp-perf/redis`).
 *
 * Every data method may answer with a value **or** a promise ({@link MaybePromise}), so
 * a local store never costs its caller an `await`: check `result instanceof Promise`
 * (or `typeof result?.then === 'function'`) and only then wait.
 *
 * @module
 */

/**
 * A value, or a promise of it. Stores return plain values when they can answer
 * synchronously, so callers on the hot path skip the microtask an `await` costs.
 *
 * @example
 * ```ts
 * const hit = store.get(key);
 * const entry = hit instanceof Promise ? await hit : hit;
 * ```
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * One cached result with its lifetime and invalidation tags. Entries are immutable once
 * stored: a store may hand the same object to every reader.
 */
export interface CacheEntry {
  /** The cached MCP result object; must be JSON-serializable. */
  readonly value: unknown;
  /** Size in bytes (the length of the value's JSON); counted against a store's byte bound. */
  readonly size: number;
  /** When the entry was stored, epoch milliseconds. */
  readonly storedAt: number;
  /** The entry is fresh before this instant (epoch milliseconds). */
  readonly freshUntil: number;
  /**
   * The entry may be served stale until this instant (epoch milliseconds, `>= freshUntil`);
   * stores drop it once their clock is past it.
   */
  readonly staleUntil: number;
  /**
   * Invalidation tags, e.g. `method:tools/list`, `uri:file:///a.txt`, `tool:search`;
   * {@link CacheStore.invalidateTag} removes every entry carrying a tag.
   */
  readonly tags: readonly string[];
}

/**
 * Why an entry left a store, as reported to {@link CacheStore.onEvict} listeners:
 * `evict` (pushed out by a count or byte bound), `expire` (its `staleUntil` passed),
 * `delete` (deleted by key or by `clear()`), `invalidate` (removed by a tag).
 */
export type EvictionReason = 'evict' | 'expire' | 'delete' | 'invalidate';

/** Counters a store keeps about itself, read synchronously from the local process. */
export interface CacheStoreStats {
  /**
   * Entries held in this process (including expired ones not yet dropped). A store that
   * holds nothing locally, such as Redis, reports `0`.
   */
  entries: number;
  /** Bytes held in this process, the sum of the entries' `size`; `0` for remote stores. */
  bytes: number;
  /** Entries pushed out by a count or byte bound since the store was created. */
  evictions: number;
}

/**
 * Storage for cache entries. Implementations: {@link MemoryStore} (bounded, in process)
 * and `RedisStore` from `mcp-perf/redis` (shared between replicas).
 *
 * Keys are opaque strings built by the cache middleware. Methods may return a value or a
 * promise ({@link MaybePromise}); a store that fails (Redis down, timed out) rejects with a
 * `StoreError`, which the cache treats as a miss.
 *
 * @example A minimal custom store over a Map (no bounds, no expiry: for illustration only)
 * ```ts
 * const map = new Map<string, CacheEntry>();
 * const store: CacheStore = {
 *   name: 'map',
 *   get: (key) => map.get(key),
 *   set: (key, entry) => void map.set(key, entry),
 *   delete: (key) => map.delete(key),
 *   invalidateTag: (tag) => {
 *     let n = 0;
 *     for (const [key, entry] of map) if (entry.tags.includes(tag) && map.delete(key)) n++;
 *     return n;
 *   },
 *   clear: () => map.clear(),
 *   stats: () => ({ entries: map.size, bytes: 0, evictions: 0 }),
 * };
 * ```
 */
export interface CacheStore {
  /** A short name used in errors and metrics, e.g. `memory` or `redis`. */
  readonly name: string;
  /**
   * `true` when `get` always answers synchronously and reading has no effect beyond
   * recency and dropping expired entries (the memory store). Only such a store is read on
   * a client's early path (`MiddlewareObject.early`), which may then read a key once more
   * than the ordinary path would. Absent: treated as `false`.
   */
  readonly synchronous?: boolean;
  /**
   * The entry stored under `key`, or `undefined` when there is none or it is past its
   * `staleUntil`. The returned entry must not be mutated.
   */
  get(key: string): MaybePromise<CacheEntry | undefined>;
  /**
   * Stores `entry` under `key`, replacing any previous entry and its tags. A store may
   * decline to keep it (too large, already past `staleUntil`); it then also drops any
   * previous entry under `key`, so a reader never gets an older result than the last write.
   */
  set(key: string, entry: CacheEntry): MaybePromise<void>;
  /** Removes the entry under `key`; `true` if there was one. */
  delete(key: string): MaybePromise<boolean>;
  /** Removes every entry carrying `tag`; answers how many were removed. */
  invalidateTag(tag: string): MaybePromise<number>;
  /** Removes every entry. */
  clear(): MaybePromise<void>;
  /** Counters read from this process, synchronously. */
  stats(): CacheStoreStats;
  /**
   * Registers `listener` to hear about every entry that leaves the store in this process,
   * with the reason. Answers a function that unregisters it.
   */
  onEvict?(listener: (key: string, reason: EvictionReason) => void): () => void;
  /**
   * Registers `listener` to hear tag invalidations performed by *other* processes sharing
   * this store (for example a replica that saw `notifications/tools/list_changed`), so a
   * local tier in front of the store can drop its copies. Answers an unregister function.
   */
  onRemoteInvalidate?(listener: (tag: string) => void): () => void;
  /**
   * For a store that coalesces fills across processes (the Redis store with `coalesce`): a
   * miss `get` answered to this process claimed the key's fill, and the call ended without
   * a `set` (it failed, or its result is not cached). Other processes waiting for that fill
   * stop waiting and make their own calls. The cache middleware calls it after such a call.
   */
  abandonFill?(key: string): void;
  /** Releases connections and timers the store created. Calling it twice is harmless. */
  close?(): MaybePromise<void>;
}
