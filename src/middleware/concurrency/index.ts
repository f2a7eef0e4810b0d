/**
 * Concurrency limit with bounded, prioritised queues and load shedding.
 *
 * A request must hold one slot in every scope that applies to it (global, per tool, per
 * principal …) before it reaches the handler. When a scope is full, the request waits
 * in that scope's bounded queue; when the queue is full, or the wait exceeds
 * `maxQueueWaitMs`, it is shed with {@link OverloadedError} (JSON-RPC `-31503`, with
 * `data.retryAfterMs`). Control methods (`initialize`, `server/discover`, `ping`) are
 * never queued; notifications and responses never pass through request middleware.
 *
 * Why not `p-limit`: it runs every task, even one that could start at once, through a
 * promise and its internal queue, and has no queue bound, timeout, priority or
 * AbortSignal; bolting those on means a wrapper promise per task and a search of its
 * queue to remove a cancelled one. Uncontended, the gate below costs less than
 * `p-limit` (benchmark `concurrency.uncontended.inmemory` measures it against a
 * pass-through layer); contended, both are dominated by the per-request AbortController
 * and listener that cancellation needs either way. The gate takes a free slot with a few
 * comparisons and no allocation; only a request that really waits gets a promise and a
 * queue node — an intrusive doubly linked FIFO per priority class, so cancellation and
 * eviction are O(1) — and each gate has one expiry timer (armed for the earliest
 * deadline) rather than one per waiter.
 *
 * @module
 */

import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import { Context, observeNext } from '../../core/context.js';
import { CONTROL_METHODS } from '../../core/messages.js';
import type { MiddlewareObject, Next, Reply, RequestContext } from '../../core/types.js';
import {
  CancelledError,
  InvalidOptionError,
  isOverloadedError,
  type OverloadedError,
} from '../../errors/index.js';
import { now } from '../../internal/clock.js';
import { functionOption, integerOption, positiveInteger } from '../../internal/validate.js';
import { ADAPTIVE_DEFAULTS, type AdaptiveLimitOptions, GradientLimit } from './adaptive.js';
import {
  type ConcurrencyListeners,
  type ConcurrencyStats,
  type Gate,
  Limiter,
  type ScopeConfig,
} from './limiter.js';
import type { Priority } from './queue.js';
import {
  type HeldLease,
  type SharedConcurrencyOptions,
  type SharedConcurrencyStats,
  SharedLimit,
} from './shared.js';
import { toolResultOf } from './shed.js';

export type { AdaptiveLimitOptions } from './adaptive.js';
export { methodKey, principalKey, toolKey } from './keys.js';
export type {
  CancelEvent,
  ConcurrencyListeners,
  ConcurrencyScopeStats,
  ConcurrencyStats,
  DequeueEvent,
  GraceExpiredEvent,
  LimitChangeEvent,
  QueueEvent,
  ShedEvent,
  ShedReason,
} from './limiter.js';
export type { Priority } from './queue.js';
export {
  type SemaphoreGrant,
  SHARED_CONCURRENCY_DEFAULTS,
  type SharedConcurrencyOptions,
  type SharedConcurrencyStats,
  type SharedSemaphore,
} from './shared.js';

/**
 * How a refused request is answered.
 * - `error`: a JSON-RPC error (`OverloadedError`, code `-31503`, or `RateLimitedError`,
 *   code `-31429`) with `data.retryAfterMs`.
 * - `tool-result`: for `tools/call` only, a `CallToolResult` with `isError: true` whose
 *   text is the error's message and whose `_meta["mcp-perf/retry"]` holds the error's
 *   `data`; for clients that surface protocol errors poorly. Other methods still get the
 *   error.
 */
export type ShedAs = 'error' | 'tool-result';

/** One scope of a concurrency limit. */
export interface ConcurrencyScope {
  /** The scope's name, used in messages, stats and events (e.g. `global`, `tool`). Unique. */
  name: string;
  /**
   * Splits the scope by key: each key gets its own `limit` and queue (e.g. {@link toolKey}
   * for a per-tool limit). Return `undefined` when the scope does not apply to a request.
   * Without `key`, the scope is one limit shared by all requests.
   */
  key?: (ctx: RequestContext) => string | undefined;
  /** Requests allowed to run at once (per key). The starting point when `adaptive`. Default 32. */
  limit?: number;
  /** Requests allowed to wait (per key); 0 sheds at once when full. Default: the top-level `maxQueue` (32). */
  maxQueue?: number;
  /** Longest wait in the queue before the request is shed, in ms (`Infinity`: no bound). Default: the top-level `maxQueueWaitMs` (5000). */
  maxQueueWaitMs?: number;
  /**
   * Let the limit adjust itself from observed latency (Gradient2-style), between
   * `adaptive.min` and `adaptive.max`. `true` takes every default. With a `key`, all keys
   * of the scope share one adaptive limit. Default: off.
   */
  adaptive?: boolean | AdaptiveLimitOptions;
}

/** Options of {@link concurrencyLimit}. */
export interface ConcurrencyLimitOptions extends ConcurrencyListeners {
  /**
   * Shorthand for one global scope: `{ limit: 8 }` is `{ scopes: [{ name: 'global', limit: 8 }] }`.
   * Not allowed together with `scopes`. Default 32.
   */
  limit?: number;
  /** Shorthand for the global scope's `adaptive`. Not allowed together with `scopes`. */
  adaptive?: boolean | AdaptiveLimitOptions;
  /**
   * The scopes, each with its own limit and queue. A request acquires a slot in every
   * scope that applies to it, in this order (a fixed order, so two requests never wait
   * on each other in a cycle), and releases them all when it finishes. A request
   * waiting in a later scope holds its slots in the earlier ones, so list the narrow
   * scopes (per tool) before the broad ones (global) if that matters. Default: one
   * global scope.
   */
  scopes?: readonly ConcurrencyScope[];
  /** Default `maxQueue` of each scope. Default 32. */
  maxQueue?: number;
  /** Default `maxQueueWaitMs` of each scope. Default 5000. */
  maxQueueWaitMs?: number;
  /**
   * The priority class of a request. `interactive` requests are dequeued first; when a
   * queue is full, an arriving interactive request evicts the newest queued `background`
   * one (which is shed) instead of being refused. Default: every request `interactive`.
   */
  priority?: (ctx: RequestContext) => Priority;
  /** How shed requests are answered. Default `error`. */
  shedAs?: ShedAs;
  /** Upper bound of the `retryAfterMs` sent with a shed request, in ms. Default 30 000. */
  maxRetryAfterMs?: number;
  /**
   * How long a request cancelled while its handler had it keeps its slots, in ms, when the
   * handler does not answer: a handler may ignore its abort signal and run on, and without
   * this a client that sends and cancels requests at once gets more than `limit` handlers
   * running. The slots are freed as soon as the handler answers after all; the SDK's
   * servers send no answer for a cancelled request, so with them the slots are held for
   * the whole grace (`onGraceExpired` and `stats().scopes[name].graceExpired` say when).
   * Raise it when handlers ignore their abort signal and run long; `0` frees the slots at
   * the cancel. A finite number ≥ 0. Default 5000.
   */
  cancelGraceMs?: number;
  /** The clock, in ms (queue waits, service times, the adaptive limit). Default `performance.now`. */
  clock?: () => number;
  /**
   * A limit shared by every replica, on top of the local scopes: once a request holds its
   * local slots it takes a lease of a semaphore outside the process (`redisSemaphore` from
   * `mcp-perf/redis`), waiting while the fleet is full and shed after `maxWaitMs`. Leases
   * expire unless renewed, so a crashed replica frees its slots. Local queueing and
   * shedding are unchanged. Default: none.
   *
   * @example
   * ```ts
   * concurrencyLimit({ limit: 16, shared: { semaphore: redisSemaphore({ url }), limit: 20 } });
   * ```
   */
  shared?: SharedConcurrencyOptions;
}

/** The defaults of {@link concurrencyLimit}, each cited in its option's doc comment. */
export const CONCURRENCY_DEFAULTS = Object.freeze({
  /** {@link ConcurrencyLimitOptions.limit} and {@link ConcurrencyScope.limit}: requests running at once, per key. */
  limit: 32,
  /** {@link ConcurrencyLimitOptions.maxQueue}: requests waiting, per key. */
  maxQueue: 32,
  /** {@link ConcurrencyLimitOptions.maxQueueWaitMs}: longest wait in a queue, in ms (five seconds). */
  maxQueueWaitMs: 5000,
  /** The class of every request when {@link ConcurrencyLimitOptions.priority} is not given. */
  priority: 'interactive' as Priority,
  /** {@link ConcurrencyLimitOptions.shedAs}: shed requests get a JSON-RPC error. */
  shedAs: 'error' as ShedAs,
  /** {@link ConcurrencyLimitOptions.maxRetryAfterMs}: cap of the `retryAfterMs` hint, in ms (30 seconds). */
  maxRetryAfterMs: 30_000,
  /** {@link ConcurrencyLimitOptions.cancelGraceMs}: how long a cancelled request's silent handler keeps its slots, in ms. */
  cancelGraceMs: 5000,
  /** The name of the single scope that the `limit` and `adaptive` shorthands create. */
  scopeName: 'global',
  /** The defaults of each {@link AdaptiveLimitOptions} member, taken by `adaptive: true`. */
  adaptive: Object.freeze({ ...ADAPTIVE_DEFAULTS }),
});

/** A concurrency-limit middleware with live figures and events. */
export interface ConcurrencyLimiter extends MiddlewareObject {
  /** `concurrencyLimit`. */
  readonly name: string;
  /** Running, queued, admitted, shed and cancelled counts and the current limit, per scope. */
  stats(): ConcurrencyStats;
  /** Subscribes listeners (e.g. a metrics exporter); returns the function that unsubscribes them. */
  on(listeners: ConcurrencyListeners): () => void;
  /** Sets a scope's limit by hand (for an adaptive scope, the estimate it continues from). */
  setLimit(scope: string, limit: number): void;
  /** Counters of the limit shared across replicas; `undefined` without {@link ConcurrencyLimitOptions.shared}. */
  sharedStats(): SharedConcurrencyStats | undefined;
}

const WHERE = 'concurrencyLimit';
/** A request reaching the limit this long (ms) after it started was held by an outer layer. */
const LATE_MS = 0.25;
const LISTENER_NAMES = [
  'onQueue',
  'onDequeue',
  'onShed',
  'onCancel',
  'onLimitChange',
  'onGraceExpired',
] as const;

/**
 * Creates a concurrency-limit middleware.
 *
 * @example
 * ```ts
 * const limiter = concurrencyLimit({
 *   scopes: [
 *     { name: 'tool', key: toolKey, limit: 8, maxQueue: 32 },
 *     { name: 'principal', key: principalKey, limit: 16 },
 *     { name: 'global', limit: 64, adaptive: { min: 8, max: 256 } },
 *   ],
 *   priority: (ctx) => (ctx.params?.name === 'reindex' ? 'background' : 'interactive'),
 *   onShed: (e) => log.warn(e.error.message),
 * });
 * withMiddleware(server, [limiter]);
 * limiter.stats().scopes.tool; // { limit, running, queued, admitted, shed, cancelled, keys, serviceMs }
 * ```
 */
export function concurrencyLimit(options: ConcurrencyLimitOptions = {}): ConcurrencyLimiter {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(WHERE, '', 'an object', options);
  }
  const maxQueue = intOption('maxQueue', options.maxQueue, CONCURRENCY_DEFAULTS.maxQueue, 0);
  const maxQueueWaitMs = waitOption(
    'maxQueueWaitMs',
    options.maxQueueWaitMs,
    CONCURRENCY_DEFAULTS.maxQueueWaitMs,
  );
  const maxRetryAfterMs = intOption(
    'maxRetryAfterMs',
    options.maxRetryAfterMs,
    CONCURRENCY_DEFAULTS.maxRetryAfterMs,
    1,
  );
  const shedAs = options.shedAs ?? CONCURRENCY_DEFAULTS.shedAs;
  if (shedAs !== 'error' && shedAs !== 'tool-result') {
    throw new InvalidOptionError(WHERE, 'shedAs', '"error" or "tool-result"', shedAs);
  }
  const cancelGraceMs = options.cancelGraceMs ?? CONCURRENCY_DEFAULTS.cancelGraceMs;
  if (typeof cancelGraceMs !== 'number' || !Number.isFinite(cancelGraceMs) || cancelGraceMs < 0) {
    throw new InvalidOptionError(
      WHERE,
      'cancelGraceMs',
      'a finite number of milliseconds ≥ 0',
      cancelGraceMs,
    );
  }
  const priority = fnOption('priority', options.priority);
  const clock = fnOption('clock', options.clock) ?? now;
  const listeners: ConcurrencyListeners = {};
  for (const name of LISTENER_NAMES) {
    const fn = fnOption(name, options[name]);
    if (fn) (listeners as Record<string, unknown>)[name] = fn;
  }

  let scopeOptions: readonly ConcurrencyScope[];
  if (options.scopes !== undefined) {
    if (!Array.isArray(options.scopes) || options.scopes.length === 0) {
      throw new InvalidOptionError(WHERE, 'scopes', 'a non-empty array of scopes', options.scopes);
    }
    if (options.limit !== undefined) {
      throw new InvalidOptionError(WHERE, 'limit', 'omitted when options.scopes is given', options.limit);
    }
    if (options.adaptive !== undefined) {
      throw new InvalidOptionError(
        WHERE,
        'adaptive',
        'omitted when options.scopes is given',
        options.adaptive,
      );
    }
    scopeOptions = options.scopes;
  } else {
    const global: ConcurrencyScope = { name: CONCURRENCY_DEFAULTS.scopeName };
    if (options.limit !== undefined) global.limit = options.limit;
    if (options.adaptive !== undefined) global.adaptive = options.adaptive;
    scopeOptions = [global];
  }

  const names = new Set<string>();
  const configs: ScopeConfig[] = scopeOptions.map((s, i) => {
    const path = options.scopes === undefined ? '' : `scopes[${i}].`;
    if (typeof s !== 'object' || s === null) {
      throw new InvalidOptionError(WHERE, `scopes[${i}]`, 'an object', s);
    }
    if (typeof s.name !== 'string' || s.name === '') {
      throw new InvalidOptionError(WHERE, `${path}name`, 'a non-empty string', s.name);
    }
    if (names.has(s.name)) throw new InvalidOptionError(WHERE, `${path}name`, 'unique among scopes', s.name);
    names.add(s.name);
    const key = fnOption(`${path}key`, s.key);
    let limit = intOption(`${path}limit`, s.limit, CONCURRENCY_DEFAULTS.limit, 1);
    const adaptive = adaptiveOption(`${path}adaptive`, s.adaptive);
    let gradient: GradientLimit | undefined;
    if (adaptive) {
      if (s.limit === undefined) limit = Math.min(adaptive.max, Math.max(adaptive.min, limit));
      else if (limit < adaptive.min || limit > adaptive.max) {
        throw new InvalidOptionError(
          WHERE,
          `${path}limit`,
          `within adaptive.min..adaptive.max (${adaptive.min}..${adaptive.max})`,
          limit,
        );
      }
      gradient = new GradientLimit(limit, adaptive);
    }
    return {
      name: s.name,
      key,
      limit,
      maxQueue: intOption(`${path}maxQueue`, s.maxQueue, maxQueue, 0),
      maxQueueWaitMs: waitOption(`${path}maxQueueWaitMs`, s.maxQueueWaitMs, maxQueueWaitMs),
      adaptive: gradient,
    };
  });

  const limiter = new Limiter(configs, clock, maxRetryAfterMs);
  const shared = options.shared === undefined ? undefined : new SharedLimit(options.shared, maxQueueWaitMs);
  const subscribe = (l: ConcurrencyListeners): (() => void) => {
    const added: [unknown[], unknown][] = [];
    for (const name of LISTENER_NAMES) {
      const fn = l[name];
      if (typeof fn === 'function') {
        const list = limiter.listeners[name] as unknown[];
        list.push(fn);
        added.push([list, fn]);
      }
    }
    return () => {
      for (const [list, fn] of added) {
        const i = list.indexOf(fn);
        if (i !== -1) list.splice(i, 1);
      }
    };
  };
  subscribe(listeners);

  const scopes = limiter.scopes;
  const refuse = (ctx: RequestContext, error: OverloadedError): Reply => {
    ctx.state.shed = true;
    if (shedAs === 'tool-result' && ctx.method === 'tools/call') return toolResultOf(error);
    throw error;
  };

  /** Gives back a request's slots and lease, unless it was cancelled while its handler had it. */
  const release = (
    ctx: RequestContext,
    held: readonly Gate[],
    lease: HeldLease | undefined,
    start: number,
    replied: boolean,
  ): void => {
    if (lease !== undefined) shared!.release(lease);
    // A request cancelled while its handler had it holds its slots while the handler may run.
    if (replied || !ctx.cancelled || cancelGraceMs === 0 || !limiter.linger(held, ctx, cancelGraceMs)) {
      const end = clock();
      limiter.finish(held, ctx, end - start, replied, end);
    }
  };
  /**
   * A request with its slots: runs it, then gives the slots back. Not an async function: a
   * reaction on next()'s promise allocates a fraction of what an async frame and await do.
   */
  const holding = (
    ctx: RequestContext,
    next: Next,
    held: readonly Gate[],
    lease?: HeldLease,
  ): Promise<Reply> => {
    const start = clock();
    return observeNext(next, (reply) => release(ctx, held, lease, start, reply !== undefined));
  };
  // The common case, one scope without a key and no limit shared across replicas: its gate,
  // and the list of gates a request through it holds (read, never changed, so one list
  // serves every request).
  const onlyGate = scopes.length === 1 && shared === undefined ? scopes[0]!.single : undefined;
  const onlyHeld: readonly Gate[] = onlyGate ? [onlyGate] : [];
  // A request a pipeline runs that takes a free slot of a fixed limit gives it back through
  // one hook made here (see `Context.onSettled`), with no promise reaction or closure per
  // request, its service time counted from the request's start. Not when the clock is
  // injected, when the scope's limit adapts to service times (the hook runs once the outer
  // layers are done too), or when the request reached the limit late (an outer layer held it).
  const hookable = onlyGate !== undefined && onlyGate.scope.adaptive === undefined && clock === now;
  const releaseOnly = (ctx: Context, reply: Reply | undefined): void =>
    release(ctx, onlyHeld, undefined, ctx.startedAt, reply !== undefined);

  const queued = async (ctx: RequestContext, next: Next): Promise<Reply> => {
    const held: Gate[] = [];
    let queuedAt = -1;
    let cls: Priority = CONCURRENCY_DEFAULTS.priority;
    for (let i = 0; i < scopes.length; i++) {
      const gate = limiter.gateOf(scopes[i]!, ctx);
      if (gate === undefined) continue;
      if (limiter.tryAcquire(gate)) {
        held.push(gate);
        continue;
      }
      if (ctx.cancelled) {
        limiter.release(held);
        throw new CancelledError();
      }
      if (queuedAt < 0) {
        queuedAt = clock();
        if (priority) cls = priority(ctx);
      }
      const waiting = limiter.enqueue(gate, ctx, cls);
      if (!(waiting instanceof Promise)) {
        limiter.release(held);
        return refuse(ctx, waiting);
      }
      try {
        await waiting;
      } catch (error) {
        limiter.release(held);
        if (isOverloadedError(error)) return refuse(ctx, error);
        throw error;
      }
      held.push(gate);
    }
    let lease: HeldLease | undefined;
    if (shared !== undefined) {
      try {
        lease = await shared.acquire(ctx, clock);
      } catch (error) {
        limiter.release(held);
        if (isOverloadedError(error)) return refuse(ctx, error);
        throw error;
      }
    }
    if (queuedAt >= 0) ctx.state.queuedMs = clock() - queuedAt;
    return holding(ctx, next, held, lease);
  };

  const limiterMiddleware: ConcurrencyLimiter = {
    name: 'concurrencyLimit',
    // The handshake and pings are never held back.
    handles: (method) => !CONTROL_METHODS.has(method),
    request: function concurrencyLimit(ctx, next) {
      if (ctx.control) return next();
      // A free slot in the only scope: taken at once, nothing allocated for the list.
      if (onlyGate !== undefined && limiter.tryAcquire(onlyGate)) {
        if (hookable && ctx instanceof Context && now() - ctx.startedAt < LATE_MS) {
          ctx.onSettled(releaseOnly);
          return next();
        }
        return holding(ctx, next, onlyHeld);
      }
      return queued(ctx, next);
    },
    stats: () => limiter.stats(),
    sharedStats: () => (shared === undefined ? undefined : { ...shared.stats }),
    on: subscribe,
    setLimit(scope: string, limit: number): void {
      const target = scopes.find((s) => s.name === scope);
      if (target === undefined)
        throw new InvalidOptionError('setLimit', 'scope', 'the name of a scope', scope);
      let next = positiveInteger('setLimit', 'limit', limit);
      if (target.adaptive) {
        target.adaptive.limit = limit;
        next = target.adaptive.limit;
      }
      limiter.changeLimit(target, next, 'manual');
    },
  };
  return brandMiddleware(limiterMiddleware, 'concurrencyLimit');
}

/**
 * Adds a concurrency limit to an MCP server, client or transport: the same as
 * `withMiddleware(target, [concurrencyLimit(options)])`. Pass an instance made by
 * {@link concurrencyLimit} to keep a handle on it (`stats()`, events, `setLimit`) or to
 * share one limit between targets. Returns the target; on a bare transport (with
 * `{ side }`), the wrapping transport.
 *
 * @example
 * ```ts
 * withConcurrencyLimit(server, { limit: 8, maxQueue: 16 });
 * ```
 */
export const withConcurrencyLimit: WithHelper<ConcurrencyLimitOptions, ConcurrencyLimiter> = defineWith(
  'concurrencyLimit',
  concurrencyLimit,
);

function intOption(option: string, value: unknown, fallback: number, min: number): number {
  return integerOption(WHERE, option, value, fallback, min);
}

function waitOption(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new InvalidOptionError(WHERE, option, 'a positive number of milliseconds or Infinity', value);
  }
  return value;
}

function fnOption<F>(option: string, value: F | undefined): F | undefined {
  return functionOption(WHERE, option, value);
}

function adaptiveOption(
  option: string,
  value: boolean | AdaptiveLimitOptions | undefined,
): Required<AdaptiveLimitOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionError(WHERE, option, 'a boolean or an object', value);
  }
  const v: AdaptiveLimitOptions = value === true ? {} : value;
  const d = ADAPTIVE_DEFAULTS;
  const min = intOption(`${option}.min`, v.min, d.min, 1);
  const max = intOption(`${option}.max`, v.max, Math.max(d.max, min), 1);
  if (max < min) throw new InvalidOptionError(WHERE, `${option}.max`, `at least adaptive.min (${min})`, max);
  const num = (
    name: keyof AdaptiveLimitOptions,
    fallback: number,
    ok: (n: number) => boolean,
    what: string,
  ) => {
    const n = v[name];
    if (n === undefined) return fallback;
    if (typeof n !== 'number' || !Number.isFinite(n) || !ok(n)) {
      throw new InvalidOptionError(WHERE, `${option}.${name}`, what, n);
    }
    return n;
  };
  return {
    min,
    max,
    tolerance: num('tolerance', d.tolerance, (n) => n >= 1, 'a number ≥ 1'),
    smoothing: num('smoothing', d.smoothing, (n) => n > 0 && n <= 1, 'a number in (0, 1]'),
    longWindow: intOption(`${option}.longWindow`, v.longWindow, d.longWindow, 1),
    queueSize: num('queueSize', d.queueSize, (n) => n >= 0, 'a non-negative number'),
    windowMs: num('windowMs', d.windowMs, (n) => n >= 0, 'a non-negative number of milliseconds'),
    windowSamples: intOption(`${option}.windowSamples`, v.windowSamples, d.windowSamples, 1),
  };
}
