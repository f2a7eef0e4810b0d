/**
 * Coalescing: identical requests (same key) in flight at once wait for one call. The
 * first caller's call is a {@link Flight}; the others are its waiters. Waiters get the
 * leader's reply (the pipeline re-addresses it to each caller's id), the leader's
 * progress under their own token, and a prompt `CancelledError` when they cancel.
 *
 * @module
 */

import type {
  Connection,
  JsonObject,
  Next,
  NotificationContext,
  Reply,
  RequestContext,
} from '../../core/types.js';
import { CancelledError } from '../../errors/index.js';
import type { Rule } from './policy.js';

/**
 * Requests that wait on one flight. A fill that never ends (a handler that never answers)
 * would otherwise gather every identical request that follows; past this, a request
 * makes its own call (the newest flight is the one joined after that), which a
 * concurrency limit inside the cache bounds.
 */
export const WAITERS_MAX = 1024;

/**
 * Background refreshes in flight at once. Stale entries of many keys on a server that
 * has stopped answering would otherwise each start one that never ends; past this, a
 * stale entry is served without starting another.
 */
export const REFRESHES_MAX = 64;

/** Distinct start sequence numbers kept before counts of zero are swept. */
const STARTS_SWEEP = 16;

/** One request on its way through the cache. */
export interface Lookup {
  readonly ctx: RequestContext;
  readonly next: Next;
  readonly rule: Rule;
  readonly key: string;
  readonly target: string;
  readonly upstream: string;
  readonly principal: string;
}

interface Waiter {
  readonly lookup: Lookup;
  readonly resolve: (reply: Reply | Promise<Reply>) => void;
  readonly reject: (error: unknown) => void;
  detach: (() => void) | undefined;
}

/** A fill or refresh in flight; identical requests wait on it. */
export class Flight {
  /** Requests waiting for this call's reply. */
  waiters: Set<Waiter> | undefined = undefined;
  /** True once the leader's progress is relayed to waiters. */
  watching = false;
  /** Aborts a background refresh (set before the flight starts). */
  controller: AbortController | undefined = undefined;
  constructor(
    /** The key being filled. */
    readonly key: string,
    /** The connection the call runs on. */
    readonly connection: Connection,
    /** The invalidation sequence number when the call started (see `invalidation.ts`). */
    readonly startSeq: number,
    /** The leader's progress token, if it asked for progress. */
    readonly leaderToken: string | number | undefined,
  ) {}
}

/** Flights in flight, by key, and the progress relays of their leaders. */
export class Flights {
  /**
   * The joinable flight, while it is the only one or the newest of its key (misses
   * mostly run one at a time): starting and finishing it writes no map.
   */
  private single: Flight | undefined = undefined;
  /**
   * The other joinable flights, by key. When its last flight finishes the map is
   * replaced rather than emptied: once V8 has moved a `Map` to the old generation, a
   * `set` and a `delete` that take it from empty to one entry and back cost many times
   * what they cost on a fresh map (the table is shrunk and regrown every time; benchmark
   * `cache.miss.inmemory` measures the miss path this is on).
   */
  private byKey = new Map<string, Flight>();
  /** Flights in flight (joinable or not). */
  private count = 0;
  /**
   * Flights in flight by their `startSeq` (which changes only when something is
   * invalidated, so this map has one entry or a few): a counter rather than a set of
   * flights, which would hash every new flight object on the miss path. A count that
   * drops to zero stays (its sequence number is usually the next flight's too, and a
   * Map that loses and regains its only entry on every miss reallocates its table);
   * zero entries are swept once there are more than {@link STARTS_SWEEP}.
   */
  private readonly starts = new Map<number, number>();
  /** Background refreshes in flight, which {@link abortAll} cancels. */
  private readonly refreshes = new Set<Flight>();
  private readonly progressWatch = new Map<Connection, Map<string | number, Flight>>();

  /** The joinable flight filling `key`, if any. */
  get(key: string): Flight | undefined {
    const single = this.single;
    if (single !== undefined && single.key === key) return single;
    return this.byKey.size === 0 ? undefined : this.byKey.get(key);
  }

  /** Whether some flight fills `key`. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Starts a flight; `joinable` flights are found by {@link get}. */
  start(flight: Flight, joinable: boolean): Flight {
    if (joinable) {
      // The newest flight of a key is the one found: `single` is looked at first.
      const single = this.single;
      if (single === undefined || single.key === flight.key) this.single = flight;
      else this.byKey.set(flight.key, flight);
    }
    if (flight.controller !== undefined) this.refreshes.add(flight);
    this.count++;
    const seq = flight.startSeq;
    const running = this.starts.get(seq);
    if (running === undefined && this.starts.size >= STARTS_SWEEP) this.sweepStarts();
    this.starts.set(seq, (running ?? 0) + 1);
    return flight;
  }

  /** How many background refreshes are in flight. */
  get refreshing(): number {
    return this.refreshes.size;
  }

  /** Whether `flight` can take another waiter (see {@link WAITERS_MAX}). */
  joinable(flight: Flight): boolean {
    return flight.waiters === undefined || flight.waiters.size < WAITERS_MAX;
  }

  /** How many flights are in flight. */
  get size(): number {
    return this.count;
  }

  /** The flight is over (answered, failed or cancelled). */
  finish(flight: Flight): void {
    if (this.single === flight) this.single = undefined;
    else if (this.byKey.size !== 0 && this.byKey.get(flight.key) === flight) {
      if (this.byKey.size === 1) this.byKey = new Map();
      else this.byKey.delete(flight.key);
    }
    if (flight.controller !== undefined) this.refreshes.delete(flight);
    this.count--;
    this.starts.set(flight.startSeq, (this.starts.get(flight.startSeq) ?? 1) - 1);
    if (flight.watching && flight.leaderToken !== undefined) {
      const watched = this.progressWatch.get(flight.connection);
      if (watched?.get(flight.leaderToken) === flight) {
        watched.delete(flight.leaderToken);
        if (watched.size === 0) this.progressWatch.delete(flight.connection);
      }
    }
  }

  /** The smallest `startSeq` of the flights in flight (`fallback` when there are none). */
  oldestStart(fallback: number): number {
    let oldest = fallback;
    for (const [seq, n] of this.starts) if (n !== 0 && seq < oldest) oldest = seq;
    return oldest;
  }

  private sweepStarts(): void {
    for (const [seq, n] of this.starts) if (n === 0) this.starts.delete(seq);
  }

  /** Waits for `flight`'s reply; rejects with `CancelledError` as soon as the waiter cancels. */
  wait(lookup: Lookup, flight: Flight): Promise<Reply> {
    const { ctx } = lookup;
    return new Promise<Reply>((resolve, reject) => {
      const signal = ctx.signal;
      if (signal.aborted) {
        reject(new CancelledError());
        return;
      }
      const waiter: Waiter = { lookup, resolve, reject, detach: undefined };
      if (flight.waiters === undefined) flight.waiters = new Set();
      flight.waiters.add(waiter);
      if (ctx.progressToken !== undefined) this.watchProgress(flight);
      const onAbort = () => {
        if (flight.waiters?.delete(waiter)) reject(new CancelledError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.detach = () => signal.removeEventListener('abort', onAbort);
    });
  }

  /**
   * Every waiter gets `reply`, except those `shares` says must not have it, which are
   * handed `again(lookup)` instead.
   */
  settle(
    flight: Flight,
    reply: Reply,
    shares: (lookup: Lookup) => boolean,
    again: (l: Lookup) => Promise<Reply>,
  ): void {
    const waiters = flight.waiters;
    if (waiters === undefined) return;
    flight.waiters = undefined;
    for (const waiter of waiters) {
      waiter.detach?.();
      waiter.resolve(shares(waiter.lookup) ? reply : again(waiter.lookup));
    }
  }

  /** The call failed or was cancelled: each waiter is handed `again(lookup)`. */
  retry(flight: Flight, again: (lookup: Lookup) => Promise<Reply>): void {
    const waiters = flight.waiters;
    if (waiters === undefined) return;
    flight.waiters = undefined;
    for (const waiter of waiters) {
      waiter.detach?.();
      waiter.resolve(again(waiter.lookup));
    }
  }

  /** Aborts every background refresh in flight. */
  abortAll(): void {
    for (const flight of this.refreshes) flight.controller?.abort();
  }

  // ---- progress ----

  /** True when some leader's progress is being relayed. */
  get relaying(): boolean {
    return this.progressWatch.size !== 0;
  }

  private watchProgress(flight: Flight): void {
    if (flight.watching || flight.leaderToken === undefined) return;
    flight.watching = true;
    let watched = this.progressWatch.get(flight.connection);
    if (watched === undefined) {
      watched = new Map();
      this.progressWatch.set(flight.connection, watched);
    }
    watched.set(flight.leaderToken, flight);
  }

  /** A progress notification from the handler: the leader's also reaches every waiter. */
  relayFromLeader(nctx: NotificationContext): void {
    const params = nctx.message.params;
    const token = params?.progressToken as string | number | undefined;
    if (token === undefined) return;
    const flight = this.progressWatch.get(nctx.connection)?.get(token);
    if (flight !== undefined && params !== undefined) relay(flight, params);
  }
}

/** Sends `params` (a progress notification's) to every waiter of `flight`, under its own token. */
export function relay(flight: Flight, params: JsonObject): void {
  const waiters = flight.waiters;
  if (waiters === undefined || typeof params.progress !== 'number') return;
  const progress: { progress: number; total?: number; message?: string } = { progress: params.progress };
  if (typeof params.total === 'number') progress.total = params.total;
  if (typeof params.message === 'string') progress.message = params.message;
  for (const waiter of waiters) waiter.lookup.ctx.progress(progress);
}
