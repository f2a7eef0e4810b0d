/**
 * The bounded in-process cache store, on `lru-cache`.
 *
 * @module
 */

import { LRUCache } from 'lru-cache';
import { InvalidOptionError } from '../errors/index.js';
import { frozenCopy } from '../internal/deep-freeze.js';
import { clockOption, positiveInteger } from '../internal/validate.js';
import { EVERY_KEY, TagIndex } from './tag-index.js';
import type { CacheEntry, CacheStore, CacheStoreStats, EvictionReason } from './types.js';

/**
 * Defaults of {@link MemoryStoreOptions}, in one place:
 * `maxEntries` 10,000, `maxBytes` 64 MiB, `maxEntrySize` 1 MiB, `isolation` `'clone'`.
 */
export const MEMORY_STORE_DEFAULTS = Object.freeze({
  /** Most entries held. */
  maxEntries: 10_000,
  /** Most bytes held. */
  maxBytes: 64 * 1024 * 1024,
  /** Largest entry stored, bytes (capped at `maxBytes`). */
  maxEntrySize: 1024 * 1024,
  /** Stored values are frozen deep copies. */
  isolation: 'clone',
} as const);

/** Options of {@link memoryStore}. Every bound is on by default. */
export interface MemoryStoreOptions {
  /**
   * Most entries held; the least recently used go first. Memory for this many slots is
   * reserved up front, so keep it realistic. Default 10,000.
   */
  maxEntries?: number;
  /** Most bytes held (the sum of entries' `size`); least recently used go first. Default 64 MiB. */
  maxBytes?: number;
  /**
   * Entries larger than this many bytes are refused (not stored, counted in
   * `stats().refused`). At most `maxBytes`. Default 1 MiB.
   */
  maxEntrySize?: number;
  /**
   * How stored values are kept apart from the caller's objects.
   * - `'clone'` (default): `set` stores a deep copy of the entry and freezes it, so neither
   *   later changes to the caller's object nor a reader's attempt to change a returned
   *   value can alter what the store holds (in strict code the attempt throws). `get`
   *   returns the stored object itself: reads cost no copy.
   * - `'reference'`: the entry object is stored as given and returned as is. Use it only
   *   when nothing mutates values after caching them; it saves one copy per `set`.
   */
  isolation?: 'clone' | 'reference';
  /**
   * The clock, in epoch milliseconds, used for expiry. Default `Date.now`. Tests inject a
   * fake clock here.
   */
  clock?: () => number;
  /**
   * @deprecated The former name of {@link MemoryStoreOptions.clock}, accepted until the next
   * minor release. Give one of the two.
   */
  now?: () => number;
}

/** {@link MemoryStore.stats} counters. */
export interface MemoryStoreStats extends CacheStoreStats {
  /** Entries refused because they were larger than `maxEntrySize`. */
  refused: number;
  /** Entries dropped because their `staleUntil` passed (noticed lazily, on access). */
  expirations: number;
}

type Listener = (key: string, reason: EvictionReason) => void;

/**
 * A cache store in this process, bounded by entry count and by bytes, with a tag index.
 * Expiry is checked lazily on access (no timer per entry): an expired entry still counts
 * toward `stats().entries` until it is read, evicted or pushed out.
 *
 * Every method answers synchronously. Create it with {@link memoryStore}.
 */
export class MemoryStore implements CacheStore {
  /** Always `memory`. */
  readonly name = 'memory';
  /** Every method answers synchronously. */
  readonly synchronous = true;
  /** The bounds and isolation mode in effect (defaults applied). */
  readonly options: Readonly<Required<Omit<MemoryStoreOptions, 'clock' | 'now'>>>;
  readonly #lru: LRUCache<string, CacheEntry>;
  readonly #carries = (key: string, tag: string): boolean => this.#lru.peek(key)?.tags.includes(tag) === true;
  readonly #tags: TagIndex;
  readonly #listeners = new Set<Listener>();
  readonly #now: () => number;
  readonly #clone: boolean;
  #pendingReason: EvictionReason | undefined;
  #evictions = 0;
  #expirations = 0;
  #refused = 0;

  /**
   * @param options - bounds and isolation; see {@link MemoryStoreOptions}
   * @throws InvalidOptionError when an option is out of range
   */
  constructor(options: MemoryStoreOptions = {}) {
    const resolved = resolveOptions(options);
    this.options = Object.freeze(resolved.options);
    this.#now = resolved.now;
    this.#clone = resolved.options.isolation === 'clone';
    this.#tags = new TagIndex(this.#carries, broadTagCount(resolved.options.maxEntries));
    this.#lru = new LRUCache<string, CacheEntry>({
      max: resolved.options.maxEntries,
      maxSize: resolved.options.maxBytes,
      maxEntrySize: resolved.options.maxEntrySize,
      sizeCalculation: entrySize,
      dispose: (entry, key, reason) => this.#disposed(entry, key, reason),
    });
  }

  /** The live entry under `key`, or `undefined` (none, or past its `staleUntil`). */
  get(key: string): CacheEntry | undefined {
    const entry = this.#lru.get(key);
    if (entry === undefined || entry.staleUntil > this.#now()) return entry;
    this.#drop(key, 'expire');
    return undefined;
  }

  /**
   * Stores `entry` (a frozen deep copy unless `isolation` is `'reference'`). An entry over
   * `maxEntrySize` or already past `staleUntil` is not stored, and any previous entry under
   * `key` is dropped.
   */
  set(key: string, entry: CacheEntry): void {
    const ttl = entry.staleUntil - this.#now();
    if (entry.size > this.options.maxEntrySize || !(ttl > 0)) {
      if (entry.size > this.options.maxEntrySize) this.#refused++;
      this.#lru.delete(key);
      return;
    }
    const stored = this.#clone ? frozenCopy(entry) : entry;
    // The LRU keeps every entry it is given here: its only refusal is of an entry over
    // maxEntrySize, checked above (entrySize rounds up to that integer at most).
    this.#lru.set(key, stored);
    this.#tags.add(key, stored.tags);
  }

  /** Removes the entry under `key`; `true` if a live one was there. */
  delete(key: string): boolean {
    const live = this.#isLive(key);
    this.#lru.delete(key);
    return live;
  }

  /** Removes every entry tagged `tag`; answers how many live entries went. */
  invalidateTag(tag: string): number {
    let removed = 0;
    const candidates = this.#tags.candidates(tag);
    const walked = candidates === EVERY_KEY;
    for (const key of walked ? this.#carrying(tag) : candidates) {
      // A listed key may have gone or lost the tag; a walked one was just seen carrying it.
      if (!walked && !this.#carries(key, tag)) continue;
      const live = this.#isLive(key);
      this.#drop(key, live ? 'invalidate' : 'expire');
      if (live) removed++;
    }
    return removed;
  }

  /** Removes every entry (listeners hear `delete` for each). */
  clear(): void {
    this.#lru.clear();
    this.#tags.clear();
  }

  /** Counters: held entries and bytes, evictions, expirations and refusals since creation. */
  stats(): MemoryStoreStats {
    return {
      entries: this.#lru.size,
      bytes: this.#lru.calculatedSize,
      evictions: this.#evictions,
      expirations: this.#expirations,
      refused: this.#refused,
    };
  }

  /**
   * Calls `listener(key, reason)` whenever an entry leaves the store (not when it is
   * replaced by a newer entry under the same key). A listener that throws does not disturb
   * the store; its error is rethrown from a microtask. Answers an unregister function.
   */
  onEvict(listener: (key: string, reason: EvictionReason) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The keys of every entry that carries `tag` (a walk of the whole store). */
  #carrying(tag: string): string[] {
    const keys: string[] = [];
    for (const [key, entry] of this.#lru.entries()) if (entry.tags.includes(tag)) keys.push(key);
    return keys;
  }

  /** Whether a live (not yet past `staleUntil`) entry is under `key`; does not touch recency. */
  #isLive(key: string): boolean {
    const entry = this.#lru.peek(key);
    return entry !== undefined && entry.staleUntil > this.#now();
  }

  /** Deletes `key`, telling listeners `reason`. */
  #drop(key: string, reason: EvictionReason): void {
    this.#pendingReason = reason;
    try {
      this.#lru.delete(key);
    } finally {
      this.#pendingReason = undefined;
    }
  }

  #disposed(entry: CacheEntry, key: string, lruReason: LRUCache.DisposeReason): void {
    this.#tags.remove(entry.tags);
    if (lruReason === 'set') return;
    let reason: EvictionReason;
    if (lruReason === 'evict') {
      this.#evictions++;
      reason = 'evict';
    } else if (lruReason === 'expire' || this.#pendingReason === 'expire') {
      this.#expirations++;
      reason = 'expire';
    } else {
      reason = this.#pendingReason ?? 'delete';
    }
    for (const listener of this.#listeners) {
      try {
        listener(key, reason);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * Creates a {@link MemoryStore}: an in-process cache store bounded by entry count and bytes
 * (defaults in {@link MEMORY_STORE_DEFAULTS}), with lazy expiry and tag invalidation.
 *
 * @example
 * ```ts
 * const store = memoryStore({ maxEntries: 5_000, maxBytes: 32 * 1024 * 1024 });
 * ```
 * @throws InvalidOptionError when an option is out of range
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options);
}

/**
 * How many entries a tag may have and still be listed in the tag index. Dropping a
 * broader tag walks the whole store once: at most 64 checks for each entry stored with
 * it. See `tag-index.ts`.
 */
function broadTagCount(maxEntries: number): number {
  return Math.max(256, Math.ceil(maxEntries / 64));
}

function entrySize(entry: CacheEntry): number {
  return entry.size >= 1 ? Math.ceil(entry.size) : 1;
}

const WHERE = 'memoryStore';

function resolveOptions(options: MemoryStoreOptions): {
  options: Required<Omit<MemoryStoreOptions, 'clock' | 'now'>>;
  now: () => number;
} {
  const maxEntries = options.maxEntries ?? MEMORY_STORE_DEFAULTS.maxEntries;
  const maxBytes = options.maxBytes ?? MEMORY_STORE_DEFAULTS.maxBytes;
  const maxEntrySize = options.maxEntrySize ?? Math.min(MEMORY_STORE_DEFAULTS.maxEntrySize, maxBytes);
  const isolation = options.isolation ?? MEMORY_STORE_DEFAULTS.isolation;
  positiveInteger(WHERE, 'maxEntries', maxEntries);
  positiveInteger(WHERE, 'maxBytes', maxBytes);
  positiveInteger(WHERE, 'maxEntrySize', maxEntrySize);
  if (maxEntrySize > maxBytes) {
    throw new InvalidOptionError(WHERE, 'maxEntrySize', `at most maxBytes (${maxBytes})`, maxEntrySize);
  }
  if (isolation !== 'clone' && isolation !== 'reference') {
    throw new InvalidOptionError(WHERE, 'isolation', "'clone' or 'reference'", isolation);
  }
  const clock = clockOption(WHERE, options) ?? Date.now;
  return { options: { maxEntries, maxBytes, maxEntrySize, isolation }, now: clock };
}
