/**
 * The cache's counters and events: what {@link CacheMiddleware.stats} reads and what its
 * `on*` methods subscribe to. Listeners are isolated: one that throws is reported, and the
 * others still run.
 *
 * @module
 */

import type { Side } from '../../core/types.js';
import type { EvictionReason } from '../../stores/types.js';

/** Counters of one cache instance since it was created, plus the store's gauges. */
export interface CacheStats {
  /** Requests answered from a fresh entry. */
  hits: number;
  /** Requests answered from a stale entry (each started or found a background refresh). */
  stale: number;
  /** Requests that went to the handler because no usable entry existed. */
  misses: number;
  /** Requests that joined an identical request in flight instead of calling the handler. */
  coalesced: number;
  /** Requests of a cacheable method that the cache stayed out of (policy, `_meta`, never-cached rules). */
  bypassed: number;
  /** Background refreshes started for stale entries. */
  refreshes: number;
  /** Requests that asked the server whether a held copy was still current (`conditional`). */
  revalidations: number;
  /** Of those, answered "not modified" and served from the copy. */
  notModified: number;
  /** Results written to the store. */
  stored: number;
  /** Results not stored because of what they were (errors, `isError`, `input_required`, tasks, hints, scope). */
  uncacheable: number;
  /** Results not stored because their estimated JSON length exceeded `maxEntryBytes`. */
  tooLarge: number;
  /** Results not stored because their key had not been answered before (`admission: 'repeat'`). */
  notAdmitted: number;
  /** Invalidations applied (notifications, explicit calls, remote ones). */
  invalidations: number;
  /** Store failures and other problems reported (each request involved was treated as a miss). */
  errors: number;
  /** Entries the store pushed out to respect its bounds (from the store). */
  evictions: number;
  /** Entries held locally (from the store; `0` for a remote-only store). */
  entries: number;
  /** Bytes held locally (from the store). */
  bytes: number;
  /** Fills and refreshes in flight right now. */
  inflight: number;
}

/** Payload of the `hit`, `stale`, `miss` and `coalesce` events. */
export interface CacheEvent {
  /** The request's method. */
  readonly method: string;
  /** The cache key. */
  readonly key: string;
  /** The tool name, prompt name or URI the request is about (the method, for lists). */
  readonly target: string;
  /** Where the pipeline runs. */
  readonly side: Side;
  /** Age of the served entry in milliseconds (`hit` and `stale` only). */
  readonly ageMs?: number;
}

/** Payload of the `evict` event: an entry left the store. */
export interface CacheEvictEvent {
  /** The entry's key. */
  readonly key: string;
  /** Why it left (see the store's `EvictionReason`). */
  readonly reason: EvictionReason;
}

/** Payload of the `invalidate` event. */
export interface CacheInvalidateEvent {
  /** The tags dropped, or `undefined` when everything was cleared. */
  readonly tags: readonly string[] | undefined;
  /** The glob, for an explicit {@link CacheMiddleware.invalidate} with wildcards. */
  readonly pattern?: string;
  /** What caused it. */
  readonly source: 'notification' | 'explicit' | 'remote';
}

/** The counters the cache itself keeps (the store's gauges are read on demand). */
export type CacheCounters = Omit<CacheStats, 'evictions' | 'entries' | 'bytes' | 'inflight'>;

/** Fresh counters, all zero. */
export function newCounters(): CacheCounters {
  return {
    hits: 0,
    stale: 0,
    misses: 0,
    coalesced: 0,
    bypassed: 0,
    refreshes: 0,
    revalidations: 0,
    notModified: 0,
    stored: 0,
    uncacheable: 0,
    tooLarge: 0,
    notAdmitted: 0,
    invalidations: 0,
    errors: 0,
  };
}

/**
 * A set of listeners of one event. `size` is read on the hot path so that no payload is
 * built when nobody listens.
 */
export class Listeners<E> {
  private readonly set = new Set<(event: E) => void>();

  /** How many listeners are registered. */
  get size(): number {
    return this.set.size;
  }

  /** Adds `listener`; answers the function that removes it. */
  add(listener: (event: E) => void): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  /** Removes `listener`. */
  delete(listener: (event: E) => void): void {
    this.set.delete(listener);
  }

  /** Calls every listener with `event`; a listener that throws is handed to `failed`. */
  emit(event: E, failed: (error: unknown) => void): void {
    for (const listener of this.set) {
      try {
        listener(event);
      } catch (error) {
        failed(error);
      }
    }
  }
}
