/**
 * The Redis semaphore behind a concurrency limit shared by replicas: one sorted set per
 * semaphore (`<prefix>sem:<key>`) holding lease ids scored by their deadlines. Taking and
 * renewing a lease are one script each, reading Redis's clock; giving one back is one
 * `ZREM`. A lease not renewed expires, so a crashed replica frees its slots. Every call goes
 * through the same timeout and circuit breaker as the other Redis stores.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { StoreError } from '../../errors/index.js';
import { noop } from '../../internal/noop.js';
import type { SemaphoreGrant, SharedSemaphore } from '../../middleware/concurrency/shared.js';
import { type CircuitState, GuardedClient } from './guarded.js';
import { type RedisConnectionOptions, resolveConnection } from './options.js';
import { ACQUIRE_SCRIPT, RENEW_SCRIPT } from './scripts.js';

/** Options of {@link redisSemaphore}: the connection options every Redis store takes. */
export type RedisSemaphoreOptions = RedisConnectionOptions;

/** {@link RedisSemaphore.stats}: counters of this process. */
export interface RedisSemaphoreStats {
  /** Leases granted. */
  granted: number;
  /** Acquisitions refused because the semaphore was full. */
  refused: number;
  /** Calls that rejected with a `StoreError`. */
  errors: number;
  /** Calls that ran out of `timeoutMs`. */
  timeouts: number;
  /** Calls refused at once because the circuit was open. */
  shortCircuited: number;
  /** The circuit breaker's state. */
  circuit: CircuitState;
}

/**
 * A {@link SharedSemaphore} in Redis, for `concurrencyLimit({ shared })`. Works on a single
 * node and on a Redis Cluster (each semaphore is one key, so each script touches one slot).
 * Every call answers within `timeoutMs` or rejects with a `StoreError`.
 */
export class RedisSemaphore implements SharedSemaphore {
  /** Always `redis semaphore`. */
  readonly name = 'redis semaphore';
  /** Settles once the store's own connection is open (at once for a client passed in). */
  readonly ready: Promise<void>;
  readonly #guarded: GuardedClient;
  readonly #prefix: string;
  readonly #id = randomBytes(6).toString('hex');
  #sequence = 0;
  #granted = 0;
  #refused = 0;

  /**
   * @param options - connection, prefix, timeout and circuit; see {@link RedisConnectionOptions}
   * @throws InvalidOptionError when an option is missing or out of range
   */
  constructor(options: RedisSemaphoreOptions) {
    const o = resolveConnection('redisSemaphore', options);
    this.#prefix = `${o.prefix}sem:`;
    this.#guarded = new GuardedClient(this.name, o);
    this.ready = this.#guarded.connect();
    this.ready.catch(noop);
  }

  /** Grants a lease of `key` for `ttlMs` if fewer than `limit` live leases are held. One round trip. */
  acquire(key: string, limit: number, ttlMs: number): Promise<SemaphoreGrant> {
    const lease = `${this.#id}:${(++this.#sequence).toString(36)}`;
    return this.#guarded
      .eval<unknown>('acquire', ACQUIRE_SCRIPT, [this.#prefix + key], [String(limit), lease, String(ttlMs)])
      .then((reply) => {
        if (!Array.isArray(reply) || reply.length !== 3) {
          this.#guarded.counters.errors++;
          throw new StoreError(this.name, 'acquire', new Error(`unexpected reply ${JSON.stringify(reply)}`));
        }
        const granted = Number(reply[0]) === 1;
        if (granted) this.#granted++;
        else this.#refused++;
        const grant: SemaphoreGrant = {
          granted,
          holders: Number(reply[1]),
          retryAfterMs: Number(reply[2]),
        };
        if (granted) grant.lease = lease;
        return grant;
      });
  }

  /** Extends `lease` to `ttlMs` from now; `false` when it had expired. */
  renew(key: string, lease: string, ttlMs: number): Promise<boolean> {
    return this.#guarded
      .eval<unknown>('renew', RENEW_SCRIPT, [this.#prefix + key], [lease, String(ttlMs)])
      .then((reply) => Number(reply) === 1);
  }

  /** Gives `lease` back. */
  release(key: string, lease: string): Promise<void> {
    return this.#guarded.call('release', ['ZREM', this.#prefix + key, lease]).then(noop);
  }

  /** Counters of this process. */
  stats(): RedisSemaphoreStats {
    const { errors, timeouts, shortCircuited } = this.#guarded.counters;
    return {
      granted: this.#granted,
      refused: this.#refused,
      errors,
      timeouts,
      shortCircuited,
      circuit: this.#guarded.circuitState(),
    };
  }

  /** Closes the connection if the store created it (a client passed in stays open). */
  async close(): Promise<void> {
    if (!this.#guarded.closed) await this.#guarded.close();
  }
}

/**
 * Creates a {@link RedisSemaphore}: the leases of a concurrency limit shared by replicas.
 *
 * @example
 * ```ts
 * import { concurrencyLimit } from 'mcp-perf';
 * import { redisSemaphore } from 'mcp-perf/redis';
 * const semaphore = redisSemaphore({ url: 'redis://127.0.0.1:6379', prefix: 'my-app:' });
 * withMiddleware(server, [concurrencyLimit({ limit: 16, shared: { semaphore, limit: 20 } })]);
 * ```
 * @throws InvalidOptionError when an option is missing or out of range
 */
export function redisSemaphore(options: RedisSemaphoreOptions): RedisSemaphore {
  return new RedisSemaphore(options);
}
