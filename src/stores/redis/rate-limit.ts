/**
 * The Redis rate-limit store: token buckets shared by every replica, each take one atomic
 * script (refill and take together), behind the same timeout and circuit breaker as the
 * cache store.
 *
 * @module
 */

import { InvalidOptionError, StoreError } from '../../errors/index.js';
import { noop } from '../../internal/noop.js';
import type { RateLimitStore, TakeResult, TokenBucket } from '../../middleware/rate-limit/store.js';
import { type CircuitState, GuardedClient } from './guarded.js';
import { type RedisConnectionOptions, resolveConnection } from './options.js';
import { TAKE_SCRIPT } from './scripts.js';

/**
 * Defaults of {@link RedisRateLimitStoreOptions}: `timeSource` `'redis'`, and the connection
 * defaults of the cache store (prefix `'mcp-perf:'`, `timeoutMs` 50, circuit 5 failures /
 * 5,000 ms).
 */
export const REDIS_RATE_LIMIT_STORE_DEFAULTS = Object.freeze({
  /** Whose clock refills the buckets. */
  timeSource: 'redis' as 'redis' | 'caller',
});

/** Options of {@link redisRateLimitStore}. Give exactly one of `client` or `url`. */
export interface RedisRateLimitStoreOptions extends RedisConnectionOptions {
  /**
   * Whose clock refills the buckets:
   *
   * - `'redis'` (default): Redis's own `TIME`, read inside the script. Every replica refills
   *   by one clock, so skew between their clocks cannot hand out extra tokens; the `now`
   *   the rate-limit middleware passes (its `clock` option) is ignored.
   * - `'caller'`: the `now` passed to `take` (the middleware's `clock`, `Date.now` by
   *   default). Use it to drive buckets with a clock of your own (tests); across replicas
   *   their clocks must agree.
   */
  timeSource?: 'redis' | 'caller';
}

/** {@link RedisRateLimitStore.stats}: counters of this process. */
export interface RedisRateLimitStoreStats {
  /** Takes answered by Redis. */
  takes: number;
  /** Takes that rejected with a `StoreError` (the middleware then applies `onStoreError`). */
  errors: number;
  /** Takes that ran out of `timeoutMs`. */
  timeouts: number;
  /** Takes refused at once because the circuit was open. */
  shortCircuited: number;
  /** The circuit breaker's state. */
  circuit: CircuitState;
  /** Errors reported by the connection the store created. */
  connectionErrors: number;
}

/** Extra lifetime of a bucket past the moment it would be full again, ms (clock drift between caller clocks). */
const BUCKET_SLACK_MS = 1_000;

/**
 * A {@link RateLimitStore} in Redis: one bucket per key at `<prefix>rl:<key>`, shared by
 * every replica using the same prefix. Each {@link RedisRateLimitStore.take} is one
 * `EVALSHA` that refills the bucket and takes from it atomically, so replicas never
 * oversell a bucket. A bucket expires once it would be full again. A take never waits
 * longer than `timeoutMs`; while Redis is down (or the circuit open) it rejects with a
 * `StoreError` at once, and the rate-limit middleware lets the request through or refuses
 * it according to its `onStoreError` option (`allow` by default).
 */
export class RedisRateLimitStore implements RateLimitStore {
  /** Always `redis rate limit`. */
  readonly name = 'redis rate limit';
  /** Settles once the store's own connection is open (at once for a client passed in). Rejects only if closed first. */
  readonly ready: Promise<void>;
  readonly #guarded: GuardedClient;
  readonly #prefix: string;
  readonly #callerClock: boolean;
  #takes = 0;

  /**
   * @param options - connection, prefix, timeout, circuit and time source; see {@link RedisRateLimitStoreOptions}
   * @throws InvalidOptionError when an option is missing or out of range
   */
  constructor(options: RedisRateLimitStoreOptions) {
    const where = 'redisRateLimitStore';
    const o = resolveConnection(where, options);
    const timeSource = options.timeSource ?? REDIS_RATE_LIMIT_STORE_DEFAULTS.timeSource;
    if (timeSource !== 'redis' && timeSource !== 'caller') {
      throw new InvalidOptionError(where, 'timeSource', '"redis" or "caller"', timeSource);
    }
    this.#callerClock = timeSource === 'caller';
    this.#prefix = `${o.prefix}rl:`;
    this.#guarded = new GuardedClient(this.name, o);
    this.ready = this.#guarded.connect();
    this.ready.catch(noop);
  }

  /**
   * Refills the bucket for `key` (by Redis's clock, or by `now` with `timeSource: 'caller'`),
   * then takes `cost` tokens (at most the capacity) if it has them. One atomic round trip.
   * Rejects with a `StoreError` when Redis fails, times out or the circuit is open.
   */
  take(key: string, cost: number, now: number, bucket: TokenBucket): Promise<TakeResult> {
    return this.#guarded
      .eval<unknown>(
        'take',
        TAKE_SCRIPT,
        [this.#prefix + key],
        [
          String(bucket.capacity),
          String(bucket.refillPerMs),
          String(cost),
          this.#callerClock ? String(now) : '',
          String(BUCKET_SLACK_MS),
        ],
      )
      .then((reply) => {
        if (!Array.isArray(reply) || reply.length !== 3) {
          this.#guarded.counters.errors++;
          throw new StoreError(this.name, 'take', new Error(`unexpected reply ${JSON.stringify(reply)}`));
        }
        this.#takes++;
        return {
          allowed: Number(reply[0]) === 1,
          retryAfterMs: Number(reply[1]),
          remaining: Number(reply[2]),
        };
      });
  }

  /** Counters of this process. */
  stats(): RedisRateLimitStoreStats {
    const { errors, timeouts, shortCircuited, connectionErrors } = this.#guarded.counters;
    return {
      takes: this.#takes,
      errors,
      timeouts,
      shortCircuited,
      circuit: this.#guarded.circuitState(),
      connectionErrors,
    };
  }

  /** Closes the connection if the store created it (a client passed in stays open). Calling it twice is harmless. */
  async close(): Promise<void> {
    if (!this.#guarded.closed) await this.#guarded.close();
  }
}

/**
 * Creates a {@link RedisRateLimitStore}: the rate-limit middleware's token buckets in Redis,
 * shared by every replica, one atomic script per take.
 *
 * @example
 * ```ts
 * import { rateLimit } from 'mcp-perf';
 * import { redisRateLimitStore } from 'mcp-perf/redis';
 * const store = redisRateLimitStore({ url: 'redis://127.0.0.1:6379', prefix: 'my-app:' });
 * withMiddleware(server, [rateLimit({ limit: 50, key: principalKey, store, onStoreError: 'allow' })]);
 * ```
 * @throws InvalidOptionError when an option is missing or out of range
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  return new RedisRateLimitStore(options);
}
