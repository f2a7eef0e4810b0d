import { LRUCache } from 'lru-cache';
import { positiveInteger } from '../../internal/validate.js';

/** A token bucket's shape: how many tokens it holds and how fast it refills. */
export interface TokenBucket {
  /** Tokens the bucket holds when full (the burst). */
  capacity: number;
  /** Tokens added per millisecond. */
  refillPerMs: number;
}

/** The answer of {@link RateLimitStore.take}. */
export interface TakeResult {
  /** True when the tokens were taken and the request may proceed. */
  allowed: boolean;
  /** When refused: ms until enough tokens have refilled; 0 when allowed. */
  retryAfterMs: number;
  /** Whole tokens left in the bucket after this call. */
  remaining: number;
}

/**
 * Where token buckets live. `take` refills the bucket for `key` up to `now`, then takes
 * `cost` tokens if it has them. It may answer synchronously (the memory store) or with a
 * promise (a shared store such as Redis, where the refill and take must be one atomic
 * script). The bucket's shape travels with every call, so one store serves several
 * limits and a shared store needs no configuration of its own.
 */
export interface RateLimitStore {
  /** Refills and takes; see the interface. `now` is in ms (the middleware's clock). */
  take(key: string, cost: number, now: number, bucket: TokenBucket): TakeResult | Promise<TakeResult>;
}

/** Options of {@link MemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /**
   * Most keys tracked at once; beyond it the least recently used bucket is dropped (that
   * key starts again with a full bucket). Default 10 000.
   */
  maxKeys?: number;
}

/** The default of {@link MemoryRateLimitStoreOptions.maxKeys}. */
export const MEMORY_RATE_LIMIT_STORE_DEFAULTS = Object.freeze({
  /** {@link MemoryRateLimitStoreOptions.maxKeys}: keys tracked before the least recently used is evicted. */
  maxKeys: 10_000,
});

interface BucketState {
  tokens: number;
  updatedAt: number;
}

/**
 * The default {@link RateLimitStore}: buckets in an `lru-cache`, bounded by `maxKeys` with
 * least-recently-used eviction, answered synchronously (no promise, no `await`).
 *
 * @example
 * ```ts
 * const store = new MemoryRateLimitStore({ maxKeys: 50_000 });
 * rateLimit({ limit: 10, key: principalKey, store });
 * ```
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets: LRUCache<string, BucketState>;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    const max = positiveInteger(
      'MemoryRateLimitStore',
      'maxKeys',
      options.maxKeys,
      MEMORY_RATE_LIMIT_STORE_DEFAULTS.maxKeys,
    );
    this.#buckets = new LRUCache<string, BucketState>({ max });
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, cost: number, now: number, bucket: TokenBucket): TakeResult {
    // get() marks the key most recently used; set() of a new key evicts the least recently used.
    let state = this.#buckets.get(key);
    if (state === undefined) {
      state = { tokens: bucket.capacity, updatedAt: now };
      this.#buckets.set(key, state);
    } else {
      const elapsed = now - state.updatedAt;
      if (elapsed > 0) {
        state.tokens = Math.min(bucket.capacity, state.tokens + elapsed * bucket.refillPerMs);
        state.updatedAt = now;
      }
    }
    const need = Math.min(cost, bucket.capacity);
    if (state.tokens >= need) {
      state.tokens -= need;
      return { allowed: true, retryAfterMs: 0, remaining: Math.floor(state.tokens) };
    }
    return {
      allowed: false,
      retryAfterMs: Math.ceil((need - state.tokens) / bucket.refillPerMs),
      remaining: Math.floor(state.tokens),
    };
  }
}
