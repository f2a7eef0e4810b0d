/**
 * Invalidation: tags, tag patterns (globs over the tags this instance wrote), and the two
 * guards that keep an invalidation from being undone by a race:
 *
 * - the **generation guard**: every invalidation gets a sequence number and is remembered
 *   while fills that started before it are in flight; such a fill's result is returned to
 *   its callers but never written back;
 * - **pending invalidations**: while an asynchronous store has not confirmed one, entries
 *   it covers that were stored before it are not served.
 *
 * @module
 */

import type { Connection } from '../../core/types.js';
import { InvalidOptionError } from '../../errors/index.js';
import type { CacheEntry, CacheStore } from '../../stores/types.js';
import type { Flights } from './coalesce.js';
import { compileGlobs, isGlob } from './glob.js';
import type { CacheCounters, CacheInvalidateEvent, Listeners } from './stats.js';

/** Distinct tags remembered for glob invalidation; past this, a glob clears everything. */
export const REGISTRY_MAX = 100_000;

/**
 * Invalidations remembered for fills in flight. A fill that never ends (a handler that
 * never answers: the server side has no fill timeout) would otherwise keep every later
 * invalidation. Past this, the older half is folded into one record that covers
 * everything, as of the newest of them: a fill that started before it is not written (it
 * still answers its callers), which is safe, only less economical.
 */
export const GUARD_MAX = 256;

/**
 * Invalidations an asynchronous store has not confirmed. A store that never answers
 * (hung connection) would otherwise keep every later one. Past this, the older half is
 * folded into one record that covers everything stored before the newest of them: such
 * entries are not served (misses) until those invalidations settle.
 */
export const PENDING_MAX = 256;

/** Tags dropped by each list-changed notification. */
export const INVALIDATED_BY: ReadonlyMap<string, readonly string[]> = new Map([
  ['notifications/tools/list_changed', ['method:tools/list', 'method:tools/call']],
  ['notifications/prompts/list_changed', ['method:prompts/list', 'method:prompts/get']],
  ['notifications/resources/list_changed', ['method:resources/list', 'method:resources/templates/list']],
]);

const TAG_PREFIXES = ['method:', 'tool:', 'prompt:', 'uri:'];

/** What an invalidation covers: everything, some tags, or the tags a glob matches. */
interface Coverage {
  readonly all: boolean;
  readonly tags: readonly string[] | undefined;
  readonly re: RegExp | undefined;
}

/** An invalidation remembered while fills that started before it are in flight. */
interface GuardRecord extends Coverage {
  readonly seq: number;
}

/** An invalidation an asynchronous store has not confirmed yet. */
interface PendingRecord extends Coverage {
  readonly at: number;
  /** Set when the record was folded (see {@link PENDING_MAX}): the record that stands for it now. */
  foldedInto: FoldedRecord | undefined;
}

/** Several pending invalidations folded into one that covers everything. */
interface FoldedRecord extends PendingRecord {
  /** Folded invalidations not settled yet; the record goes when this reaches 0. */
  outstanding: number;
}

/** What the invalidator needs from the cache. */
export interface InvalidationHost {
  readonly store: CacheStore;
  readonly now: () => number;
  readonly flights: Flights;
  readonly counters: CacheCounters;
  readonly invalidateListeners: Listeners<CacheInvalidateEvent>;
  /** Reports a failed store operation (the request involved is a miss). */
  storeFailed(connection: Connection | undefined, operation: string, error: unknown): void;
  /** Reports a listener that threw. */
  listenerFailed(connection: Connection | undefined, error: unknown): void;
}

/** The tag pattern an argument of `invalidate()` stands for (`tools/list` → `method:tools/list`). */
export function tagPatternOf(pattern: string): string {
  if (pattern === '*' || pattern === '**') return '**';
  return TAG_PREFIXES.some((p) => pattern.startsWith(p)) ? pattern : `method:${pattern}`;
}

/** Drops entries by tag or pattern, and answers whether a fill or an entry is still valid. */
export class Invalidator {
  /** Sequence number of the last invalidation. */
  seq = 0;
  private guard: GuardRecord[] = [];
  private pending: PendingRecord[] = [];
  private readonly registry = new Set<string>();
  private registryOverflowed = false;

  constructor(private readonly host: InvalidationHost) {}

  /** Drops every entry carrying one of `tags`; answers how many the store removed. */
  tags(
    tags: readonly string[],
    source: CacheInvalidateEvent['source'],
    connection: Connection | undefined,
  ): Promise<number> | number {
    this.remember({ all: false, tags, re: undefined });
    const removed = this.dropTags(tags, { all: false, tags, re: undefined }, connection);
    this.announce({ tags, source }, connection);
    return removed;
  }

  /** Another replica invalidated `tag` in the shared store: stop serving and writing it here. */
  remote(tag: string): void {
    this.remember({ all: false, tags: [tag], re: undefined });
    this.registry.delete(tag);
    this.announce({ tags: [tag], source: 'remote' }, undefined);
  }

  /** {@link CacheMiddleware.invalidate}: a tag, a method, or a glob over the registry. */
  pattern(pattern: string): Promise<number> {
    if (typeof pattern !== 'string' || pattern.trim().length === 0) {
      return Promise.reject(
        new InvalidOptionError(
          'cache.invalidate',
          'pattern',
          'a method name or a "method:", "tool:", "prompt:" or "uri:" pattern',
          pattern,
        ),
      );
    }
    const tagPattern = tagPatternOf(pattern);
    if (!isGlob(tagPattern)) return Promise.resolve(this.tags([tagPattern], 'explicit', undefined));
    if (tagPattern === '**' || this.registryOverflowed) return this.clear('explicit', pattern).then(() => 0);
    const re = compileGlobs([tagPattern])!;
    const tags = [...this.registry].filter((tag) => re.test(tag));
    const coverage: Coverage = { all: false, tags: undefined, re };
    this.remember(coverage);
    const removed = this.dropTags(tags, coverage, undefined);
    this.announce({ tags, pattern, source: 'explicit' }, undefined);
    return Promise.resolve(removed);
  }

  /** Drops every entry. */
  clear(source: CacheInvalidateEvent['source'], pattern: string | undefined): Promise<void> {
    const coverage: Coverage = { all: true, tags: undefined, re: undefined };
    this.remember(coverage);
    this.registry.clear();
    this.registryOverflowed = false;
    const done = this.storeOp(undefined, 'clear', () => this.host.store.clear(), coverage);
    this.announce(
      pattern === undefined ? { tags: undefined, source } : { tags: undefined, pattern, source },
      undefined,
    );
    return isThenable(done) ? done.then(() => undefined) : Promise.resolve();
  }

  /** True when an invalidation after `startSeq` covers `tags`: a fill started then must not be written. */
  invalidatedSince(startSeq: number, tags: readonly string[]): boolean {
    if (this.seq === startSeq) return false;
    for (const record of this.guard) {
      if (record.seq > startSeq && covers(record, tags)) return true;
    }
    return false;
  }

  /** True when an unconfirmed invalidation covers `entry` (stored before it). */
  pendingCovers(entry: CacheEntry): boolean {
    if (this.pending.length === 0) return false;
    for (const record of this.pending) {
      if (entry.storedAt <= record.at && covers(record, entry.tags)) return true;
    }
    return false;
  }

  /** Remembers tags written, for glob invalidation. */
  register(tags: readonly string[]): void {
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!;
      if (this.registry.has(tag)) continue;
      if (this.registry.size >= REGISTRY_MAX) {
        this.registryOverflowed = true;
        return;
      }
      this.registry.add(tag);
    }
  }

  /** Guard records and pending invalidations remembered now (both bounded). */
  get remembered(): { guard: number; pending: number } {
    return { guard: this.guard.length, pending: this.pending.length };
  }

  /** A flight ended: forget guard records no fill in flight can be affected by. */
  prune(): void {
    if (this.guard.length === 0) return;
    if (this.host.flights.size === 0) this.guard = [];
    else if (this.guard.length > 64) {
      const oldest = this.host.flights.oldestStart(this.seq);
      this.guard = this.guard.filter((record) => record.seq > oldest);
    }
  }

  private remember(coverage: Coverage): void {
    this.seq++;
    if (this.host.flights.size === 0) return;
    this.guard.push({ seq: this.seq, ...coverage });
    if (this.guard.length > GUARD_MAX) {
      const older = this.guard.splice(0, GUARD_MAX / 2);
      this.guard.unshift({ seq: older[older.length - 1]!.seq, all: true, tags: undefined, re: undefined });
    }
  }

  private addPending(record: PendingRecord): void {
    this.pending.push(record);
    if (this.pending.length <= PENDING_MAX) return;
    const older = this.pending.splice(0, PENDING_MAX / 2);
    let at = Number.NEGATIVE_INFINITY;
    let outstanding = 0;
    for (const r of older) {
      if (r.at > at) at = r.at;
      outstanding += (r as Partial<FoldedRecord>).outstanding ?? 1;
    }
    const folded: FoldedRecord = {
      at,
      all: true,
      tags: undefined,
      re: undefined,
      foldedInto: undefined,
      outstanding,
    };
    for (const r of older) r.foldedInto = folded;
    this.pending.unshift(folded);
  }

  private settlePending(record: PendingRecord): void {
    let target: PendingRecord = record;
    while (target.foldedInto !== undefined) target = target.foldedInto;
    if (target !== record) {
      const folded = target as FoldedRecord;
      if (--folded.outstanding !== 0) return;
    }
    const i = this.pending.indexOf(target);
    if (i !== -1) this.pending.splice(i, 1);
  }

  private dropTags(
    tags: readonly string[],
    coverage: Coverage,
    connection: Connection | undefined,
  ): Promise<number> | number {
    let removed = 0;
    let waits: Promise<number>[] | undefined;
    for (const tag of tags) {
      this.registry.delete(tag);
      const done = this.storeOp(
        connection,
        'invalidateTag',
        () => this.host.store.invalidateTag(tag),
        coverage,
      );
      if (typeof done === 'number') removed += done;
      else if (done !== undefined) {
        if (waits === undefined) waits = [];
        waits.push(done);
      }
    }
    if (waits === undefined) return removed;
    return Promise.all(waits).then((counts) => counts.reduce((a, b) => a + (b ?? 0), removed));
  }

  private announce(event: CacheInvalidateEvent, connection: Connection | undefined): void {
    this.host.counters.invalidations++;
    const listeners = this.host.invalidateListeners;
    if (listeners.size !== 0) listeners.emit(event, (error) => this.host.listenerFailed(connection, error));
  }

  /**
   * Runs a store operation. A synchronous answer is returned as is; a promise is tracked
   * as a pending invalidation (so reads meanwhile do not serve what it is removing) and
   * returned; a failure is reported and yields `undefined`.
   */
  private storeOp<T>(
    connection: Connection | undefined,
    operation: string,
    op: () => T | Promise<T>,
    coverage: Coverage,
  ): T | Promise<T> | undefined {
    let result: T | Promise<T>;
    try {
      result = op();
    } catch (error) {
      this.host.storeFailed(connection, operation, error);
      return undefined;
    }
    if (!isThenable(result)) return result;
    const record: PendingRecord = { at: this.host.now(), ...coverage, foldedInto: undefined };
    this.addPending(record);
    const settle = () => this.settlePending(record);
    return result.then(
      (value) => {
        settle();
        return value;
      },
      (error: unknown) => {
        settle();
        this.host.storeFailed(connection, operation, error);
        return undefined as T;
      },
    );
  }
}

function covers(record: Coverage, tags: readonly string[]): boolean {
  if (record.all) return true;
  for (const tag of tags) {
    if (record.tags?.includes(tag)) return true;
    if (record.re?.test(tag)) return true;
  }
  return false;
}

/** True for a promise (or any thenable). */
export function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
