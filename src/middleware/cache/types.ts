/**
 * The public shape of a cache instance and of what it tells later middleware.
 *
 * @module
 */

import type { EarlyAnswer, MiddlewareObject, NotificationHook, RequestMiddleware } from '../../core/types.js';
import type { CacheStore } from '../../stores/types.js';
import type { CacheEvent, CacheEvictEvent, CacheInvalidateEvent, CacheStats } from './stats.js';

/**
 * What the cache did with a request, as left in `ctx.state.cache` for later middleware
 * (metrics): `hit` (fresh entry served), `stale` (stale entry served, refresh started),
 * `miss` (the handler was called and its result offered to the store), `coalesced` (joined
 * an identical request in flight), `bypass` (a cacheable method the cache stayed out of:
 * policy, per-call `_meta`, or a request that is never cached).
 */
export type CacheOutcome = 'hit' | 'stale' | 'miss' | 'coalesced' | 'bypass';

/**
 * A cache middleware instance: put it in a stack (`withMiddleware(server, [c])`) and use
 * the same object to read its statistics, listen to its events and invalidate entries.
 * One instance may serve many connections and targets; entries are shared by all of them,
 * partitioned by principal and upstream identity: on a client, by default, each
 * connection is a principal of its own, and upstreams are told apart by the endpoint
 * their transport reaches (see `docs/cache-isolation.md`).
 */
export interface CacheMiddleware extends MiddlewareObject {
  /** Always `cache`. */
  readonly name: 'cache';
  /** The request hook. */
  readonly request: RequestMiddleware;
  /** The notification hook (invalidation and progress relay). */
  readonly notification: NotificationHook;
  /**
   * The early answer: on an SDK client where this cache leads the stack (alone, or
   * behind layers that have early hooks too, such as metrics), a fresh hit in a
   * synchronous store (the memory tier) is served before the SDK builds and sends the
   * request (at `client.request()` on v1, in the request funnel on v2).
   */
  readonly early: EarlyAnswer;
  /** The store in use. */
  readonly store: CacheStore;
  /** Counters and store gauges, read synchronously. */
  stats(): CacheStats;
  /**
   * Drops entries by tag pattern and answers how many the store reported removed.
   *
   * - `tools/list`, `resources/read` … (no prefix): every entry of that method;
   *   same as `method:tools/list`.
   * - `tool:<name>`, `prompt:<name>`, `uri:<uri>`: the entries of one tool, prompt or
   *   resource.
   * - Globs (`*`, `**`, `?`) in any of them: `tool:get_*`, `uri:file:///docs/**`,
   *   `method:resources/*`; `*` or `**` alone clears everything.
   *
   * A pattern without wildcards reaches every replica sharing the store. A glob is matched
   * against the tags this instance has written (its registry); should that registry
   * overflow (over 100,000 distinct tags), a glob clears everything instead.
   *
   * @throws InvalidOptionError for an empty or non-string pattern
   */
  invalidate(pattern: string): Promise<number>;
  /** Drops every entry. */
  clear(): Promise<void>;
  /** Calls `listener` on every fresh hit; answers an unsubscribe function. */
  onHit(listener: (event: CacheEvent) => void): () => void;
  /** Calls `listener` on every stale serve. */
  onStale(listener: (event: CacheEvent) => void): () => void;
  /** Calls `listener` on every miss (a call to the handler). */
  onMiss(listener: (event: CacheEvent) => void): () => void;
  /** Calls `listener` whenever a request joins an identical one in flight. */
  onCoalesce(listener: (event: CacheEvent) => void): () => void;
  /** Calls `listener` whenever an entry leaves the store (if the store reports it). */
  onEvict(listener: (event: CacheEvictEvent) => void): () => void;
  /** Calls `listener` on every invalidation. */
  onInvalidate(listener: (event: CacheInvalidateEvent) => void): () => void;
  /** Calls `listener` on every store failure or other reported problem. */
  onError(listener: (error: Error) => void): () => void;
  /**
   * Stops background refreshes and unsubscribes from the store; closes the store if the
   * cache created it (the default memory store). Calling it twice is harmless.
   */
  close(): Promise<void>;
}
