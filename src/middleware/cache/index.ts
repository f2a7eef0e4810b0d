/**
 * The cache middleware: answers repeated list, read, prompt and (opt-in) tool requests
 * from a {@link CacheStore}, coalesces identical requests in flight, serves stale entries
 * while refreshing them once in the background, and drops entries when the server says
 * they changed. Works on the server side, the client side and in a proxy.
 *
 * @module
 */

import * as crypto from 'node:crypto';
import type { ConnectTarget } from '../../adapters/targets.js';
import { withMiddleware } from '../../adapters/targets.js';
import type { McpTransport, MiddlewareTransport, WrapTransportOptions } from '../../adapters/transport.js';
import type {
  Connection,
  JsonObject,
  MiddlewareObject,
  Next,
  NotificationContext,
  NotificationHook,
  Reply,
  RequestContext,
  RequestMiddleware,
  SessionInfo,
  Side,
} from '../../core/types.js';
import {
  CancelledError,
  InvalidOptionError,
  isCancelledError,
  isConnectionClosedError,
  isStoreError,
  StoreError,
} from '../../errors/index.js';
import { canonicalParams } from '../../internal/canonical-json.js';
import { memoryStore } from '../../stores/memory.js';
import type { CacheEntry, CacheStore, EvictionReason } from '../../stores/types.js';
import { compileGlobs, isGlob } from './glob.js';
import { type CacheOptions, type ResolvedOptions, type ResolvedPolicy, resolveOptions } from './options.js';

export { CACHE_DEFAULTS, type CacheOptions, type CachePolicy } from './options.js';

/**
 * The `_meta` key of per-call cache control and of hit marks.
 *
 * - In a request's `params._meta`: `"bypass"` (neither read nor write the cache for this
 *   call) or `"refresh"` (skip the read, call the handler, store the fresh result).
 * - In a result's `_meta`, with `markHits: true`: `"hit"` or `"stale"`.
 *
 * @example
 * ```ts
 * await client.callTool({ name: 'search', arguments: { q }, _meta: { [CACHE_META_KEY]: 'refresh' } });
 * ```
 */
export const CACHE_META_KEY = 'mcp-perf/cache';

/**
 * What the cache did with a request, as left in `ctx.state.cache` for later middleware
 * (metrics): `hit` (fresh entry served), `stale` (stale entry served, refresh started),
 * `miss` (the handler was called and its result offered to the store), `coalesced` (joined
 * an identical request in flight), `bypass` (a cacheable method the cache stayed out of:
 * policy, per-call `_meta`, or a request that is never cached).
 */
export type CacheOutcome = 'hit' | 'stale' | 'miss' | 'coalesced' | 'bypass';

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
  /** Results written to the store. */
  stored: number;
  /** Results not stored because of what they were (errors, `isError`, `input_required`, tasks, hints, scope). */
  uncacheable: number;
  /** Results not stored because their JSON exceeded `maxEntryBytes`. */
  tooLarge: number;
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

/**
 * A cache middleware instance: put it in a stack (`withMiddleware(server, [c])`) and use
 * the same object to read its statistics, listen to its events and invalidate entries.
 * One instance may serve many connections and targets; entries are shared by all of them
 * (partitioned by principal and server identity).
 */
export interface CacheMiddleware extends MiddlewareObject {
  /** Always `cache`. */
  readonly name: 'cache';
  /** The request hook. */
  readonly request: RequestMiddleware;
  /** The notification hook (invalidation and progress relay). */
  readonly notification: NotificationHook;
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

const BRAND = Symbol.for('mcp-perf.cache');
const REGISTRY_MAX = 100_000;
const ANNOTATED_SERVERS_MAX = 256;

const digest: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64url')
    : (text) => crypto.createHash('sha256').update(text).digest('base64url');

/** Tags dropped by each list-changed notification. */
const INVALIDATED_BY: ReadonlyMap<string, readonly string[]> = new Map([
  ['notifications/tools/list_changed', ['method:tools/list', 'method:tools/call']],
  ['notifications/prompts/list_changed', ['method:prompts/list', 'method:prompts/get']],
  ['notifications/resources/list_changed', ['method:resources/list', 'method:resources/templates/list']],
]);

const TAG_PREFIXES = ['method:', 'tool:', 'prompt:', 'uri:'];

interface Rule {
  readonly policy: ResolvedPolicy;
  /** True for methods whose modern results carry cache hints. */
  readonly hinted: boolean;
  /** The tool name, prompt name or URI, or the method for lists; undefined = not cacheable. */
  target(method: string, params: JsonObject | undefined): string | undefined;
  tags(method: string, target: string): readonly string[];
}

/** One request on its way through the cache. */
interface Lookup {
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
class Flight {
  waiters: Set<Waiter> | undefined = undefined;
  watching = false;
  controller: AbortController | undefined = undefined;
  constructor(
    readonly key: string,
    readonly connection: Connection,
    readonly startSeq: number,
    readonly leaderToken: string | number | undefined,
  ) {}
}

/** An invalidation remembered while fills that started before it are in flight. */
interface GuardRecord {
  readonly seq: number;
  readonly all: boolean;
  readonly tags: readonly string[] | undefined;
  readonly re: RegExp | undefined;
}

/** An invalidation an asynchronous store has not confirmed yet. */
interface PendingRecord {
  readonly at: number;
  readonly all: boolean;
  readonly tags: readonly string[] | undefined;
  readonly re: RegExp | undefined;
}

const listTarget = (method: string) => method;
const nameTarget = (_method: string, params: JsonObject | undefined) => {
  const name = params?.name;
  return typeof name === 'string' ? name : undefined;
};
const uriTarget = (_method: string, params: JsonObject | undefined) => {
  const uri = params?.uri;
  return typeof uri === 'string' ? uri : undefined;
};

class Cache implements CacheMiddleware {
  readonly name = 'cache' as const;
  readonly request: RequestMiddleware;
  readonly notification: NotificationHook;
  readonly store: CacheStore;
  readonly [BRAND] = true;

  private readonly options: ResolvedOptions;
  private readonly ownsStore: boolean;
  private readonly now: () => number;
  private readonly rules = new Map<string, Rule>();
  private readonly learnTools: boolean;
  private readonly flights = new Map<string, Flight>();
  private readonly active = new Set<Flight>();
  private readonly progressWatch = new Map<Connection, Map<string | number, Flight>>();
  private readonly annotations = new Map<string, Map<string, boolean>>();
  private readonly registry = new Set<string>();
  private registryOverflowed = false;
  private guard: GuardRecord[] = [];
  private pending: PendingRecord[] = [];
  private seq = 0;
  private closed = false;
  private readonly unsubscribe: (() => void)[] = [];
  private storeEvictUnsubscribe: (() => void) | undefined = undefined;
  private readonly counters = {
    hits: 0,
    stale: 0,
    misses: 0,
    coalesced: 0,
    bypassed: 0,
    refreshes: 0,
    stored: 0,
    uncacheable: 0,
    tooLarge: 0,
    invalidations: 0,
    errors: 0,
  };
  private readonly hitListeners = new Set<(event: CacheEvent) => void>();
  private readonly staleListeners = new Set<(event: CacheEvent) => void>();
  private readonly missListeners = new Set<(event: CacheEvent) => void>();
  private readonly coalesceListeners = new Set<(event: CacheEvent) => void>();
  private readonly evictListeners = new Set<(event: CacheEvictEvent) => void>();
  private readonly invalidateListeners = new Set<(event: CacheInvalidateEvent) => void>();
  private readonly errorListeners = new Set<(error: Error) => void>();

  constructor(options: CacheOptions) {
    const resolved = resolveOptions(options);
    this.options = resolved;
    this.now = resolved.now;
    this.ownsStore = options.store === undefined;
    this.store =
      options.store ??
      memoryStore({ maxEntrySize: Math.min(resolved.maxEntryBytes, 64 * 1024 * 1024), now: resolved.now });
    const { lists, resources, prompts, tools } = resolved;
    if (lists.enabled) {
      for (const method of ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list']) {
        this.rules.set(method, {
          policy: lists,
          hinted: true,
          target: listTarget,
          tags: (m) => [`method:${m}`],
        });
      }
    }
    if (resources.enabled) {
      this.rules.set('resources/read', {
        policy: resources,
        hinted: true,
        target: uriTarget,
        tags: (_m, uri) => ['method:resources/read', `uri:${uri}`],
      });
    }
    if (prompts.enabled) {
      this.rules.set('prompts/get', {
        policy: prompts,
        hinted: false,
        target: nameTarget,
        tags: (_m, name) => ['method:prompts/get', `prompt:${name}`],
      });
    }
    if (tools.enabled && (tools.include !== null || resolved.readOnlyTools)) {
      this.rules.set('tools/call', {
        policy: tools,
        hinted: false,
        target: nameTarget,
        tags: (_m, name) => ['method:tools/call', `tool:${name}`],
      });
    }
    this.learnTools = resolved.readOnlyTools;
    const onRemote = this.store.onRemoteInvalidate;
    if (typeof onRemote === 'function') {
      this.unsubscribe.push(onRemote.call(this.store, (tag) => this.remoteInvalidated(tag)));
    }

    const self = this;
    this.request = function cache(ctx: RequestContext, next: Next): Promise<Reply> {
      return self.handle(ctx, next);
    };
    this.notification = function cacheNotification(nctx: NotificationContext) {
      if (nctx.from === 'handler') self.fromHandler(nctx);
      return undefined;
    };
  }

  // ---- the request path ----

  private handle(ctx: RequestContext, next: Next): Promise<Reply> {
    if (ctx.control) return next();
    const rule = this.rules.get(ctx.method);
    if (rule === undefined) {
      return this.learnTools && ctx.method === 'tools/list' ? this.learnThrough(ctx, next) : next();
    }
    const params = ctx.params;
    let refresh = false;
    if (params !== undefined) {
      if (
        params.inputResponses !== undefined ||
        params.requestState !== undefined ||
        params.task !== undefined
      ) {
        return this.bypass(ctx, next);
      }
      const meta = params._meta as JsonObject | undefined;
      if (typeof meta === 'object' && meta !== null) {
        const directive = meta[CACHE_META_KEY];
        if (directive === 'bypass') return this.bypass(ctx, next);
        refresh = directive === 'refresh';
      }
    }
    const target = rule.target(ctx.method, params);
    if (target === undefined) return this.bypass(ctx, next);
    const upstream = serverIdentity(ctx.session);
    if (!this.accepts(rule.policy, target, upstream)) return this.bypass(ctx, next);
    let principal: string;
    let key: string | undefined;
    try {
      principal = (this.options.principal ?? defaultPrincipal)(ctx) ?? '';
      key = `${ctx.method}:${digest(`${ctx.method}\n${upstream}\n${principal}\n${canonicalParams(params)}`)}`;
      if (this.options.key !== undefined) key = this.options.key(ctx, key);
    } catch (error) {
      this.report(ctx.connection, asError(error, 'cache: computing the key failed'));
      return this.bypass(ctx, next);
    }
    if (typeof key !== 'string') return this.bypass(ctx, next);
    const lookup: Lookup = { ctx, next, rule, key, target, upstream, principal };
    if (refresh) return this.miss(lookup);
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

  private accepts(policy: ResolvedPolicy, target: string, upstream: string): boolean {
    if (policy.exclude?.test(target)) return false;
    if (policy.includeAll || policy.include?.test(target)) return true;
    return (
      policy.kind === 'tool' &&
      this.options.readOnlyTools &&
      this.annotations.get(upstream)?.get(target) === true
    );
  }

  private found(lookup: Lookup, entry: CacheEntry | undefined): Promise<Reply> {
    if (entry === undefined) return this.miss(lookup);
    if (!isUsable(entry)) {
      this.dropCorrupt(lookup);
      return this.miss(lookup);
    }
    if (this.pending.length !== 0 && this.pendingCovers(entry)) return this.miss(lookup);
    const now = this.now();
    if (now < entry.freshUntil) {
      this.counters.hits++;
      lookup.ctx.state.cache = 'hit';
      if (this.hitListeners.size !== 0)
        this.emit(this.hitListeners, event(lookup, now - entry.storedAt), lookup);
      if (this.learnTools && lookup.ctx.method === 'tools/list' && !this.annotations.has(lookup.upstream)) {
        this.learn(lookup.upstream, entry.value as JsonObject);
      }
      return Promise.resolve({ result: this.present(entry, now, 'hit') });
    }
    if (now < entry.staleUntil) {
      this.counters.stale++;
      lookup.ctx.state.cache = 'stale';
      if (this.staleListeners.size !== 0) {
        this.emit(this.staleListeners, event(lookup, now - entry.storedAt), lookup);
      }
      if (!this.flights.has(lookup.key)) this.refreshInBackground(lookup);
      return Promise.resolve({ result: this.present(entry, now, 'stale') });
    }
    return this.miss(lookup);
  }

  /** The entry as served: `ttlMs` lowered to what is left of its freshness, marked if asked. */
  private present(entry: CacheEntry, now: number, mark: 'hit' | 'stale'): JsonObject {
    let value = entry.value as JsonObject;
    const ttl = value.ttlMs;
    if (typeof ttl === 'number') {
      const left = Math.max(0, Math.floor(entry.freshUntil - now));
      if (left < ttl) value = { ...value, ttlMs: left };
    }
    if (this.options.markHits) {
      value = { ...value, _meta: { ...(value._meta as JsonObject | undefined), [CACHE_META_KEY]: mark } };
    }
    return value;
  }

  private miss(lookup: Lookup): Promise<Reply> {
    if (this.options.coalesce) {
      const flight = this.flights.get(lookup.key);
      if (flight !== undefined) return this.join(lookup, flight);
    }
    return this.lead(lookup);
  }

  /**
   * Calls the handler through `next()`, so the middlewares inside the cache (a
   * concurrency limit, metrics) see every real call. Identical requests arriving
   * meanwhile wait for this one.
   */
  private lead(lookup: Lookup): Promise<Reply> {
    const { ctx } = lookup;
    this.counters.misses++;
    ctx.state.cache = 'miss';
    if (this.missListeners.size !== 0) this.emit(this.missListeners, event(lookup, undefined), lookup);
    const flight = new Flight(lookup.key, ctx.connection, this.seq, ctx.progressToken);
    if (this.options.coalesce) this.flights.set(lookup.key, flight);
    this.active.add(flight);
    let reply: Promise<Reply>;
    try {
      reply = lookup.next();
    } catch (error) {
      reply = Promise.reject(error);
    }
    return reply.then(
      (answer) => {
        this.offer(lookup, answer, flight.startSeq);
        this.finish(flight);
        this.settleWaiters(flight, answer);
        return answer;
      },
      (error: unknown) => {
        this.finish(flight);
        this.retryWaiters(flight);
        throw error;
      },
    );
  }

  private join(lookup: Lookup, flight: Flight): Promise<Reply> {
    const { ctx } = lookup;
    this.counters.coalesced++;
    ctx.state.cache = 'coalesced';
    if (this.coalesceListeners.size !== 0)
      this.emit(this.coalesceListeners, event(lookup, undefined), lookup);
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

  private finish(flight: Flight): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    this.active.delete(flight);
    if (this.active.size === 0) {
      if (this.guard.length !== 0) this.guard = [];
    } else if (this.guard.length > 64) {
      let oldest = this.seq;
      for (const f of this.active) if (f.startSeq < oldest) oldest = f.startSeq;
      this.guard = this.guard.filter((record) => record.seq > oldest);
    }
    if (flight.watching && flight.leaderToken !== undefined) {
      const watched = this.progressWatch.get(flight.connection);
      if (watched?.get(flight.leaderToken) === flight) {
        watched.delete(flight.leaderToken);
        if (watched.size === 0) this.progressWatch.delete(flight.connection);
      }
    }
  }

  /** Every waiter gets the same reply (re-addressed to its own id by the pipeline). */
  private settleWaiters(flight: Flight, reply: Reply): void {
    const waiters = flight.waiters;
    if (waiters === undefined) return;
    flight.waiters = undefined;
    const isPrivate = reply.result !== undefined && reply.result.cacheScope === 'private';
    for (const waiter of waiters) {
      waiter.detach?.();
      const { lookup } = waiter;
      if (isPrivate && !this.sharesPrivate(lookup) && lookup.ctx.connection !== flight.connection) {
        waiter.resolve(this.handle(lookup.ctx, lookup.next));
      } else waiter.resolve(reply);
    }
  }

  /** The call they waited on failed or was cancelled: each waiter calls again on its own. */
  private retryWaiters(flight: Flight): void {
    const waiters = flight.waiters;
    if (waiters === undefined) return;
    flight.waiters = undefined;
    for (const waiter of waiters) {
      waiter.detach?.();
      waiter.resolve(this.handle(waiter.lookup.ctx, waiter.lookup.next));
    }
  }

  /**
   * Serves a stale entry's refresh: one request under the pipeline's own id space (no
   * caller waits for it), stored when it succeeds.
   */
  private refreshInBackground(lookup: Lookup): void {
    const { ctx } = lookup;
    const flight = new Flight(lookup.key, ctx.connection, this.seq, undefined);
    const controller = new AbortController();
    flight.controller = controller;
    this.flights.set(lookup.key, flight);
    this.active.add(flight);
    this.counters.refreshes++;
    ctx.connection
      .request(ctx.method, ctx.params, {
        signal: controller.signal,
        onprogress: (params) => this.relay(flight, params),
        extra: ctx.extra,
      })
      .then(
        (reply) => {
          this.offer(lookup, reply, flight.startSeq);
          this.finish(flight);
          this.settleWaiters(flight, reply);
        },
        (error: unknown) => {
          this.finish(flight);
          if (!isCancelledError(error) && !isConnectionClosedError(error)) {
            this.report(ctx.connection, asError(error, 'cache: background refresh failed'));
          }
          this.retryWaiters(flight);
        },
      );
  }

  /** A reply from the handler: stored if it may be. */
  private offer(lookup: Lookup, reply: Reply, startSeq: number): void {
    const { ctx, rule } = lookup;
    const result = reply.result;
    if (this.learnTools && ctx.method === 'tools/list' && result !== undefined) {
      this.learn(lookup.upstream, result);
    }
    if (result === undefined || result.isError === true || result.task !== undefined) {
      this.counters.uncacheable++;
      return;
    }
    const resultType = result.resultType;
    if (resultType !== undefined && resultType !== 'complete') {
      this.counters.uncacheable++;
      return;
    }
    const policy = rule.policy;
    let ttl = policy.ttlMs;
    if (rule.hinted && policy.hints) {
      const hint = result.ttlMs;
      if (typeof hint === 'number') {
        if (hint < ttl) ttl = hint;
      } else if (resultType !== undefined || ctx.session.era === 'modern') ttl = 0;
    }
    if (!(ttl > 0) || (result.cacheScope === 'private' && !this.sharesPrivate(lookup))) {
      this.counters.uncacheable++;
      return;
    }
    let json: string;
    try {
      json = JSON.stringify(result);
    } catch (error) {
      this.counters.uncacheable++;
      this.report(ctx.connection, asError(error, 'cache: a result could not be serialized'));
      return;
    }
    const size = json.length > this.options.maxEntryBytes ? json.length : Buffer.byteLength(json);
    if (size > this.options.maxEntryBytes) {
      this.counters.tooLarge++;
      return;
    }
    const tags = rule.tags(ctx.method, lookup.target);
    if (this.seq !== startSeq && this.invalidatedSince(startSeq, tags)) return;
    const now = this.now();
    const entry: CacheEntry = {
      value: result,
      size,
      storedAt: now,
      freshUntil: now + ttl,
      staleUntil: now + ttl + policy.staleMs,
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
    this.register(tags);
  }

  /**
   * Whether a `cacheScope: 'private'` result may be kept for this request's partition:
   * when it has a principal, or on the client side (one client, one principal).
   */
  private sharesPrivate(lookup: Lookup): boolean {
    return lookup.principal !== '' || lookup.ctx.side === 'client';
  }

  private bypass(ctx: RequestContext, next: Next): Promise<Reply> {
    this.counters.bypassed++;
    ctx.state.cache = 'bypass';
    return this.learnTools && ctx.method === 'tools/list' ? this.learnThrough(ctx, next) : next();
  }

  private learnThrough(ctx: RequestContext, next: Next): Promise<Reply> {
    return next().then((reply) => {
      if (reply.result !== undefined) this.learn(serverIdentity(ctx.session), reply.result);
      return reply;
    });
  }

  /** Remembers which tools of a server are annotated read-only. */
  private learn(upstream: string, result: JsonObject): void {
    const tools = result.tools;
    if (!Array.isArray(tools)) return;
    let known = this.annotations.get(upstream);
    if (known === undefined) {
      if (this.annotations.size >= ANNOTATED_SERVERS_MAX) {
        const oldest = this.annotations.keys().next().value;
        if (oldest !== undefined) this.annotations.delete(oldest);
      }
      known = new Map();
      this.annotations.set(upstream, known);
    }
    for (const tool of tools as { name?: unknown; annotations?: { readOnlyHint?: unknown } }[]) {
      if (typeof tool?.name === 'string') known.set(tool.name, tool.annotations?.readOnlyHint === true);
    }
  }

  private dropCorrupt(lookup: Lookup): void {
    this.report(lookup.ctx.connection, new Error(`cache: dropped a corrupt entry under key ${lookup.key}`));
    try {
      const deleting = this.store.delete(lookup.key);
      if (isThenable(deleting)) {
        deleting.then(undefined, (error: unknown) =>
          this.storeFailed(lookup.ctx.connection, 'delete', error),
        );
      }
    } catch (error) {
      this.storeFailed(lookup.ctx.connection, 'delete', error);
    }
  }

  // ---- notifications ----

  private fromHandler(nctx: NotificationContext): void {
    const method = nctx.message.method;
    if (method === 'notifications/progress') {
      if (this.progressWatch.size !== 0) this.relayFromLeader(nctx);
      return;
    }
    const tags = INVALIDATED_BY.get(method);
    if (tags !== undefined) {
      if (method === 'notifications/tools/list_changed') {
        this.annotations.delete(serverIdentity(nctx.connection.session));
      }
      this.invalidateTags(tags, 'notification', nctx.connection);
    } else if (method === 'notifications/resources/updated') {
      const uri = nctx.message.params?.uri;
      if (typeof uri === 'string') this.invalidateTags([`uri:${uri}`], 'notification', nctx.connection);
    }
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

  /** The leader's progress also reaches every waiter, under the waiter's own token. */
  private relayFromLeader(nctx: NotificationContext): void {
    const params = nctx.message.params;
    const token = params?.progressToken as string | number | undefined;
    if (token === undefined) return;
    const flight = this.progressWatch.get(nctx.connection)?.get(token);
    if (flight !== undefined && params !== undefined) this.relay(flight, params);
  }

  private relay(flight: Flight, params: JsonObject): void {
    const waiters = flight.waiters;
    if (waiters === undefined || typeof params.progress !== 'number') return;
    const progress: { progress: number; total?: number; message?: string } = { progress: params.progress };
    if (typeof params.total === 'number') progress.total = params.total;
    if (typeof params.message === 'string') progress.message = params.message;
    for (const waiter of waiters) waiter.lookup.ctx.progress(progress);
  }

  // ---- invalidation ----

  private invalidateTags(
    tags: readonly string[],
    source: CacheInvalidateEvent['source'],
    connection: Connection | undefined,
  ): Promise<number> | number {
    this.remember({ all: false, tags, re: undefined });
    let removed = 0;
    let waits: Promise<number>[] | undefined;
    for (const tag of tags) {
      this.registry.delete(tag);
      const done = this.storeOp(
        connection,
        'invalidateTag',
        () => this.store.invalidateTag(tag),
        tags,
        undefined,
      );
      if (typeof done === 'number') removed += done;
      else if (done !== undefined) {
        if (waits === undefined) waits = [];
        waits.push(done);
      }
    }
    this.counters.invalidations++;
    if (this.invalidateListeners.size !== 0) this.emitInvalidate({ tags, source }, connection);
    if (waits === undefined) return removed;
    return Promise.all(waits).then((counts) => counts.reduce((a, b) => a + b, removed));
  }

  /** Records an invalidation for the generation guard (fills in flight must not write back). */
  private remember(record: Omit<GuardRecord, 'seq'>): void {
    this.seq++;
    if (this.active.size !== 0) this.guard.push({ seq: this.seq, ...record });
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
    tags: readonly string[] | undefined,
    re: RegExp | undefined,
  ): T | Promise<T> | undefined {
    let result: T | Promise<T>;
    try {
      result = op();
    } catch (error) {
      this.storeFailed(connection, operation, error);
      return undefined;
    }
    if (!isThenable(result)) return result;
    const record: PendingRecord = { at: this.now(), all: tags === undefined && re === undefined, tags, re };
    this.pending.push(record);
    const settle = () => {
      const i = this.pending.indexOf(record);
      if (i !== -1) this.pending.splice(i, 1);
    };
    return result.then(
      (value) => {
        settle();
        return value;
      },
      (error: unknown) => {
        settle();
        this.storeFailed(connection, operation, error);
        return undefined as T;
      },
    );
  }

  private invalidatedSince(startSeq: number, tags: readonly string[]): boolean {
    for (const record of this.guard) {
      if (record.seq > startSeq && covers(record, tags)) return true;
    }
    return false;
  }

  private pendingCovers(entry: CacheEntry): boolean {
    for (const record of this.pending) {
      if (entry.storedAt <= record.at && covers(record, entry.tags)) return true;
    }
    return false;
  }

  private register(tags: readonly string[]): void {
    for (const tag of tags) {
      if (this.registry.has(tag)) continue;
      if (this.registry.size >= REGISTRY_MAX) {
        this.registryOverflowed = true;
        return;
      }
      this.registry.add(tag);
    }
  }

  private remoteInvalidated(tag: string): void {
    this.remember({ all: false, tags: [tag], re: undefined });
    this.registry.delete(tag);
    if (tag === 'method:tools/list') this.annotations.clear();
    this.counters.invalidations++;
    if (this.invalidateListeners.size !== 0) {
      this.emitInvalidate({ tags: [tag], source: 'remote' }, undefined);
    }
  }

  invalidate(pattern: string): Promise<number> {
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
    const tagPattern =
      pattern === '*' || pattern === '**'
        ? '**'
        : TAG_PREFIXES.some((p) => pattern.startsWith(p))
          ? pattern
          : `method:${pattern}`;
    if (!isGlob(tagPattern)) return Promise.resolve(this.invalidateTags([tagPattern], 'explicit', undefined));
    if (tagPattern === '**' || this.registryOverflowed)
      return this.clearAll('explicit', pattern).then(() => 0);
    const re = compileGlobs([tagPattern])!;
    const tags = [...this.registry].filter((tag) => re.test(tag));
    this.remember({ all: false, tags: undefined, re });
    let removed = 0;
    const waits: Promise<number>[] = [];
    for (const tag of tags) {
      this.registry.delete(tag);
      const done = this.storeOp(
        undefined,
        'invalidateTag',
        () => this.store.invalidateTag(tag),
        undefined,
        re,
      );
      if (typeof done === 'number') removed += done;
      else if (done !== undefined) waits.push(done);
    }
    this.counters.invalidations++;
    if (this.invalidateListeners.size !== 0) {
      this.emitInvalidate({ tags, pattern, source: 'explicit' }, undefined);
    }
    return Promise.all(waits).then((counts) => counts.reduce((a, b) => a + (b ?? 0), removed));
  }

  clear(): Promise<void> {
    return this.clearAll('explicit', undefined);
  }

  private clearAll(source: CacheInvalidateEvent['source'], pattern: string | undefined): Promise<void> {
    this.remember({ all: true, tags: undefined, re: undefined });
    this.registry.clear();
    this.registryOverflowed = false;
    const done = this.storeOp(undefined, 'clear', () => this.store.clear(), undefined, undefined);
    this.counters.invalidations++;
    if (this.invalidateListeners.size !== 0) {
      this.emitInvalidate(
        pattern === undefined ? { tags: undefined, source } : { tags: undefined, pattern, source },
        undefined,
      );
    }
    return isThenable(done) ? done.then(() => undefined) : Promise.resolve();
  }

  // ---- statistics and events ----

  stats(): CacheStats {
    const store = this.store.stats();
    return {
      ...this.counters,
      evictions: store.evictions,
      entries: store.entries,
      bytes: store.bytes,
      inflight: this.active.size,
    };
  }

  onHit(listener: (event: CacheEvent) => void): () => void {
    return subscribe(this.hitListeners, listener);
  }

  onStale(listener: (event: CacheEvent) => void): () => void {
    return subscribe(this.staleListeners, listener);
  }

  onMiss(listener: (event: CacheEvent) => void): () => void {
    return subscribe(this.missListeners, listener);
  }

  onCoalesce(listener: (event: CacheEvent) => void): () => void {
    return subscribe(this.coalesceListeners, listener);
  }

  onInvalidate(listener: (event: CacheInvalidateEvent) => void): () => void {
    return subscribe(this.invalidateListeners, listener);
  }

  onError(listener: (error: Error) => void): () => void {
    return subscribe(this.errorListeners, listener);
  }

  onEvict(listener: (event: CacheEvictEvent) => void): () => void {
    this.evictListeners.add(listener);
    if (this.storeEvictUnsubscribe === undefined && typeof this.store.onEvict === 'function') {
      this.storeEvictUnsubscribe = this.store.onEvict((key, reason) => {
        const payload: CacheEvictEvent = { key, reason };
        for (const l of this.evictListeners) this.call(l, payload, undefined);
      });
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
    for (const flight of this.active) flight.controller?.abort();
    for (const off of this.unsubscribe.splice(0)) off();
    this.storeEvictUnsubscribe?.();
    this.storeEvictUnsubscribe = undefined;
    if (this.ownsStore) await this.store.close?.();
  }

  private emit(listeners: Set<(event: CacheEvent) => void>, payload: CacheEvent, lookup: Lookup): void {
    for (const listener of listeners) this.call(listener, payload, lookup.ctx.connection);
  }

  private emitInvalidate(payload: CacheInvalidateEvent, connection: Connection | undefined): void {
    for (const listener of this.invalidateListeners) this.call(listener, payload, connection);
  }

  private call<E>(listener: (event: E) => void, payload: E, connection: Connection | undefined): void {
    try {
      listener(payload);
    } catch (error) {
      this.report(connection, asError(error, 'cache: an event listener failed'));
    }
  }

  private storeFailed(connection: Connection | undefined, operation: string, error: unknown): void {
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

function event(lookup: Lookup, ageMs: number | undefined): CacheEvent {
  const base = { method: lookup.ctx.method, key: lookup.key, target: lookup.target, side: lookup.ctx.side };
  return ageMs === undefined ? base : { ...base, ageMs };
}

function subscribe<T>(set: Set<T>, listener: T): () => void {
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

function covers(
  record: { all: boolean; tags: readonly string[] | undefined; re: RegExp | undefined },
  tags: readonly string[],
): boolean {
  if (record.all) return true;
  for (const tag of tags) {
    if (record.tags?.includes(tag)) return true;
    if (record.re?.test(tag)) return true;
  }
  return false;
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** A stored entry is served only if it has the shape the cache wrote. */
function isUsable(entry: unknown): entry is CacheEntry {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as CacheEntry;
  const value = e.value;
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof e.freshUntil === 'number' &&
    typeof e.staleUntil === 'number' &&
    typeof e.storedAt === 'number' &&
    Array.isArray(e.tags)
  );
}

/**
 * The default principal: the OAuth client with the user (`sub`, `userId`, `user_id` or
 * `username` from the verifier's `extra`), or with the token when there is no user; used
 * only inside the hashed key.
 */
function defaultPrincipal(ctx: RequestContext): string | undefined {
  const auth = ctx.authInfo;
  if (auth === undefined) return undefined;
  const extra = auth.extra;
  const user = extra?.sub ?? extra?.userId ?? extra?.user_id ?? extra?.username;
  return user === undefined
    ? `${auth.clientId}\u0000token:${auth.token}`
    : `${auth.clientId}\u0000user:${String(user)}`;
}

function asError(error: unknown, context: string): Error {
  if (error instanceof Error) return error;
  return new Error(`${context}: ${String(error)}`);
}

/** The server identity a session knows, as keys and annotations are partitioned by it. */
function serverIdentity(session: SessionInfo): string {
  const info = session.serverInfo;
  return info === undefined ? '' : `${info.name}@${info.version}`;
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
  return new Cache(options);
}

/** True for an instance made by {@link cache} (of any installed copy). */
export function isCacheMiddleware(value: unknown): value is CacheMiddleware {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Adds a cache to an MCP server, client or transport: `withMiddleware(target, [cache(options)])`.
 * Pass an instance made by {@link cache} instead of options to keep a handle on it (stats,
 * events, invalidation) or to share it between targets.
 *
 * @example
 * ```ts
 * const c = cache({ ttlMs: 10_000 });
 * withCache(server, c);
 * await server.connect(transport);
 * c.stats().hits;
 * ```
 */
export function withCache<T extends ConnectTarget>(target: T, options?: CacheOptions | CacheMiddleware): T;
/** On a bare transport: returns the wrapping transport (`side` is required). */
export function withCache(
  target: McpTransport,
  options: CacheOptions | CacheMiddleware | undefined,
  wrap: WrapTransportOptions,
): MiddlewareTransport;
export function withCache(
  target: ConnectTarget | McpTransport,
  options?: CacheOptions | CacheMiddleware,
  wrap?: WrapTransportOptions,
): unknown {
  const layer = isCacheMiddleware(options) ? options : cache(options);
  if (wrap !== undefined) return withMiddleware(target as McpTransport, [layer], wrap);
  return withMiddleware(target as ConnectTarget, [layer]);
}
