// The engine behind `concurrencyLimit`: scopes, their per-key gates, the queues, shedding,
// queue-wait expiry, cancellation and the adaptive limit. The middleware function in
// index.ts drives it; nothing here is exported from the package.

import type { RequestContext } from '../../core/types.js';
import { CancelledError, OverloadedError } from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import type { GradientLimit } from './adaptive.js';
import { type Priority, Waiter, WaiterList } from './queue.js';

/** Why a request was shed. */
export type ShedReason = 'queue-full' | 'wait-expired' | 'evicted';

/** Emitted when a request joins a scope's queue. */
export interface QueueEvent {
  /** The scope's name, e.g. `tool`. */
  scope: string;
  /** The scope's key for this request (e.g. the tool name), `undefined` for an unkeyed scope. */
  key: string | undefined;
  /** The request's method. */
  method: string;
  /** The request's priority class. */
  priority: Priority;
  /** Requests waiting in this key's queue, including this one. */
  queued: number;
  /** Requests running under this key. */
  running: number;
  /** The key's current limit. */
  limit: number;
}

/** Emitted when a queued request gets its slot in a scope. */
export interface DequeueEvent {
  /** The scope's name. */
  scope: string;
  /** The scope's key for this request. */
  key: string | undefined;
  /** The request's method. */
  method: string;
  /** The request's priority class. */
  priority: Priority;
  /** How long it waited in this scope's queue, in ms. */
  queuedMs: number;
}

/** Emitted when a request is shed (answered with `OverloadedError` or its tool-result form). */
export interface ShedEvent {
  /** The scope that shed it. */
  scope: string;
  /** The scope's key for this request. */
  key: string | undefined;
  /** The request's method. */
  method: string;
  /** The request's priority class. */
  priority: Priority;
  /** `queue-full`: refused on arrival; `wait-expired`: waited `maxQueueWaitMs`; `evicted`: a background request displaced by an interactive one. */
  reason: ShedReason;
  /** The error it was shed with (its `data` has the numbers). */
  error: OverloadedError;
}

/** Emitted when a queued request leaves the queue because it was cancelled or its connection closed. */
export interface CancelEvent {
  /** The scope it was waiting in. */
  scope: string;
  /** The scope's key for this request. */
  key: string | undefined;
  /** The request's method. */
  method: string;
  /** The request's priority class. */
  priority: Priority;
  /** How long it had waited, in ms. */
  queuedMs: number;
}

/** Emitted when a scope's limit changes (adaptive adjustment or `setLimit`). */
export interface LimitChangeEvent {
  /** The scope. */
  scope: string;
  /** The limit before. */
  previous: number;
  /** The limit now (per key, for a keyed scope). */
  limit: number;
  /** `adaptive`: the latency-driven algorithm moved it; `manual`: `setLimit` was called. */
  reason: 'adaptive' | 'manual';
}

/**
 * Emitted when a cancelled request's handler gave no answer within `cancelGraceMs` and
 * its slots were freed: the handler may still be running beside the requests now let in.
 * Emitted once per scope the request held a slot in.
 */
export interface GraceExpiredEvent {
  /** The scope whose slot was freed. */
  scope: string;
  /** The scope's key for this request. */
  key: string | undefined;
  /** The request's method. */
  method: string;
  /** The grace it was given, in ms. */
  graceMs: number;
}

/**
 * Observers of a concurrency limiter. Each is optional; they run synchronously, so keep
 * them cheap. A listener that throws is reported through the connection's `onerror` and
 * does not affect the request.
 */
export interface ConcurrencyListeners {
  /** A request joined a queue. */
  onQueue?: (event: QueueEvent) => void;
  /** A queued request got its slot. */
  onDequeue?: (event: DequeueEvent) => void;
  /** A request was shed. */
  onShed?: (event: ShedEvent) => void;
  /** A queued request was cancelled and left the queue. */
  onCancel?: (event: CancelEvent) => void;
  /** A scope's limit changed. */
  onLimitChange?: (event: LimitChangeEvent) => void;
  /** A cancelled request's slot was freed after `cancelGraceMs` with its handler still silent. */
  onGraceExpired?: (event: GraceExpiredEvent) => void;
}

/** Live figures of one scope, summed over its keys. */
export interface ConcurrencyScopeStats {
  /** The current limit (per key, for a keyed scope); moves when the scope is adaptive. */
  limit: number;
  /** Requests holding a slot now. */
  running: number;
  /** Requests waiting now. */
  queued: number;
  /** Requests granted a slot so far (at once or after waiting). */
  admitted: number;
  /** Requests shed so far. */
  shed: number;
  /** Queued requests cancelled so far. */
  cancelled: number;
  /**
   * Requests cancelled while their handler had them, still holding their slot (counted in
   * `running`) until the handler answers or `cancelGraceMs` passes.
   */
  lingering: number;
  /** Slots freed so far because a cancelled request's handler stayed silent for `cancelGraceMs`. */
  graceExpired: number;
  /** Keys with requests running or waiting now (1 for an unkeyed scope); at most `KEYS_MAX` + 1 (10,001): further keys share one gate. */
  keys: number;
  /** Moving average of the time requests held their slot, in ms (0 before the first). */
  serviceMs: number;
}

/** Live figures of a concurrency limiter. */
export interface ConcurrencyStats {
  /** One entry per scope, by name. */
  scopes: Record<string, ConcurrencyScopeStats>;
}

/** A scope after validation. */
export interface ScopeConfig {
  readonly name: string;
  readonly key: ((ctx: RequestContext) => string | undefined) | undefined;
  readonly limit: number;
  readonly maxQueue: number;
  readonly maxQueueWaitMs: number;
  readonly adaptive: GradientLimit | undefined;
}

/**
 * Keys one scope tracks at once (each with requests running or waiting). A key function
 * fed from the request (a tool name, a header) would otherwise let a caller make a gate
 * per request; past this, requests of further keys share one gate under
 * {@link OVERFLOW_KEY}, with the scope's limit and queue.
 */
export const KEYS_MAX = 10_000;

/** The key of the gate that requests of keys past {@link KEYS_MAX} share. */
export const OVERFLOW_KEY = '(overflow)';

/** Assumed service time before the first request of a scope finished, for `retryAfterMs`. */
const ASSUMED_SERVICE_MS = 100;
/** Weight of a new service-time sample in the moving average. */
const SERVICE_EWMA = 0.1;

/** One key's slots and queue. */
export class Gate {
  running = 0;
  readonly interactive = new WaiterList<Gate>();
  readonly background = new WaiterList<Gate>();
  timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    readonly scope: Scope,
    readonly key: string | undefined,
  ) {}

  get queued(): number {
    return this.interactive.size + this.background.size;
  }
}

/** One scope: its configuration, its gates, its counters. */
export class Scope {
  readonly name: string;
  readonly key: ((ctx: RequestContext) => string | undefined) | undefined;
  readonly maxQueue: number;
  readonly maxQueueWaitMs: number;
  readonly adaptive: GradientLimit | undefined;
  /** The limit every gate of this scope enforces. */
  limit: number;
  /** The only gate of an unkeyed scope. */
  readonly single: Gate | undefined;
  readonly gates = new Map<string, Gate>();
  running = 0;
  queued = 0;
  admitted = 0;
  shed = 0;
  cancelled = 0;
  lingering = 0;
  graceExpired = 0;
  serviceMs = 0;

  constructor(config: ScopeConfig) {
    this.name = config.name;
    this.key = config.key;
    this.limit = config.limit;
    this.maxQueue = config.maxQueue;
    this.maxQueueWaitMs = config.maxQueueWaitMs;
    this.adaptive = config.adaptive;
    this.single = config.key === undefined ? new Gate(this, undefined) : undefined;
  }

  gateFor(key: string): Gate {
    let gate = this.gates.get(key);
    if (gate === undefined) {
      if (this.gates.size >= KEYS_MAX && key !== OVERFLOW_KEY) return this.gateFor(OVERFLOW_KEY);
      gate = new Gate(this, key);
      this.gates.set(key, gate);
    }
    return gate;
  }

  stats(): ConcurrencyScopeStats {
    return {
      limit: this.limit,
      running: this.running,
      queued: this.queued,
      admitted: this.admitted,
      shed: this.shed,
      cancelled: this.cancelled,
      lingering: this.lingering,
      graceExpired: this.graceExpired,
      keys: this.single ? 1 : this.gates.size,
      serviceMs: this.serviceMs,
    };
  }
}

/** The slots of a cancelled request whose handler may still run. */
class Lingering {
  done = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  constructor(
    readonly gates: readonly Gate[],
    readonly ctx: RequestContext,
    readonly graceMs: number,
  ) {}
}

type Listeners = { [K in keyof ConcurrencyListeners]-?: NonNullable<ConcurrencyListeners[K]>[] };

/** Scopes plus the operations on them. */
export class Limiter {
  readonly scopes: Scope[];
  readonly clock: () => number;
  readonly maxRetryAfterMs: number;
  readonly listeners: Listeners = {
    onQueue: [],
    onDequeue: [],
    onShed: [],
    onCancel: [],
    onLimitChange: [],
    onGraceExpired: [],
  };
  private readonly abortWaiter = (w: Waiter<Gate>): void => this.cancelWaiter(w);
  private readonly expireGate = (gate: Gate): void => this.expire(gate);

  constructor(scopes: readonly ScopeConfig[], clock: () => number, maxRetryAfterMs: number) {
    this.scopes = scopes.map((c) => new Scope(c));
    this.clock = clock;
    this.maxRetryAfterMs = maxRetryAfterMs;
  }

  /** The gate `ctx` must pass in `scope`, or `undefined` when the scope does not apply to it. */
  gateOf(scope: Scope, ctx: RequestContext): Gate | undefined {
    if (scope.single) return scope.single;
    const key = scope.key!(ctx);
    return key === undefined ? undefined : scope.gateFor(key);
  }

  /** Takes a slot at once if one is free and nobody is waiting; allocates nothing. */
  tryAcquire(gate: Gate): boolean {
    const scope = gate.scope;
    if (gate.running >= scope.limit || gate.interactive.size !== 0 || gate.background.size !== 0)
      return false;
    gate.running++;
    scope.running++;
    scope.admitted++;
    return true;
  }

  /**
   * Queues `ctx` for a slot. Returns the error to shed it with when the queue is full
   * (no promise is made then), or a promise that resolves when the slot is granted and
   * rejects with `OverloadedError` (evicted, wait expired) or `CancelledError`.
   */
  enqueue(gate: Gate, ctx: RequestContext, priority: Priority): Promise<void> | OverloadedError {
    const scope = gate.scope;
    if (gate.queued >= scope.maxQueue) {
      const victim = priority === 'interactive' ? gate.background.tail : undefined;
      if (victim === undefined) return this.shedError(gate, ctx, priority, 'queue-full');
      this.unlink(victim);
      victim.reject(this.shedError(gate, victim.ctx, victim.priority, 'evicted'));
    }
    const now = this.clock();
    const waiter = new Waiter<Gate>(gate, ctx, priority, now, now + scope.maxQueueWaitMs, this.abortWaiter);
    const granted = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    (priority === 'interactive' ? gate.interactive : gate.background).push(waiter);
    scope.queued++;
    ctx.signal.addEventListener('abort', waiter, { once: true });
    if (gate.timer === undefined && scope.maxQueueWaitMs !== Number.POSITIVE_INFINITY) this.arm(gate, now);
    if (this.listeners.onQueue.length !== 0) {
      this.emit(this.listeners.onQueue, ctx, {
        scope: scope.name,
        key: gate.key,
        method: ctx.method,
        priority,
        queued: gate.queued,
        running: gate.running,
        limit: scope.limit,
      });
    }
    return granted;
  }

  /**
   * A request that held slots in `gates` finished after `serviceMs` (`sampled`: it got a
   * reply, so its latency says something about the handler). Releases the slots in
   * reverse order of acquisition and hands them to waiters.
   */
  finish(
    gates: readonly Gate[],
    ctx: RequestContext,
    serviceMs: number,
    sampled: boolean,
    now: number,
  ): void {
    for (let i = gates.length - 1; i >= 0; i--) {
      const gate = gates[i]!;
      const scope = gate.scope;
      if (sampled) {
        scope.serviceMs =
          scope.serviceMs === 0 ? serviceMs : scope.serviceMs + (serviceMs - scope.serviceMs) * SERVICE_EWMA;
        if (scope.adaptive?.sample(serviceMs, gate.running, now)) {
          this.changeLimit(scope, scope.adaptive!.limit, 'adaptive', ctx);
        }
      }
      gate.running--;
      scope.running--;
      this.pump(gate);
      this.forgetIfIdle(gate);
    }
  }

  /**
   * A request cancelled while its handler had it keeps its slots in `gates` until the
   * handler answers after all, or `graceMs` passes (then `onGraceExpired`). Answers
   * `false`, holding nothing, when the handler does not have the request any more (see
   * `RequestContext.whenHandlerDone`): the caller releases the slots then.
   */
  linger(gates: readonly Gate[], ctx: RequestContext, graceMs: number): boolean {
    if (gates.length === 0 || ctx.whenHandlerDone === undefined) return false;
    const held = new Lingering(gates, ctx, graceMs);
    if (!ctx.whenHandlerDone(() => this.endLingering(held, false))) return false;
    for (const gate of gates) gate.scope.lingering++;
    const timer = setTimeout(this.lingerExpired, graceMs, held);
    timer.unref?.();
    held.timer = timer;
    return true;
  }

  private readonly lingerExpired = (held: Lingering): void => this.endLingering(held, true);

  private endLingering(held: Lingering, expired: boolean): void {
    if (held.done) return;
    held.done = true;
    if (held.timer !== undefined) clearTimeout(held.timer);
    const { gates, ctx } = held;
    for (const gate of gates) {
      const scope = gate.scope;
      scope.lingering--;
      if (!expired) continue;
      scope.graceExpired++;
      if (this.listeners.onGraceExpired.length !== 0) {
        this.emit(this.listeners.onGraceExpired, ctx, {
          scope: scope.name,
          key: gate.key,
          method: ctx.method,
          graceMs: held.graceMs,
        });
      }
    }
    this.release(gates);
  }

  /** Releases slots taken before the request was refused or cancelled (no sample). */
  release(gates: readonly Gate[]): void {
    for (let i = gates.length - 1; i >= 0; i--) {
      const gate = gates[i]!;
      gate.running--;
      gate.scope.running--;
      this.pump(gate);
      this.forgetIfIdle(gate);
    }
  }

  /** Sets a scope's limit and lets waiters in if it grew. */
  changeLimit(scope: Scope, limit: number, reason: 'adaptive' | 'manual', ctx?: RequestContext): void {
    const previous = scope.limit;
    if (limit === previous) return;
    scope.limit = limit;
    if (limit > previous) {
      if (scope.single) this.pump(scope.single);
      else for (const gate of scope.gates.values()) if (gate.queued !== 0) this.pump(gate);
    }
    if (this.listeners.onLimitChange.length !== 0) {
      this.emit(this.listeners.onLimitChange, ctx, { scope: scope.name, previous, limit, reason });
    }
  }

  stats(): ConcurrencyStats {
    const scopes: Record<string, ConcurrencyScopeStats> = {};
    for (const scope of this.scopes) scopes[scope.name] = scope.stats();
    return { scopes };
  }

  /** Grants free slots to waiters, interactive first, FIFO within a class. */
  private pump(gate: Gate): void {
    const scope = gate.scope;
    while (gate.running < scope.limit) {
      const waiter = gate.interactive.head ?? gate.background.head;
      if (waiter === undefined) return;
      this.unlink(waiter);
      gate.running++;
      scope.running++;
      scope.admitted++;
      if (this.listeners.onDequeue.length !== 0) {
        this.emit(this.listeners.onDequeue, waiter.ctx, {
          scope: scope.name,
          key: gate.key,
          method: waiter.ctx.method,
          priority: waiter.priority,
          queuedMs: this.clock() - waiter.enqueuedAt,
        });
      }
      waiter.resolve();
    }
  }

  /** Takes a waiter out of its queue (O(1)) and stops listening for its cancellation. */
  private unlink(waiter: Waiter<Gate>): void {
    waiter.list!.remove(waiter);
    waiter.gate.scope.queued--;
    waiter.ctx.signal.removeEventListener('abort', waiter);
  }

  private cancelWaiter(waiter: Waiter<Gate>): void {
    if (waiter.list === undefined) return;
    const gate = waiter.gate;
    this.unlink(waiter);
    gate.scope.cancelled++;
    if (this.listeners.onCancel.length !== 0) {
      this.emit(this.listeners.onCancel, waiter.ctx, {
        scope: gate.scope.name,
        key: gate.key,
        method: waiter.ctx.method,
        priority: waiter.priority,
        queuedMs: this.clock() - waiter.enqueuedAt,
      });
    }
    waiter.reject(new CancelledError('request cancelled while queued'));
    this.forgetIfIdle(gate);
  }

  /** One timer per gate, armed for the earliest deadline among the heads of its two FIFOs. */
  private arm(gate: Gate, now: number): void {
    const a = gate.interactive.head?.deadline ?? Number.POSITIVE_INFINITY;
    const b = gate.background.head?.deadline ?? Number.POSITIVE_INFINITY;
    const deadline = Math.min(a, b);
    if (deadline === Number.POSITIVE_INFINITY) return;
    const timer = setTimeout(this.expireGate, Math.max(0, deadline - now), gate);
    timer.unref?.();
    gate.timer = timer;
  }

  private expire(gate: Gate): void {
    gate.timer = undefined;
    const now = this.clock();
    for (const list of [gate.background, gate.interactive]) {
      while (list.head !== undefined && list.head.deadline <= now) {
        const waiter = list.head;
        // Counted as queued when the error is made, so the message shows the queue it left.
        const error = this.shedError(
          gate,
          waiter.ctx,
          waiter.priority,
          'wait-expired',
          now - waiter.enqueuedAt,
        );
        this.unlink(waiter);
        waiter.reject(error);
      }
    }
    if (gate.queued !== 0) this.arm(gate, now);
    else this.forgetIfIdle(gate);
  }

  private forgetIfIdle(gate: Gate): void {
    if (gate.key === undefined || gate.running !== 0 || gate.queued !== 0) return;
    const scope = gate.scope;
    if (scope.gates.get(gate.key) === gate) scope.gates.delete(gate.key);
    if (gate.timer !== undefined) {
      clearTimeout(gate.timer);
      gate.timer = undefined;
    }
  }

  /** Builds the shed error (message and data name the limit), counts it and emits `onShed`. */
  private shedError(
    gate: Gate,
    ctx: RequestContext,
    priority: Priority,
    reason: ShedReason,
    waitedMs = 0,
  ): OverloadedError {
    const scope = gate.scope;
    const queued = gate.queued;
    const service = scope.serviceMs === 0 ? ASSUMED_SERVICE_MS : scope.serviceMs;
    const retryAfterMs = Math.min(
      this.maxRetryAfterMs,
      Math.max(1, Math.ceil((service * (queued + 1)) / scope.limit)),
    );
    const where = gate.key === undefined ? scope.name : `${scope.name} ${JSON.stringify(gate.key)}`;
    let message = `concurrency limit reached for ${where}: ${gate.running}/${scope.limit} running, ${queued}/${scope.maxQueue} queued`;
    if (reason === 'wait-expired') message += `; waited ${Math.round(waitedMs)} ms for a slot`;
    else if (reason === 'evicted') message += '; displaced from the queue by an interactive request';
    const error = new OverloadedError(message, {
      retryAfterMs,
      scope: gate.key === undefined ? scope.name : `${scope.name}:${gate.key}`,
      limit: scope.limit,
      running: gate.running,
      queued,
      maxQueue: scope.maxQueue,
    });
    scope.shed++;
    if (this.listeners.onShed.length !== 0) {
      this.emit(this.listeners.onShed, ctx, {
        scope: scope.name,
        key: gate.key,
        method: ctx.method,
        priority,
        reason,
        error,
      });
    }
    return error;
  }

  private emit<E>(listeners: ((event: E) => void)[], ctx: RequestContext | undefined, event: E): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        ctx?.connection.reportError(asError(error));
      }
    }
  }
}
