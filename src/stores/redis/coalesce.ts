/**
 * Coalescing across replicas for the Redis cache store: identical requests missing the
 * cache on different replicas at once make one upstream call. A miss first claims the
 * key's fill lock (`SET <prefix>f:<key> <store id> NX PX lockMs`); the replica that gets it
 * answers "miss" and its caller calls upstream, unless the entry appeared between its miss
 * and its claim (a leader that just finished; the claim is then released). Every other replica waits: for the leader's
 * "filled" message on the store's channel, polling the store every `pollMs` in case the
 * message is lost, and answers the entry once it is there. It stops waiting and answers
 * "miss" (its caller then makes its own call) when the leader reports that it stored
 * nothing (an error or an uncacheable result), when the lock is gone without an entry
 * (the leader died; the first waiter to claim it again leads), when `waitMs` has passed,
 * or when Redis fails.
 *
 * @module
 */

import type { CacheEntry } from '../types.js';
import type { GuardedClient } from './guarded.js';
import { RELEASE_FILL_SCRIPT } from './scripts.js';

/** Message kinds on the store's channel: a fill ended with an entry, or without one. */
export const KIND_FILLED = 'f';
export const KIND_ABANDONED = 'x';

/** `RedisStoreOptions.coalesce`: the fill lock's lifetime and how long others wait. */
export interface RedisCoalesceOptions {
  /**
   * Lifetime of a fill lock, ms: the longest a replica is trusted to be filling a key.
   * Longer than your slowest tool, or a second replica starts a call once it expires.
   * Default 10,000.
   */
  lockMs?: number;
  /** Longest a replica waits for another's fill before making its own call, ms. Default 5,000. */
  waitMs?: number;
  /** How often a waiting replica looks at the store in case a message was lost, ms. Default 100. */
  pollMs?: number;
}

/** Counters of cross-replica coalescing, in the Redis store's `stats().coalesce`. */
export interface RedisCoalesceStats {
  /** Misses that claimed the fill (their caller calls upstream). */
  claimed: number;
  /** Misses answered with another replica's fill instead of a call. */
  coalesced: number;
  /** Waits that ended without an entry (the leader stored nothing, died, or took longer than `waitMs`). */
  fellBack: number;
  /** Waiting right now. */
  waiting: number;
}

type Wake = (abandoned: boolean) => void;

/** The fill locks and waits of one Redis store. */
export class RemoteFills {
  readonly stats: RedisCoalesceStats = { claimed: 0, coalesced: 0, fellBack: 0, waiting: 0 };
  readonly #guarded: GuardedClient;
  readonly #lockPrefix: string;
  readonly #channel: string;
  readonly #owner: string;
  readonly #lockMs: string;
  readonly #waitMs: number;
  readonly #pollMs: number;
  readonly #now: () => number;
  readonly #read: (key: string) => CacheEntry | undefined | Promise<CacheEntry | undefined>;
  /** Keys whose fill this store claimed and has not ended. */
  readonly #claims = new Set<string>();
  readonly #waiters = new Map<string, Set<Wake>>();

  constructor(
    options: Required<RedisCoalesceOptions>,
    guarded: GuardedClient,
    prefix: string,
    channel: string,
    owner: string,
    now: () => number,
    read: (key: string) => CacheEntry | undefined | Promise<CacheEntry | undefined>,
  ) {
    this.#guarded = guarded;
    this.#lockPrefix = `${prefix}f:`;
    this.#channel = channel;
    this.#owner = owner;
    this.#lockMs = String(options.lockMs);
    this.#waitMs = options.waitMs;
    this.#pollMs = options.pollMs;
    this.#now = now;
    this.#read = read;
  }

  /** The entry under `key`; on a miss, the fill claimed here (`undefined`) or another replica's result. */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const found = this.#read(key);
    if (found instanceof Promise) {
      return found.then((entry) => (entry === undefined ? this.#claimOrWait(key) : entry));
    }
    return found === undefined ? this.#claimOrWait(key) : found;
  }

  /** True when this store claimed `key`'s fill and has not ended it. */
  claimed(key: string): boolean {
    return this.#claims.has(key);
  }

  /** Ends this store's fill of `key`: `filled` when an entry was written. Waiters here wake at once. */
  end(key: string, filled: boolean): Promise<void> {
    if (!this.#claims.delete(key)) return Promise.resolve();
    this.heard(key, !filled);
    return this.#guarded
      .eval<unknown>(
        filled ? 'end fill' : 'abandon fill',
        RELEASE_FILL_SCRIPT,
        [this.#lockPrefix + key],
        [this.#owner, this.#channel, `${this.#owner}${filled ? KIND_FILLED : KIND_ABANDONED}${key}`],
      )
      .then(
        () => undefined,
        () => undefined,
      );
  }

  /** A fill of `key` ended somewhere (`abandoned`: without an entry): wakes the waiters for it. */
  heard(key: string, abandoned: boolean): void {
    const waiting = this.#waiters.get(key);
    if (waiting === undefined) return;
    this.#waiters.delete(key);
    for (const wake of waiting) wake(abandoned);
  }

  async #claimOrWait(key: string): Promise<CacheEntry | undefined> {
    const deadline = this.#now() + this.#waitMs;
    this.stats.waiting++;
    try {
      for (;;) {
        let reply: unknown;
        try {
          reply = await this.#guarded.call('claim fill', [
            'SET',
            this.#lockPrefix + key,
            this.#owner,
            'NX',
            'PX',
            this.#lockMs,
          ]);
        } catch {
          this.stats.fellBack++;
          return undefined;
        }
        if (reply !== null && reply !== undefined) {
          this.#claims.add(key);
          // A leader may have stored the entry and released its lock between this
          // replica's miss and its claim: look once more before calling upstream.
          let entry: CacheEntry | undefined;
          try {
            entry = await this.#read(key);
          } catch {
            entry = undefined;
          }
          if (entry !== undefined) {
            void this.end(key, true);
            this.stats.coalesced++;
            return entry;
          }
          this.stats.claimed++;
          return undefined;
        }
        const left = deadline - this.#now();
        if (left <= 0 || (await this.#wait(key, Math.min(this.#pollMs, left)))) {
          this.stats.fellBack++;
          return undefined;
        }
        let entry: CacheEntry | undefined;
        try {
          entry = await this.#read(key);
        } catch {
          this.stats.fellBack++;
          return undefined;
        }
        if (entry !== undefined) {
          this.stats.coalesced++;
          return entry;
        }
      }
    } finally {
      this.stats.waiting--;
    }
  }

  /** Waits for a fill of `key` to end or `ms` to pass; answers true when it ended without an entry. */
  #wait(key: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let waiting = this.#waiters.get(key);
      if (waiting === undefined) {
        waiting = new Set();
        this.#waiters.set(key, waiting);
      }
      const set = waiting;
      const wake: Wake = (abandoned) => {
        clearTimeout(timer);
        resolve(abandoned);
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key);
        resolve(false);
      }, ms);
      set.add(wake);
    });
  }
}
