/**
 * The cache middleware: answers repeated list, read, prompt and (opt-in) tool requests
 * from a {@link CacheStore}, coalesces identical requests in flight, serves stale entries
 * while refreshing them once in the background, and drops entries when the server says
 * they changed. Works on the server side, the client side and in a proxy.
 *
 * The pieces live beside this file: `keys.ts` (partition and key), `policy.ts` (what is
 * cached, for how long, how it is served), `coalesce.ts` (requests in flight),
 * `invalidation.ts` (tags, globs, generation guard), `annotations.ts` (read-only tools),
 * `stats.ts` (counters and events), `options.ts` (validation and defaults). This file is
 * the request path and the public factory.
 *
 * @module
 */

import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import { CONTROL_METHODS, isHandshake } from '../../core/messages.js';
import type {
  Connection,
  EarlyAnswer,
  JsonObject,
  Next,
  NotificationContext,
  NotificationHook,
  Reply,
  RequestContext,
  RequestMiddleware,
} from '../../core/types.js';
import { isCancelledError, isConnectionClosedError, isStoreError, StoreError } from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import { ifNoneMatch } from '../../internal/conditional.js';
import { deepFreeze } from '../../internal/deep-freeze.js';
import { estimateJsonSize } from '../../internal/json-size.js';
import { noop } from '../../internal/noop.js';
import { principalDigest } from '../../internal/principal.js';
import { memoryStore } from '../../stores/memory.js';
import type { CacheEntry, CacheStore } from '../../stores/types.js';
import { Doorkeeper } from './admission.js';
import { ReadOnlyAnnotations } from './annotations.js';
import { Flight, Flights, type Lookup, REFRESHES_MAX, relay } from './coalesce.js';
import { fillAbandoned } from './coalesce-remote.js';
import { isNotModified, Revalidation } from './conditional.js';
import { INVALIDATED_BY, Invalidator, isThenable } from './invalidation.js';
import { defaultPrincipal, KeyBuilder, upstreamIdentity } from './keys.js';
import { type CacheOptions, type ResolvedOptions, resolveOptions } from './options.js';
import {
  accepts,
  buildRules,
  CACHE_META_KEY,
  freshnessOf,
  isUsable,
  neverCachedRequest,
  present,
  type Rule,
} from './policy.js';
import {
  type CacheCounters,
  type CacheEvent,
  type CacheEvictEvent,
  type CacheInvalidateEvent,
  type CacheStats,
  Listeners,
  newCounters,
} from './stats.js';
import type { CacheMiddleware } from './types.js';

export { CACHE_DEFAULTS, type CacheOptions, type CachePolicy } from './options.js';
export { CACHE_META_KEY } from './policy.js';
export type { CacheEvent, CacheEvictEvent, CacheInvalidateEvent, CacheStats } from './stats.js';
export type { CacheMiddleware, CacheOutcome } from './types.js';

const BRAND = Symbol.for('mcp-perf.cache');

const sharesAll = () => true;

/** The `next` of a lookup made for an early answer, which never calls it. */
const declined: Next = () => Promise.reject(new Error('cache: an early answer does not call next()'));

/** What the caller asked of the cache in `_meta`, or `bypass` for a request that is never cached. */
function directiveOf(params: JsonObject | undefined): 'bypass' | 'refresh' | undefined {
  if (params === undefined) return undefined;
  if (neverCachedRequest(params)) return 'bypass';
  const meta = params._meta as JsonObject | undefined;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const directive = meta[CACHE_META_KEY];
  return directive === 'bypass' || directive === 'refresh' ? directive : undefined;
}

class Cache implements CacheMiddleware {
  readonly name = 'cache' as const;
  readonly request: RequestMiddleware;
  readonly notification: NotificationHook;
  readonly early: EarlyAnswer;
  readonly handles: (method: string, connection: Connection) => boolean;
  readonly store: CacheStore;
  readonly [BRAND] = true;

  readonly now: () => number;
  readonly counters: CacheCounters = newCounters();
  readonly flights = new Flights();
  readonly invalidateListeners = new Listeners<CacheInvalidateEvent>();

  private readonly options: ResolvedOptions;
  private readonly ownsStore: boolean;
  private readonly rules: Map<string, Rule>;
  private readonly keys = new KeyBuilder();
  private readonly invalidator: Invalidator;
  /** Set with `readOnlyTools`: what `tools/list` results said. */
  private readonly annotations: ReadOnlyAnnotations | undefined;
  /** Set with `admission: 'repeat'`: the keys answered lately. */
  private readonly doorkeeper: Doorkeeper | undefined;
  /** Conditional revalidation (`conditional`), and the handshake's acceptance taken out. */
  private readonly revalidation: Revalidation;
  private closed = false;
  private readonly unsubscribe: (() => void)[] = [];
  private storeEvictUnsubscribe: (() => void) | undefined = undefined;
  private readonly hitListeners = new Listeners<CacheEvent>();
  private readonly staleListeners = new Listeners<CacheEvent>();
  private readonly missListeners = new Listeners<CacheEvent>();
  private readonly coalesceListeners = new Listeners<CacheEvent>();
  private readonly evictListeners = new Listeners<CacheEvictEvent>();
  private readonly errorListeners = new Set<(error: Error) => void>();
  /** Runs a request through the cache again (a waiter whose leader failed). */
  private readonly again = (lookup: Lookup): Promise<Reply> => this.handle(lookup.ctx, lookup.next);

  constructor(options: CacheOptions) {
    const resolved = resolveOptions(options);
    this.options = resolved;
    this.now = resolved.now;
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? defaultStore(resolved);
    this.rules = buildRules(resolved);
    this.annotations = resolved.readOnlyTools ? new ReadOnlyAnnotations() : undefined;
    this.doorkeeper = resolved.admission === 'repeat' ? new Doorkeeper(resolved.admissionWindow) : undefined;
    this.invalidator = new Invalidator(this);
    this.revalidation = new Revalidation(resolved.conditional, this.counters);
    const onRemote = this.store.onRemoteInvalidate;
    if (typeof onRemote === 'function') {
      this.unsubscribe.push(onRemote.call(this.store, (tag) => this.remoteInvalidated(tag)));
    }

    const self = this;
    this.request = function cache(ctx: RequestContext, next: Next): Promise<Reply> {
      return self.handle(ctx, next);
    };
    // A miss never asks the layers inside for an early answer: it must go the ordinary
    // way, where the cache stores what comes back.
    this.early = function cacheEarly(ctx: RequestContext) {
      return self.answerEarly(ctx);
    };
    // What `handle` does anything with: the methods it caches, a client's handshake (the
    // conditional offer and its acceptance), and `tools/list` when it learns annotations.
    this.handles = function cacheHandles(method: string, connection: Connection): boolean {
      if (CONTROL_METHODS.has(method)) return connection.side === 'client' && isHandshake(method);
      return self.rules.has(method) || (self.annotations !== undefined && method === 'tools/list');
    };
    this.notification = function cacheNotification(nctx: NotificationContext) {
      if (nctx.from === 'handler') self.fromHandler(nctx);
      return undefined;
    };
  }

  // ---- the request path: no await, no closure before the store answers ----

  private handle(ctx: RequestContext, next: Next): Promise<Reply> {
    if (ctx.control) return this.revalidation.handshake(ctx, next);
    const rule = this.rules.get(ctx.method);
    if (rule === undefined) return this.passOn(ctx, next);
    const params = ctx.params;
    const directive = directiveOf(params);
    if (directive === 'bypass') return this.bypass(ctx, next);
    let lookup: Lookup | undefined;
    try {
      lookup = this.lookupFor(ctx, next, rule);
    } catch (error) {
      this.report(ctx.connection, asError(error, 'cache: computing the key failed'));
      return this.bypass(ctx, next);
    }
    if (lookup === undefined) return this.bypass(ctx, next);
    if (directive === 'refresh') return this.miss(lookup);
    const key = lookup.key;
    let found: CacheEntry | undefined | Promise<CacheEntry | undefined>;
    try {
      found = this.store.get(key);
    } catch (error) {
      this.storeFailed(ctx.connection, 'get', error);
      return this.miss(lookup);
    }
    if (isThenable(found)) {
      return found.then(
        (entry) => this.found(lookup, entry),
        (error: unknown) => {
          this.storeFailed(ctx.connection, 'get', error);
          return this.miss(lookup);
        },
      );
    }
    return this.found(lookup, found);
  }

  /**
   * The key and partition of a cacheable request, or `undefined` when policy keeps the
   * cache out of it. Throws what a principal or key function throws.
   */
  private lookupFor(ctx: RequestContext, next: Next, rule: Rule): Lookup | undefined {
    const params = ctx.params;
    const target = rule.target(ctx.method, params);
    if (target === undefined) return undefined;
    const upstream = upstreamIdentity(ctx.connection);
    if (!accepts(rule.policy, target, upstream, this.annotations)) return undefined;
    const principalOption = this.options.principal;
    const principal =
      principalOption === undefined ? defaultPrincipal(ctx) : principalDigest(principalOption(ctx));
    let key: string | undefined = this.keys.key(ctx.method, upstream, principal, params);
    if (this.options.key !== undefined) key = this.options.key(ctx, key);
    if (typeof key !== 'string') return undefined;
    return { ctx, next, rule, key, target, upstream, principal };
  }

  /**
   * The early answer on a client (see `EarlyAnswer`): a fresh entry that a synchronous
   * store (the memory store) holds, served and counted as a hit. Anything else declines
   * with no effect, and the request then runs through {@link handle} as usual: no entry,
   * a stale one, a request the cache stays out of, or a store that is not `synchronous`
   * (Redis, whose reads cost a round trip and count in its stats).
   */
  private answerEarly(ctx: RequestContext): JsonObject | undefined {
    if (ctx.control || this.store.synchronous !== true) return undefined;
    const rule = this.rules.get(ctx.method);
    if (rule === undefined || directiveOf(ctx.params) !== undefined) return undefined;
    let lookup: Lookup | undefined;
    let entry: CacheEntry | undefined | Promise<CacheEntry | undefined>;
    try {
      lookup = this.lookupFor(ctx, declined, rule);
      if (lookup === undefined) return undefined;
      entry = this.store.get(lookup.key);
    } catch {
      return undefined;
    }
    if (isThenable(entry)) {
      // A store that claims to be synchronous answered with a promise: its failure stays
      // quiet here, since the ordinary path reads again and reports it.
      entry.then(undefined, noop);
      return undefined;
    }
    if (entry === undefined || !isUsable(entry)) return undefined;
    if (this.invalidator.pendingCovers(entry)) return undefined;
    const now = this.now();
    return now < entry.freshUntil ? this.hit(lookup, entry, now) : undefined;
  }

  private found(lookup: Lookup, entry: CacheEntry | undefined): Promise<Reply> {
    if (entry === undefined) return this.miss(lookup);
    if (!isUsable(entry)) {
      this.dropCorrupt(lookup);
      return this.miss(lookup);
    }
    if (this.invalidator.pendingCovers(entry)) return this.miss(lookup);
    const now = this.now();
    if (now < entry.freshUntil) return Promise.resolve({ result: this.hit(lookup, entry, now) });
    const { ctx } = lookup;
    // With `conditional`, an entry is kept `conditionalKeepMs` past its stale window, as the
    // copy a revalidation asks about.
    const keptMs = this.options.conditionalKeepMs;
    if (now < entry.staleUntil - keptMs) {
      this.counters.stale++;
      ctx.state.cache = 'stale';
      if (this.staleListeners.size !== 0) this.emit(this.staleListeners, lookup, now - entry.storedAt);
      if (!this.flights.has(lookup.key) && this.flights.refreshing < REFRESHES_MAX) {
        this.refreshInBackground(lookup, entry);
      }
      return Promise.resolve({ result: present(entry, now, 'stale', this.options.markHits) });
    }
    return this.miss(lookup, keptMs === 0 ? undefined : entry);
  }

  /** Counts and announces a fresh hit; answers the result to serve. */
  private hit(lookup: Lookup, entry: CacheEntry, now: number): JsonObject {
    const { ctx } = lookup;
    this.counters.hits++;
    ctx.state.cache = 'hit';
    if (this.hitListeners.size !== 0) this.emit(this.hitListeners, lookup, now - entry.storedAt);
    if (
      this.annotations !== undefined &&
      ctx.method === 'tools/list' &&
      !this.annotations.has(lookup.upstream)
    ) {
      this.annotations.learn(lookup.upstream, entry.value as JsonObject);
    }
    return present(entry, now, 'hit', this.options.markHits);
  }

  /** `kept`: the expired entry still held, which a conditional revalidation asks about. */
  private miss(lookup: Lookup, kept?: CacheEntry): Promise<Reply> {
    if (this.options.coalesce) {
      const flight = this.flights.get(lookup.key);
      if (flight !== undefined && this.flights.joinable(flight)) return this.join(lookup, flight);
    }
    return this.lead(lookup, kept);
  }

  /**
   * Calls the handler through `next()`, so the middlewares inside the cache (a
   * concurrency limit, metrics) see every real call. Identical requests arriving
   * meanwhile wait for this one.
   */
  private lead(lookup: Lookup, kept?: CacheEntry): Promise<Reply> {
    const { ctx } = lookup;
    this.counters.misses++;
    ctx.state.cache = 'miss';
    if (this.missListeners.size !== 0) this.emit(this.missListeners, lookup, undefined);
    const flight = this.flights.start(
      new Flight(lookup.key, ctx.connection, this.invalidator.seq, ctx.progressToken),
      this.options.coalesce,
    );
    let reply: Promise<Reply>;
    try {
      reply = kept === undefined ? lookup.next() : this.revalidation.ask(ctx, lookup.next, kept);
    } catch (error) {
      reply = Promise.reject(error);
    }
    return reply.then(
      (answer) => {
        const stored = this.counters.stored;
        this.offer(lookup, answer, flight.startSeq);
        if (this.counters.stored === stored) fillAbandoned(this.store, lookup.key);
        this.end(flight);
        this.settle(flight, answer);
        return answer;
      },
      (error: unknown) => {
        fillAbandoned(this.store, lookup.key);
        this.end(flight);
        this.flights.retry(flight, this.again);
        throw error;
      },
    );
  }

  private join(lookup: Lookup, flight: Flight): Promise<Reply> {
    this.counters.coalesced++;
    lookup.ctx.state.cache = 'coalesced';
    if (this.coalesceListeners.size !== 0) this.emit(this.coalesceListeners, lookup, undefined);
    return this.flights.wait(lookup, flight);
  }

  private end(flight: Flight): void {
    this.flights.finish(flight);
    this.invalidator.prune();
  }

  /**
   * Every waiter gets the leader's reply, except that a private result is not handed to
   * a waiter of another anonymous connection (it asks again on its own).
   */
  private settle(flight: Flight, reply: Reply): void {
    if (flight.waiters === undefined) return;
    const isPrivate = reply.result !== undefined && reply.result.cacheScope === 'private';
    const shares = isPrivate
      ? (lookup: Lookup) => this.sharesPrivate(lookup) || lookup.ctx.connection === flight.connection
      : sharesAll;
    this.flights.settle(flight, reply, shares, this.again);
  }

  /**
   * Serves a stale entry's refresh: one request under the pipeline's own id space (no
   * caller waits for it), stored when it succeeds.
   */
  private refreshInBackground(lookup: Lookup, entry: CacheEntry): void {
    const { ctx } = lookup;
    const hash = this.revalidation.hashFor(ctx.connection, entry);
    const flight = new Flight(lookup.key, ctx.connection, this.invalidator.seq, undefined);
    const controller = new AbortController();
    flight.controller = controller;
    this.flights.start(flight, true);
    this.counters.refreshes++;
    ctx.connection
      .request(ctx.method, hash === undefined ? ctx.params : ifNoneMatch(ctx.params, hash), {
        signal: controller.signal,
        onprogress: (params) => relay(flight, params),
        extra: ctx.extra,
      })
      .then(
        (answer) => {
          const reply = hash === undefined ? answer : this.revalidation.restore(answer, hash, entry);
          this.offer(lookup, reply, flight.startSeq, true);
          this.end(flight);
          this.settle(flight, reply);
        },
        (error: unknown) => {
          this.end(flight);
          if (!isCancelledError(error) && !isConnectionClosedError(error)) {
            this.report(ctx.connection, asError(error, 'cache: background refresh failed'));
          }
          this.flights.retry(flight, this.again);
        },
      );
  }

  /** A reply from the handler: stored if it may be (`refreshing`: it renews a stored entry). */
  private offer(lookup: Lookup, reply: Reply, startSeq: number, refreshing = false): void {
    const { ctx, rule } = lookup;
    const result = reply.result;
    if (this.annotations !== undefined && ctx.method === 'tools/list' && result !== undefined) {
      this.annotations.learn(lookup.upstream, result);
    }
    const ttl = freshnessOf(rule, result, ctx, this.sharesPrivate(lookup));
    if (ttl === 0 || result === undefined || isNotModified(result)) {
      this.counters.uncacheable++;
      return;
    }
    const maxBytes = this.options.maxEntryBytes;
    let size: number;
    try {
      size = estimateJsonSize(result, maxBytes);
    } catch (error) {
      this.counters.uncacheable++;
      this.report(ctx.connection, asError(error, 'cache: a result could not be serialized'));
      return;
    }
    if (size > maxBytes) {
      this.counters.tooLarge++;
      return;
    }
    const tags = rule.tags(ctx.method, lookup.target);
    if (this.invalidator.invalidatedSince(startSeq, tags)) return;
    if (this.doorkeeper !== undefined && !refreshing && !this.doorkeeper.admit(lookup.key)) {
      this.counters.notAdmitted++;
      return;
    }
    const now = this.now();
    const entry: CacheEntry = {
      value: this.ownsStore ? shareable(result) : result,
      size,
      storedAt: now,
      freshUntil: now + ttl,
      staleUntil: now + ttl + rule.policy.staleMs + this.options.conditionalKeepMs,
      tags,
    };
    try {
      const writing = this.store.set(lookup.key, entry);
      if (isThenable(writing)) {
        writing.then(undefined, (error: unknown) => this.storeFailed(ctx.connection, 'set', error));
      }
    } catch (error) {
      this.storeFailed(ctx.connection, 'set', error);
      return;
    }
    this.counters.stored++;
    this.invalidator.register(tags);
  }

  /**
   * Whether a `cacheScope: 'private'` result may be kept for this request's partition:
   * when it has a principal (on the client side, by default, the connection's own).
   */
  private sharesPrivate(lookup: Lookup): boolean {
    return lookup.principal !== '';
  }

  private bypass(ctx: RequestContext, next: Next): Promise<Reply> {
    this.counters.bypassed++;
    ctx.state.cache = 'bypass';
    return this.passOn(ctx, next);
  }

  /** Calls the handler without caching; still learns annotations from `tools/list`. */
  private passOn(ctx: RequestContext, next: Next): Promise<Reply> {
    const annotations = this.annotations;
    if (annotations === undefined || ctx.method !== 'tools/list') return next();
    return next().then((reply) => {
      if (reply.result !== undefined) annotations.learn(upstreamIdentity(ctx.connection), reply.result);
      return reply;
    });
  }

  private dropCorrupt(lookup: Lookup): void {
    const { connection } = lookup.ctx;
    this.report(connection, new Error(`cache: dropped a corrupt entry under key ${lookup.key}`));
    try {
      const deleting = this.store.delete(lookup.key);
      if (isThenable(deleting)) {
        deleting.then(undefined, (error: unknown) => this.storeFailed(connection, 'delete', error));
      }
    } catch (error) {
      this.storeFailed(connection, 'delete', error);
    }
  }

  // ---- notifications ----

  private fromHandler(nctx: NotificationContext): void {
    const method = nctx.message.method;
    if (method === 'notifications/progress') {
      if (this.flights.relaying) this.flights.relayFromLeader(nctx);
      return;
    }
    const tags = INVALIDATED_BY.get(method);
    if (tags !== undefined) {
      if (method === 'notifications/tools/list_changed') {
        this.annotations?.forget(upstreamIdentity(nctx.connection));
      }
      this.invalidator.tags(tags, 'notification', nctx.connection);
    } else if (method === 'notifications/resources/updated') {
      const uri = nctx.message.params?.uri;
      if (typeof uri === 'string') this.invalidator.tags([`uri:${uri}`], 'notification', nctx.connection);
    }
  }

  private remoteInvalidated(tag: string): void {
    if (tag === 'method:tools/list') this.annotations?.clear();
    this.invalidator.remote(tag);
  }

  // ---- explicit invalidation ----

  invalidate(pattern: string): Promise<number> {
    return this.invalidator.pattern(pattern);
  }

  clear(): Promise<void> {
    return this.invalidator.clear('explicit', undefined);
  }

  // ---- statistics and events ----

  stats(): CacheStats {
    const store = this.store.stats();
    return {
      ...this.counters,
      evictions: store.evictions,
      entries: store.entries,
      bytes: store.bytes,
      inflight: this.flights.size,
    };
  }

  onHit(listener: (event: CacheEvent) => void): () => void {
    return this.hitListeners.add(listener);
  }

  onStale(listener: (event: CacheEvent) => void): () => void {
    return this.staleListeners.add(listener);
  }

  onMiss(listener: (event: CacheEvent) => void): () => void {
    return this.missListeners.add(listener);
  }

  onCoalesce(listener: (event: CacheEvent) => void): () => void {
    return this.coalesceListeners.add(listener);
  }

  onInvalidate(listener: (event: CacheInvalidateEvent) => void): () => void {
    return this.invalidateListeners.add(listener);
  }

  onError(listener: (error: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => {
      this.errorListeners.delete(listener);
    };
  }

  onEvict(listener: (event: CacheEvictEvent) => void): () => void {
    this.evictListeners.add(listener);
    if (this.storeEvictUnsubscribe === undefined && typeof this.store.onEvict === 'function') {
      this.storeEvictUnsubscribe = this.store.onEvict((key, reason) =>
        this.evictListeners.emit({ key, reason }, (error) => this.listenerFailed(undefined, error)),
      );
    }
    return () => {
      this.evictListeners.delete(listener);
      if (this.evictListeners.size === 0 && this.storeEvictUnsubscribe !== undefined) {
        this.storeEvictUnsubscribe();
        this.storeEvictUnsubscribe = undefined;
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flights.abortAll();
    for (const off of this.unsubscribe.splice(0)) off();
    this.storeEvictUnsubscribe?.();
    this.storeEvictUnsubscribe = undefined;
    if (this.ownsStore) await this.store.close?.();
  }

  private emit(listeners: Listeners<CacheEvent>, lookup: Lookup, ageMs: number | undefined): void {
    const { ctx } = lookup;
    const base = { method: ctx.method, key: lookup.key, target: lookup.target, side: ctx.side };
    listeners.emit(ageMs === undefined ? base : { ...base, ageMs }, (error) =>
      this.listenerFailed(ctx.connection, error),
    );
  }

  // ---- problems ----

  /** Reports a listener that threw. */
  listenerFailed(connection: Connection | undefined, error: unknown): void {
    this.report(connection, asError(error, 'cache: an event listener failed'));
  }

  /** Reports a failed store operation as a `StoreError`. */
  storeFailed(connection: Connection | undefined, operation: string, error: unknown): void {
    this.report(connection, isStoreError(error) ? error : new StoreError(this.store.name, operation, error));
  }

  /** Counts a problem and tells the error listeners and the connection's `onerror`. */
  private report(connection: Connection | undefined, error: Error): void {
    this.counters.errors++;
    for (const listener of this.errorListeners) {
      try {
        listener(error);
      } catch {
        // An error listener that throws has nowhere further to report to.
      }
    }
    connection?.reportError(error);
  }
}

/**
 * The store a cache creates when none is given (and closes with itself). It keeps values
 * by reference: the cache hands it only values it has frozen (see {@link shareable}), so
 * the copy the store would otherwise make on every write (which then lives as long as
 * the entry, and costs the garbage collector) buys nothing.
 */
function defaultStore(options: ResolvedOptions): CacheStore {
  return memoryStore({
    maxEntrySize: Math.min(options.maxEntryBytes, 64 * 1024 * 1024),
    isolation: 'reference',
    clock: options.now,
  });
}

/**
 * A result made safe to share by reference: frozen in place at every level. Neither the
 * handler that returned it nor a caller that received it (the SDKs' result schemas copy
 * the objects they know but pass nested values such as `structuredContent` members
 * through as they are) can change the entry afterwards. A result holding objects of
 * other classes (a `Date` …) is replaced by its JSON round trip, frozen: the value the
 * wire would have carried.
 */
function shareable(result: JsonObject): JsonObject {
  if (deepFreeze(result)) return result;
  const copy = JSON.parse(JSON.stringify(result)) as JsonObject;
  deepFreeze(copy);
  return copy;
}

/**
 * Creates a cache middleware. Put it in a stack with `withMiddleware`, keep the instance
 * to read `stats()`, subscribe to events and invalidate.
 *
 * What is cached by default: list results (each page on its own), `resources/read` and
 * `prompts/get`, for 60 s, bounded by a memory store; `tools/call` only for tools named in
 * `tools.include` (or annotated read-only, with `readOnlyTools: true`). Never cached:
 * errors, `isError: true`, `input_required` (or any `resultType` but `complete`), task
 * results, requests carrying `inputResponses`, `requestState` or `task`, results over
 * `maxEntryBytes`, and the control methods (`initialize`, `server/discover`, `ping`).
 *
 * @example
 * ```ts
 * const c = cache({ ttlMs: 30_000, tools: { include: ['search', 'get_*'] } });
 * withMiddleware(server, [metrics(), c]);
 * c.onHit((e) => log(e.method));
 * await c.invalidate('uri:file:///docs/**');
 * ```
 * @throws InvalidOptionError naming the option when an option is invalid
 */
export function cache(options: CacheOptions = {}): CacheMiddleware {
  return brandMiddleware(new Cache(options), 'cache');
}

/** True for an instance made by {@link cache} (of any installed copy). */
export function isCacheMiddleware(value: unknown): value is CacheMiddleware {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Adds a cache to an MCP server, client or transport: `withMiddleware(target, [cache(options)])`.
 * Pass an instance made by {@link cache} instead of options to keep a handle on it (stats,
 * events, invalidation) or to share it between targets. Returns the target; on a bare
 * transport (with `{ side }`), the wrapping transport.
 *
 * @example
 * ```ts
 * const c = cache({ ttlMs: 10_000 });
 * withCache(server, c);
 * await server.connect(transport);
 * c.stats().hits;
 * ```
 */
export const withCache: WithHelper<CacheOptions, CacheMiddleware> = defineWith('cache', cache);
