/**
 * The optional limit shared by every replica: after a request holds its local slots, it
 * takes one lease of a semaphore kept outside the process (Redis, `redisSemaphore`), so a
 * scarce upstream behind the tools (a database) sees at most `limit` calls at once from
 * the whole fleet. Leases expire unless renewed, so a replica that crashes frees its
 * slots after `leaseMs` at most.
 *
 * @module
 */

import type { RequestContext } from '../../core/types.js';
import { CancelledError, InvalidOptionError, OverloadedError } from '../../errors/index.js';
import { noop } from '../../internal/noop.js';
import { functionOption, positiveInteger } from '../../internal/validate.js';

/** One answer of {@link SharedSemaphore.acquire}. */
export interface SemaphoreGrant {
  /** True when a lease was granted. */
  granted: boolean;
  /** The lease's id, to renew and release it; set when granted. */
  lease?: string;
  /** Leases held (including this one when granted) once expired ones were dropped. */
  holders: number;
  /** When refused: ms until the earliest lease held expires unless renewed (a bound, not a promise). */
  retryAfterMs: number;
}

/**
 * A counting semaphore with expiring leases, shared by every replica. Implementations:
 * `redisSemaphore` in `mcp-perf/redis`. Each method rejects (never hangs) when the
 * backing store is unreachable.
 */
export interface SharedSemaphore {
  /** Name used in messages. */
  readonly name: string;
  /** Grants a lease of `key` valid for `ttlMs` if fewer than `limit` live leases are held. */
  acquire(key: string, limit: number, ttlMs: number): Promise<SemaphoreGrant>;
  /** Extends a lease by `ttlMs` from now; `false` when it had already expired (and was dropped). */
  renew(key: string, lease: string, ttlMs: number): Promise<boolean>;
  /** Gives a lease back. */
  release(key: string, lease: string): Promise<void>;
}

/** Options of {@link ConcurrencyLimitOptions.shared}. */
export interface SharedConcurrencyOptions {
  /** Where the leases live, e.g. `redisSemaphore({ url })`. */
  semaphore: SharedSemaphore;
  /** Requests running at once across every replica. */
  limit: number;
  /**
   * Which semaphore a request takes a lease of: a string for one shared by every request, a
   * function for one per key (return `undefined` to skip the shared limit). Default `'global'`.
   */
  key?: string | ((ctx: RequestContext) => string | undefined);
  /**
   * A lease's lifetime, ms; renewed every third of it while the request runs, so only a
   * replica that stopped (crashed, frozen) loses it. Default 10,000.
   */
  leaseMs?: number;
  /** While the fleet is full, how often a waiting request asks again, ms (jittered ±50%). Default 25. */
  retryMs?: number;
  /** Longest wait for a shared slot before the request is shed, ms. Default: the top-level `maxQueueWaitMs`. */
  maxWaitMs?: number;
  /**
   * When the semaphore cannot be reached (or its circuit is open): `'allow'` runs the request
   * without a shared slot (fail-open, the default: an outage of Redis does not stop the
   * fleet, and the local limits still bound each replica); `'reject'` sheds it with an
   * `OverloadedError` (fail-closed, for an upstream that must never see more than `limit`).
   * Either way the answer comes within the semaphore's timeout, never a hang.
   */
  onStoreError?: 'allow' | 'reject';
}

/** Defaults of {@link SharedConcurrencyOptions}. */
export const SHARED_CONCURRENCY_DEFAULTS = Object.freeze({
  /** {@link SharedConcurrencyOptions.key}. */
  key: 'global',
  /** {@link SharedConcurrencyOptions.leaseMs}. */
  leaseMs: 10_000,
  /** {@link SharedConcurrencyOptions.retryMs}. */
  retryMs: 25,
  /** {@link SharedConcurrencyOptions.onStoreError}. */
  onStoreError: 'allow' as 'allow' | 'reject',
});

/** Counters of the shared limit, in `stats().shared`. */
export interface SharedConcurrencyStats {
  /** The limit across replicas. */
  limit: number;
  /** Leases this replica holds now. */
  held: number;
  /** Leases granted to this replica. */
  granted: number;
  /** Requests shed because the fleet stayed full for `maxWaitMs`. */
  shed: number;
  /** Semaphore calls that failed (then `onStoreError` applied). */
  storeErrors: number;
  /** Leases found expired on renewal (the replica stalled longer than `leaseMs`). */
  lost: number;
}

/** A lease held by one request: released with {@link SharedLimit.release}. */
export interface HeldLease {
  readonly key: string;
  readonly lease: string;
  readonly timer: ReturnType<typeof setInterval>;
}

const WHERE = 'concurrencyLimit';

/** The shared limit of one `concurrencyLimit` instance. */
export class SharedLimit {
  readonly stats: SharedConcurrencyStats;
  readonly #semaphore: SharedSemaphore;
  readonly #limit: number;
  readonly #key: (ctx: RequestContext) => string | undefined;
  readonly #leaseMs: number;
  readonly #retryMs: number;
  readonly #maxWaitMs: number;
  readonly #failOpen: boolean;

  constructor(options: SharedConcurrencyOptions, defaultWaitMs: number) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError(WHERE, 'shared', 'an object { semaphore, limit }', options);
    }
    const s = options.semaphore;
    if (
      typeof s !== 'object' ||
      s === null ||
      typeof s.acquire !== 'function' ||
      typeof s.renew !== 'function' ||
      typeof s.release !== 'function'
    ) {
      throw new InvalidOptionError(WHERE, 'shared.semaphore', 'a semaphore (acquire, renew, release)', s);
    }
    this.#semaphore = s;
    this.#limit = positiveInteger(WHERE, 'shared.limit', options.limit);
    const key = options.key ?? SHARED_CONCURRENCY_DEFAULTS.key;
    if (typeof key === 'string') {
      if (key === '')
        throw new InvalidOptionError(WHERE, 'shared.key', 'a non-empty string or a function', key);
      this.#key = () => key;
    } else {
      this.#key = functionOption(WHERE, 'shared.key', key)!;
    }
    this.#leaseMs = positiveInteger(
      WHERE,
      'shared.leaseMs',
      options.leaseMs ?? SHARED_CONCURRENCY_DEFAULTS.leaseMs,
    );
    if (this.#leaseMs < 30)
      throw new InvalidOptionError(WHERE, 'shared.leaseMs', 'at least 30 ms', this.#leaseMs);
    this.#retryMs = positiveInteger(
      WHERE,
      'shared.retryMs',
      options.retryMs ?? SHARED_CONCURRENCY_DEFAULTS.retryMs,
    );
    const maxWaitMs = options.maxWaitMs ?? defaultWaitMs;
    if (typeof maxWaitMs !== 'number' || Number.isNaN(maxWaitMs) || maxWaitMs < 0) {
      throw new InvalidOptionError(
        WHERE,
        'shared.maxWaitMs',
        'a number of milliseconds ≥ 0, or Infinity',
        maxWaitMs,
      );
    }
    this.#maxWaitMs = maxWaitMs;
    const onStoreError = options.onStoreError ?? SHARED_CONCURRENCY_DEFAULTS.onStoreError;
    if (onStoreError !== 'allow' && onStoreError !== 'reject') {
      throw new InvalidOptionError(WHERE, 'shared.onStoreError', '"allow" or "reject"', onStoreError);
    }
    this.#failOpen = onStoreError === 'allow';
    this.stats = {
      limit: this.#limit,
      held: 0,
      granted: 0,
      shed: 0,
      storeErrors: 0,
      lost: 0,
    };
  }

  /**
   * Takes a lease for `ctx`, waiting (polling every `retryMs`) while the fleet is full.
   * Answers the lease, or `undefined` when the request runs without one (no key, or the
   * semaphore failed and `onStoreError` is `allow`). Throws `OverloadedError` when shed and
   * `CancelledError` when the request was cancelled while waiting.
   */
  async acquire(ctx: RequestContext, clock: () => number): Promise<HeldLease | undefined> {
    const key = this.#key(ctx);
    if (key === undefined) return undefined;
    const deadline = clock() + this.#maxWaitMs;
    for (;;) {
      let grant: SemaphoreGrant;
      try {
        grant = await this.#semaphore.acquire(key, this.#limit, this.#leaseMs);
      } catch (error) {
        this.stats.storeErrors++;
        if (this.#failOpen) return undefined;
        throw new OverloadedError(
          `shared concurrency limit unavailable for "${key}" (${(error as Error)?.message ?? String(error)}); refusing`,
          {
            retryAfterMs: this.#retryMs,
            scope: `shared:${key}`,
            limit: this.#limit,
          },
        );
      }
      if (grant.granted) {
        if (ctx.cancelled) {
          this.#semaphore.release(key, grant.lease!).catch(noop);
          throw new CancelledError();
        }
        this.stats.granted++;
        this.stats.held++;
        return {
          key,
          lease: grant.lease!,
          timer: this.#renewEvery(key, grant.lease!),
        };
      }
      const left = deadline - clock();
      if (left <= 0) {
        this.stats.shed++;
        throw new OverloadedError(
          `shared concurrency limit reached for "${key}": ${grant.holders}/${this.#limit} running across replicas; waited ${Math.round(this.#maxWaitMs)} ms`,
          {
            retryAfterMs: Math.max(1, Math.min(grant.retryAfterMs, this.#leaseMs)),
            scope: `shared:${key}`,
            limit: this.#limit,
            running: grant.holders,
          },
        );
      }
      const pause = Math.min(left, this.#retryMs * (0.5 + Math.random()));
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (ctx.cancelled) throw new CancelledError();
    }
  }

  /** Gives `held` back (in the background: a failure only leaves it to expire). */
  release(held: HeldLease): void {
    clearInterval(held.timer);
    this.stats.held--;
    this.#semaphore.release(held.key, held.lease).catch(noop);
  }

  #renewEvery(key: string, lease: string): ReturnType<typeof setInterval> {
    const timer = setInterval(
      () => {
        this.#semaphore.renew(key, lease, this.#leaseMs).then(
          (alive) => {
            if (!alive) {
              this.stats.lost++;
              clearInterval(timer);
            }
          },
          () => {
            this.stats.storeErrors++;
          },
        );
      },
      Math.floor(this.#leaseMs / 3),
    );
    timer.unref?.();
    return timer;
  }
}
