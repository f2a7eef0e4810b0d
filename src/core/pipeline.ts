import { randomUUID } from 'node:crypto';
import {
  CancelledError,
  ConnectionClosedError,
  ErrorCodes,
  isMcpPerfError,
  MalformedMessageError,
  NextCalledTwiceError,
  OverloadedError,
  toJsonRpcError,
} from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import { now } from '../internal/clock.js';
import { noop } from '../internal/noop.js';
import { MethodStacks, middlewareName, notificationHookOf } from './compose.js';
import { Context, type SendOptions } from './context.js';
import { InflightTable } from './inflight.js';
import { CACHE_HINT_METHODS, CONTROL_METHODS, malformation } from './messages.js';
import { Session } from './session.js';
import type {
  Connection,
  EarlyAnswer,
  JsonObject,
  JsonRpcMessage,
  JsonRpcNotification,
  JsonRpcRequest,
  JsonRpcResponse,
  Middleware,
  MiddlewareObject,
  NotificationContext,
  NotificationHook,
  Origin,
  OwnRequestOptions,
  Reply,
  RequestContext,
  RequestId,
  Side,
} from './types.js';

/**
 * How a pipeline reaches its two ends. The caller end is where requests come from and
 * replies go; the handler end is where requests are answered.
 */
export interface PipelineEnds {
  /**
   * Delivers a message to the caller; `extra` is what the handler end's transport gave with
   * it (client side: SDK v2 reads it), undefined for a message the pipeline made.
   */
  toCaller(message: JsonRpcMessage, options: SendOptions | undefined, extra?: unknown): void | Promise<void>;
  /** Delivers a message to the handler. */
  toHandler(message: JsonRpcMessage, extra: unknown, options: SendOptions | undefined): void | Promise<void>;
  /** The transport's live session id. */
  sessionId(): string | undefined;
  /** Reports a problem through the transport's `onerror`. */
  reportError(error: Error): void;
  /** Told when an `initialize` exchange negotiates a protocol version (a proxy forwards it). */
  protocolVersionNegotiated?(version: string): void;
}

interface OwnPending {
  resolve(reply: Reply): void;
  reject(error: unknown): void;
  onprogress: ((params: JsonObject) => void) | undefined;
  cleanup: (() => void) | undefined;
}

const OWN_ID_PREFIX = 'mcp-perf:';
/** The id of every request offered for an early answer: it never goes on the wire or into the table. */
const EARLY_ID = `${OWN_ID_PREFIX}early`;
/** Why a caller request whose id carries this pipeline's own prefix is refused. */
const FORGED_ID = "request id is reserved for this connection's own requests";
/** Why a handler request made while serving an own request is refused. */
const NO_CALLER = 'no caller is waiting for this request: it serves a request the connection made on its own';
const RECENTLY_CANCELLED_MAX = 1024;
/** Own requests one connection may have with its handler at once; more are refused. */
const OWN_IN_FLIGHT_MAX = 1024;

/**
 * One connection's middleware pipeline: the ordered stack, the correlation table of
 * requests in flight, local answers, cancellation, progress routing and the session
 * facts. Adapters (transport wrapper, proxy) feed it messages from either end.
 */
export class Pipeline implements Connection {
  readonly side: Side;
  readonly session: Session;
  closed = false;

  private readonly ends: PipelineEnds;
  private readonly layers: Middleware[] = [];
  private stacks = new MethodStacks([]);
  private direct = true;
  /** On a client, the leading request middlewares that have an `early` hook, outermost first. */
  private earlyLayers: (MiddlewareObject & { early: EarlyAnswer })[] = [];
  private callerHooks: NotificationHook[] = [];
  private handlerHooks: NotificationHook[] = [];
  private readonly detachers: (() => void)[] = [];
  private readonly inflight = new InflightTable<Context>();
  private readonly own = new Map<string, OwnPending>();
  private readonly recentlyCancelled = new Set<RequestId>();
  /**
   * `mcp-perf:<random>:`, made on the first own request: the prefix of every own request id
   * (and progress token). A caller never sees it, so no caller id can collide with an own
   * one, and an answer or progress under it is never passed to the caller.
   */
  private ownPrefix: string | undefined = undefined;
  /** Requests cancelled while with the handler, until its answer arrives (bounded, oldest dropped). */
  private readonly lingering = new Map<RequestId, Context>();
  private ownSeq = 0;
  /** Dispatched requests (see {@link Pipeline.dispatch}) not answered yet. */
  private dispatched = 0;
  private readonly innermost = (ctx: RequestContext): Promise<Reply> => this.forward(ctx as Context);

  constructor(side: Side, ends: PipelineEnds, layers: readonly Middleware[] = []) {
    this.side = side;
    this.ends = ends;
    this.session = new Session(ends.sessionId);
    this.add(layers);
  }

  /** The middlewares, outermost first. */
  get stack(): readonly Middleware[] {
    return this.layers;
  }

  /** Adds layers inside the existing ones (they run after them). */
  add(layers: readonly Middleware[]): void {
    if (layers.length === 0) return;
    for (const layer of layers) {
      this.layers.push(layer);
      if (typeof layer !== 'function' && layer.attach) {
        const detach = layer.attach(this);
        if (detach) this.detachers.push(detach);
      }
    }
    this.stacks = new MethodStacks(this.layers);
    this.direct = this.layers.every((m) => typeof m !== 'function' && m.request === undefined);
    this.earlyLayers = this.side === 'client' ? leadingEarlyLayers(this.layers) : [];
    const hooks = this.layers.map(notificationHookOf).filter((h): h is NotificationHook => h !== undefined);
    this.callerHooks = hooks;
    this.handlerHooks = hooks.slice().reverse();
  }

  /** True when the leading request middlewares can answer before a request is sent. */
  get answersEarly(): boolean {
    return this.earlyLayers.length !== 0 && !this.closed;
  }

  /**
   * Client side: offers a request the SDK client is about to send to the `early` hooks of
   * the leading request middlewares (see {@link EarlyAnswer}), and answers their result, or
   * `undefined` when the request must take its ordinary way. The handshake and control
   * methods are never answered early. A hook that throws, or calls `next()` twice, is
   * reported and the request takes its ordinary way.
   */
  answerEarly(method: string, params: JsonObject | undefined): JsonObject | undefined {
    if (this.earlyLayers.length === 0 || this.closed || CONTROL_METHODS.has(method)) return undefined;
    const message: JsonRpcRequest =
      params === undefined
        ? { jsonrpc: '2.0', id: EARLY_ID, method }
        : { jsonrpc: '2.0', id: EARLY_ID, method, params };
    try {
      return this.earlyFrom(0, new Context(this, message, undefined, undefined, now()));
    } catch (error) {
      this.reportError(new Error(`an early answer to ${method} failed: ${asError(error).message}`));
      return undefined;
    }
  }

  /** Runs the early hook of layer `i` (and, through its `next`, those inside it). */
  private earlyFrom(i: number, ctx: Context): JsonObject | undefined {
    const layer = this.earlyLayers[i];
    if (layer === undefined) return undefined;
    let called = false;
    return layer.early(ctx, () => {
      if (called) throw new NextCalledTwiceError(layer.name);
      called = true;
      return this.earlyFrom(i + 1, ctx);
    });
  }

  // ---- messages from the caller end ----

  /**
   * A message from the caller: a request, a notification or a response to a
   * handler-initiated request. Where the message passes straight through, the handler
   * end's own promise is returned (it may reject): the adapter hands it back to whoever
   * sent the message, exactly as the unwrapped transport would have.
   */
  fromCaller(message: JsonRpcMessage, extra?: unknown, options?: SendOptions): void | Promise<void> {
    if (typeof message !== 'object' || message === null) return this.malformed(message);
    if ('method' in message) {
      if ('id' in message) return this.handleRequest(message, extra, options);
      if (message.method === 'notifications/cancelled') this.cancelFromCaller(message);
      return this.passNotification(message, 'caller', extra, options);
    }
    if ('id' in message && ('result' in message || 'error' in message)) {
      return this.ends.toHandler(message, extra, options);
    }
    this.malformed(message);
  }

  /**
   * A message from the handler: a response, a notification or a handler-initiated
   * request. Pass-through paths return the caller end's promise, as {@link fromCaller}.
   */
  fromHandler(message: JsonRpcMessage, extra?: unknown, options?: SendOptions): void | Promise<void> {
    if (typeof message !== 'object' || message === null) return this.malformed(message);
    if ('method' in message) {
      if (this.isOwn(options?.relatedRequestId)) {
        return this.fromHandlerForOwn(message, extra, options);
      }
      if (this.dispatched !== 0 && options?.relatedRequestId !== undefined) {
        options = this.relateToCarrier(options);
      }
      if ('id' in message) return this.ends.toCaller(message, options, extra);
      if (
        message.method === 'notifications/progress' &&
        this.ownPrefix !== undefined &&
        options?.relatedRequestId === undefined &&
        this.routeOwnProgress(message)
      )
        return;
      return this.passNotification(message, 'handler', extra, options);
    }
    if ('id' in message && ('result' in message || 'error' in message)) {
      const id = message.id;
      if (typeof id === 'string' && this.isOwn(id)) return this.settleOwn(id, message);
      const ctx = this.inflight.get(id);
      if (ctx?.upstream) return this.settle(ctx, message, extra, options);
      if (this.lingering.size !== 0) this.handlerAnsweredLate(id);
      if (this.recentlyCancelled.size !== 0 && this.recentlyCancelled.delete(id)) return;
      return this.ends.toCaller(message, options, extra);
    }
    this.malformed(message);
  }

  /** The transport closed: every request in flight is abandoned, and nothing more is sent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const closedError = new ConnectionClosedError();
    for (const ctx of this.inflight.values()) {
      ctx.cancel('connection closed');
      this.failUpstream(ctx, closedError);
    }
    this.inflight.clear();
    // Handlers of cancelled requests may still run; whoever waits on them bounds the wait.
    this.lingering.clear();
    for (const pending of this.own.values()) {
      pending.cleanup?.();
      pending.reject(closedError);
    }
    this.own.clear();
    for (const detach of this.detachers.splice(0)) {
      try {
        detach();
      } catch (error) {
        this.reportError(asError(error));
      }
    }
  }

  // ---- Connection, for middleware ----

  request(method: string, params: JsonObject | undefined, options?: OwnRequestOptions): Promise<Reply> {
    if (this.closed) return Promise.reject(new ConnectionClosedError());
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new CancelledError('request aborted before it was sent'));
    if (this.own.size >= OWN_IN_FLIGHT_MAX) {
      return Promise.reject(
        new OverloadedError(
          `own requests in flight on this connection: ${this.own.size}/${OWN_IN_FLIGHT_MAX}`,
          {
            retryAfterMs: 0,
            scope: 'connection:own-requests',
            limit: OWN_IN_FLIGHT_MAX,
            running: this.own.size,
          },
        ),
      );
    }
    if (this.ownPrefix === undefined) this.ownPrefix = `${OWN_ID_PREFIX}${randomUUID()}:`;
    const id = `${this.ownPrefix}${++this.ownSeq}`;
    const onprogress = options?.onprogress;
    const meta = params?._meta as JsonObject | undefined;
    let sent = params;
    if (onprogress) sent = { ...params, _meta: { ...meta, progressToken: id } };
    else if (meta?.progressToken !== undefined) {
      const { progressToken: _dropped, ...rest } = meta;
      sent = { ...params, _meta: rest };
    }
    const message: JsonRpcRequest =
      sent === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params: sent };
    return new Promise<Reply>((resolve, reject) => {
      const pending: OwnPending = { resolve, reject, onprogress, cleanup: undefined };
      if (signal) {
        const onAbort = () => {
          if (this.own.get(id) !== pending) return;
          // Its late answer and progress carry the own prefix and are dropped on that
          // alone: the id need not be remembered.
          this.own.delete(id);
          this.sendToHandler(
            {
              jsonrpc: '2.0',
              method: 'notifications/cancelled',
              params: { requestId: id, reason: 'cancelled' },
            },
            options?.extra,
            undefined,
          );
          reject(new CancelledError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        pending.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.own.set(id, pending);
      const sending = this.ends.toHandler(message, options?.extra, undefined);
      if (sending) {
        sending.then(undefined, (error: unknown) => {
          if (this.own.get(id) !== pending) return;
          this.own.delete(id);
          pending.cleanup?.();
          reject(error);
        });
      }
    });
  }

  notify(notification: JsonRpcNotification, to: Origin, options?: { throughStack?: boolean }): void {
    if (this.closed) return;
    if (options?.throughStack) {
      try {
        const sending = this.passNotification(
          notification,
          to === 'caller' ? 'handler' : 'caller',
          undefined,
          undefined,
        );
        if (sending)
          sending.then(undefined, (error: unknown) => this.reportSendFailure(to, notification, error));
      } catch (error) {
        this.reportSendFailure(to, notification, error);
      }
      return;
    }
    if (to === 'caller') this.sendToCaller(notification, undefined);
    else this.sendToHandler(notification, undefined, undefined);
  }

  /**
   * How many times `restack()` was called: the stacks per method composed before the
   * last call are composed again (see `MethodStacks`).
   * @internal
   */
  restacks = 0;

  restack(): void {
    this.restacks++;
  }

  reportError(error: Error): void {
    try {
      this.ends.reportError(error);
    } catch {
      // An onerror handler that throws must not take the pipeline down with it.
    }
  }

  /** @internal */
  sendProgress(ctx: Context, params: { progress: number; total?: number; message?: string }): void {
    const notification: JsonRpcNotification = {
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { ...params, progressToken: ctx.progressToken },
    };
    this.sendToCaller(notification, this.side === 'client' ? undefined : { relatedRequestId: ctx.id });
  }

  dispatch(
    request: JsonRpcRequest,
    extra: unknown,
    carrier: RequestId,
    answer: (response: JsonRpcResponse | undefined) => void,
  ): void {
    if (this.closed) return answer(undefined);
    const id = request?.id;
    const wrong =
      typeof request !== 'object' || request === null || !('id' in request)
        ? 'not a request'
        : malformation(request);
    const refuse = (message: string) =>
      answer({
        jsonrpc: '2.0',
        id: typeof id === 'string' || typeof id === 'number' ? id : (null as unknown as RequestId),
        error: { code: ErrorCodes.InvalidRequest, message },
      });
    if (wrong !== undefined) return refuse(`invalid request: ${wrong}`);
    if (this.isOwn(id)) return refuse(FORGED_ID);
    if (CONTROL_METHODS.has(request.method)) return refuse(`${request.method} cannot travel inside a batch`);
    if (this.inflight.get(id) !== undefined)
      return refuse(`request id ${JSON.stringify(id)} is already in flight`);
    this.session.learnFromRequest(request.method, request.params);
    const ctx = new Context(this, request, extra, undefined, now());
    ctx.carrier = carrier;
    ctx.answer = (response) => {
      this.dispatched--;
      answer(response);
    };
    this.dispatched++;
    this.inflight.add(ctx);
    this.execute(ctx);
  }

  /** Send options whose related request, if dispatched, is replaced by the request that carried it. */
  private relateToCarrier(options: SendOptions): SendOptions {
    const carrier = this.inflight.get(options.relatedRequestId as RequestId)?.carrier;
    return carrier === undefined ? options : { ...options, relatedRequestId: carrier };
  }

  // ---- requests ----

  private handleRequest(
    message: JsonRpcRequest,
    extra: unknown,
    options: SendOptions | undefined,
  ): void | Promise<void> {
    if (this.closed) return;
    const id = message.id;
    const params = message.params;
    if (
      typeof message.method !== 'string' ||
      (typeof id !== 'string' && typeof id !== 'number') ||
      (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params)))
    ) {
      // Answered here: the SDK drops a request it cannot parse without a word, and the
      // caller would wait for ever.
      return this.malformed(message);
    }
    if (typeof id === 'string' && this.isOwn(id)) {
      return this.sendToCaller(
        { jsonrpc: '2.0', id, error: { code: ErrorCodes.InvalidRequest, message: FORGED_ID } },
        this.replyOptions(id),
      );
    }
    this.session.learnFromRequest(message.method, message.params);
    if (this.direct) {
      // No request middleware: the request goes straight on, and only the handshake is
      // tracked (to learn from its answer). This path costs what an unwrapped transport costs.
      if (CONTROL_METHODS.has(message.method)) {
        const ctx = new Context(this, message, extra, options, 0);
        ctx.direct = true;
        ctx.upstream = true;
        this.inflight.add(ctx);
      }
      return this.ends.toHandler(message, extra, options);
    }
    if (this.inflight.get(id) !== undefined) {
      return this.sendToCaller(
        {
          jsonrpc: '2.0',
          id,
          error: {
            code: ErrorCodes.InvalidRequest,
            message: `request id ${JSON.stringify(id)} is already in flight`,
          },
        },
        this.replyOptions(id),
      );
    }
    const ctx = new Context(this, message, extra, options, now());
    this.inflight.add(ctx);
    const requestSignal = options?.requestSignal;
    if (requestSignal) this.linkRequestSignal(ctx, requestSignal);
    this.execute(ctx);
  }

  /** Runs the stack for one request and answers the caller. Never rejects. */
  private execute(ctx: Context): void {
    // Not an async function: one reaction on the stack's promise allocates a fraction of
    // what an async function's frame and await do, on every request.
    let replied: Promise<Reply>;
    try {
      replied = this.stacks.for(ctx.method, this)(ctx, this.innermost);
    } catch (error) {
      return this.fail(ctx, error);
    }
    // Every layer returned the handler's own promise (or there is none): the handler's
    // answer is the stack's, delivered when it arrives (see settle), with no reaction here.
    if (replied === ctx.forwarded && ctx.upstream) {
      ctx.deliverOnSettle = true;
      return;
    }
    replied.then(
      (reply) => this.deliver(ctx, reply),
      (error: unknown) => this.fail(ctx, error),
    );
  }

  /** The innermost `next()`: hands the request to the handler and waits for its answer. */
  private forward(ctx: Context): Promise<Reply> {
    if (ctx.cancelled) return Promise.reject(new CancelledError());
    if (this.closed) return Promise.reject(new ConnectionClosedError());
    const forwarded = new Promise<JsonRpcResponse>((resolve, reject) => {
      ctx.resolveUpstream = resolve;
      ctx.rejectUpstream = reject;
      ctx.upstream = true;
      const message =
        ctx.params === ctx.message.params
          ? ctx.message
          : ctx.params === undefined
            ? { jsonrpc: '2.0' as const, id: ctx.id, method: ctx.method }
            : { jsonrpc: '2.0' as const, id: ctx.id, method: ctx.method, params: ctx.params };
      this.sendRequest(ctx, message);
    });
    ctx.forwarded = forwarded;
    return forwarded;
  }

  private sendRequest(ctx: Context, message: JsonRpcRequest): void {
    let sending: void | Promise<void>;
    try {
      sending = this.ends.toHandler(message, ctx.extra, ctx.sendOptions);
    } catch (error) {
      return this.handlerUnreachable(ctx, error);
    }
    if (sending) sending.then(undefined, (error: unknown) => this.handlerUnreachable(ctx, error));
  }

  /** Sending to the handler failed: the caller gets an error instead of waiting forever. */
  private handlerUnreachable(ctx: Context, error: unknown): void {
    if (!ctx.upstream) return;
    ctx.upstream = false;
    this.failUpstream(
      ctx,
      new Error(`could not deliver ${ctx.method} to the handler: ${asError(error).message}`),
    );
  }

  /** The handler answered a request that is with it. */
  private settle(
    ctx: Context,
    response: JsonRpcResponse,
    extra: unknown,
    options: SendOptions | undefined,
  ): void | Promise<void> {
    ctx.upstream = false;
    if (ctx.direct) {
      this.inflight.remove(ctx);
      this.learnFromReply(ctx.method, response);
      return this.ends.toCaller(response, options, extra);
    }
    ctx.handlerReply = response;
    ctx.handlerOptions = options;
    ctx.handlerExtra = extra;
    ctx.resolveUpstream?.(response);
    if (ctx.deliverOnSettle) this.deliver(ctx, response);
  }

  /**
   * The request cannot get the handler's answer: rejects what `next()` gave the stack. When
   * the stack's answer is that promise, fails the request itself, on the next microtask
   * as a reaction would (a close cancels every request before any of them frees its slot);
   * nothing else may be listening to the promise then, so its rejection is marked handled.
   */
  private failUpstream(ctx: Context, error: unknown): void {
    const reject = ctx.rejectUpstream;
    if (reject === undefined) return;
    if (!ctx.deliverOnSettle) return reject(error);
    ctx.forwarded?.catch(noop);
    reject(error);
    queueMicrotask(() => this.fail(ctx, error));
  }

  /** The stack resolved: send its reply to the caller under the caller's id. */
  private deliver(ctx: Context, reply: Reply): void {
    this.inflight.remove(ctx);
    this.runSettled(ctx, reply, undefined);
    if (ctx.cancelled || this.closed) return ctx.answer?.(undefined);
    if (
      typeof reply !== 'object' ||
      reply === null ||
      (reply.result === undefined && reply.error === undefined)
    ) {
      return this.fail(ctx, new Error(`a middleware resolved ${ctx.method} with no result and no error`));
    }
    if (ctx.control) this.learnFromReply(ctx.method, reply);
    if (ctx.answer !== undefined) return ctx.answer(this.envelope(ctx, reply));
    if (reply === ctx.handlerReply) {
      return this.sendToCaller(ctx.handlerReply, ctx.handlerOptions, ctx.handlerExtra);
    }
    this.sendToCaller(this.envelope(ctx, reply), this.replyOptions(ctx.id));
  }

  /** The stack rejected: answer with an error, unless the request was cancelled. */
  private fail(ctx: Context, error: unknown): void {
    this.inflight.remove(ctx);
    this.runSettled(ctx, undefined, error);
    if (ctx.cancelled || this.closed) return ctx.answer?.(undefined);
    if (!isMcpPerfError(error)) this.reportError(asError(error));
    const response: JsonRpcResponse = { jsonrpc: '2.0', id: ctx.id, error: toJsonRpcError(error) };
    if (ctx.answer !== undefined) return ctx.answer(response);
    this.sendToCaller(response, this.replyOptions(ctx.id));
  }

  /** Runs the layers' completion hooks of `ctx` (see `Context.onSettled`); reports a hook that throws. */
  private runSettled(ctx: Context, reply: Reply | undefined, error: unknown): void {
    const failure = ctx.settled(reply, error);
    if (failure !== undefined)
      this.reportError(new Error(`a completion hook of ${ctx.method} failed: ${asError(failure).message}`));
  }

  /** A reply the library made: addressed to the caller and valid for the connection's era. */
  private envelope(ctx: Context, reply: Reply): JsonRpcResponse {
    if (reply.error !== undefined) return { jsonrpc: '2.0', id: ctx.id, error: reply.error };
    let result = reply.result;
    if (this.session.era === 'modern') result = completeModernResult(ctx.method, result);
    return { jsonrpc: '2.0', id: ctx.id, result };
  }

  private replyOptions(id: RequestId): SendOptions | undefined {
    return this.side === 'client' ? undefined : { relatedRequestId: id };
  }

  private learnFromReply(method: string, reply: Reply): void {
    this.session.learnFromReply(method, reply);
    const version = this.session.protocolVersion;
    if (method === 'initialize' && version !== undefined && this.ends.protocolVersionNegotiated) {
      this.ends.protocolVersionNegotiated(version);
    }
  }

  // ---- cancellation ----

  private cancelFromCaller(notification: JsonRpcNotification): void {
    const params = notification.params;
    const id = params?.requestId as RequestId | undefined;
    if (id === undefined) return;
    const ctx = this.inflight.get(id);
    if (ctx === undefined) return;
    const reason = typeof params?.reason === 'string' ? params.reason : 'cancelled by the caller';
    this.cancel(ctx, reason);
  }

  /** Cancels a request in flight. The caller's notification, if any, still travels on (see passNotification). */
  private cancel(ctx: Context, reason: string): void {
    this.inflight.remove(ctx);
    ctx.cancel(reason);
    if (ctx.upstream) {
      ctx.upstream = false;
      this.rememberCancelled(ctx.id);
      this.rememberLingering(ctx);
      this.failUpstream(ctx, new CancelledError(reason));
    }
  }

  private linkRequestSignal(ctx: Context, signal: AbortSignal): void {
    const onAbort = () => {
      if (this.inflight.get(ctx.id) === ctx) this.cancel(ctx, 'request signal aborted');
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  private rememberLingering(ctx: Context): void {
    ctx.lingering = true;
    this.lingering.set(ctx.id, ctx);
    if (this.lingering.size > RECENTLY_CANCELLED_MAX) {
      const oldest = this.lingering.keys().next().value;
      if (oldest !== undefined) this.lingering.delete(oldest);
    }
  }

  /** The handler answered a request cancelled while it had it: whoever waited on that is told. */
  private handlerAnsweredLate(id: RequestId): void {
    const ctx = this.lingering.get(id);
    if (ctx === undefined) return;
    this.lingering.delete(id);
    const failure = ctx.handlerDone();
    if (failure !== undefined) this.reportError(asError(failure));
  }

  private rememberCancelled(id: RequestId): void {
    this.recentlyCancelled.add(id);
    if (this.recentlyCancelled.size > RECENTLY_CANCELLED_MAX) {
      const oldest = this.recentlyCancelled.values().next().value;
      if (oldest !== undefined) this.recentlyCancelled.delete(oldest);
    }
  }

  // ---- notifications ----

  private passNotification(
    message: JsonRpcNotification,
    from: Origin,
    extra: unknown,
    options: SendOptions | undefined,
  ): void | Promise<void> {
    const hooks = from === 'caller' ? this.callerHooks : this.handlerHooks;
    let out: JsonRpcNotification = message;
    if (hooks.length !== 0) {
      const nctx: { message: JsonRpcNotification; from: Origin; connection: Pipeline; extra: unknown } = {
        message,
        from,
        connection: this,
        extra,
      };
      for (const hook of hooks) {
        let replaced: JsonRpcNotification | null | undefined;
        try {
          replaced = hook(nctx as NotificationContext);
        } catch (error) {
          this.reportError(new Error(`notification hook failed on ${out.method}: ${asError(error).message}`));
          continue;
        }
        if (replaced === null) return;
        if (replaced !== undefined) nctx.message = out = replaced;
      }
    }
    if (message.method === 'notifications/cancelled' && from === 'caller' && !this.direct) {
      // Forward a cancellation only to a handler that has the request (or already
      // answered it), not for one a middleware answered or held.
      const id = message.params?.requestId as RequestId | undefined;
      if (id === undefined || !this.recentlyCancelled.has(id)) return;
    }
    return from === 'caller'
      ? this.ends.toHandler(out, extra, options)
      : this.ends.toCaller(out, options, extra);
  }

  /** True for an id (or token) under this pipeline's own prefix. */
  private isOwn(id: unknown): id is string {
    return typeof id === 'string' && this.ownPrefix !== undefined && id.startsWith(this.ownPrefix);
  }

  /** Progress under an own token goes to its own request, or nowhere (it finished); never to the caller. */
  private routeOwnProgress(message: JsonRpcNotification): boolean {
    const token = message.params?.progressToken;
    if (!this.isOwn(token)) return false;
    const pending = this.own.get(token);
    if (pending?.onprogress) {
      try {
        pending.onprogress(message.params as JsonObject);
      } catch (error) {
        this.reportError(asError(error));
      }
    }
    return true;
  }

  /** An answer under an own id: settles its request, or is dropped (cancelled, or never asked). */
  private settleOwn(id: string, response: JsonRpcResponse): void {
    const pending = this.own.get(id);
    if (pending === undefined) return;
    this.own.delete(id);
    pending.cleanup?.();
    pending.resolve(response);
  }

  /**
   * A message the handler sends while serving an own request (its send options relate it
   * to the own id, which no caller stream knows: a Streamable HTTP server transport throws
   * for it). Progress goes to the own request; a log message belongs to that request alone
   * and is dropped; a request (sampling, elicitation …) cannot reach a caller and is
   * answered with an error; any other notification (a list change, a resource update)
   * still concerns the caller and goes on unrelated, through the notification hooks.
   */
  private fromHandlerForOwn(
    message: JsonRpcNotification | JsonRpcRequest,
    extra: unknown,
    options: SendOptions | undefined,
  ): void | Promise<void> {
    if ('id' in message) {
      return this.sendToHandler(
        { jsonrpc: '2.0', id: message.id, error: { code: ErrorCodes.InvalidRequest, message: NO_CALLER } },
        undefined,
        undefined,
      );
    }
    if (message.method === 'notifications/progress') {
      this.routeOwnProgress(message);
      return;
    }
    if (message.method === 'notifications/message') return;
    const { relatedRequestId: _own, ...rest } = options as SendOptions;
    return this.passNotification(message, 'handler', extra, rest);
  }

  // ---- the ends ----

  private sendToCaller(message: JsonRpcMessage, options: SendOptions | undefined, extra?: unknown): void {
    try {
      const sending = this.ends.toCaller(message, options, extra);
      if (sending) sending.then(undefined, this.callerSendFailed);
    } catch (error) {
      this.reportSendFailure('caller', message, error);
    }
  }

  private readonly callerSendFailed = (error: unknown): void => {
    this.reportError(new Error(`could not deliver a message to the caller: ${asError(error).message}`));
  };

  private sendToHandler(message: JsonRpcMessage, extra: unknown, options: SendOptions | undefined): void {
    try {
      const sending = this.ends.toHandler(message, extra, options);
      if (sending)
        sending.then(undefined, (error: unknown) => this.reportSendFailure('handler', message, error));
    } catch (error) {
      this.reportSendFailure('handler', message, error);
    }
  }

  private reportSendFailure(to: Origin, message: JsonRpcMessage, error: unknown): void {
    const what = 'method' in message ? message.method : `response ${JSON.stringify(message.id)}`;
    this.reportError(new Error(`could not deliver ${what} to the ${to}: ${asError(error).message}`));
  }

  private malformed(message: unknown): void {
    const detail = malformation(message) ?? 'invalid message';
    this.reportError(new MalformedMessageError(detail));
    const m = message as { id?: unknown } | null;
    if (typeof m === 'object' && m !== null && (typeof m.id === 'string' || typeof m.id === 'number')) {
      this.sendToCaller(
        {
          jsonrpc: '2.0',
          id: m.id,
          error: { code: ErrorCodes.InvalidRequest, message: `invalid request: ${detail}` },
        },
        this.replyOptions(m.id),
      );
    }
  }

  /** The names of the middlewares, outermost first (for diagnostics). */
  describe(): string[] {
    return this.layers.map(middlewareName);
  }
}

const PASSES_THROUGH = Symbol('mcp-perf.early-passes-through');

/**
 * Marks an early hook that never answers by itself, only calls `next()` and watches what
 * comes back (metrics). A chain that ends in such hooks cannot answer, so the pipeline
 * drops them from its end, and a chain of nothing else is not run at all. Returns `hook`.
 */
export function passesThrough(hook: EarlyAnswer): EarlyAnswer {
  (hook as EarlyAnswer & { [PASSES_THROUGH]?: true })[PASSES_THROUGH] = true;
  return hook;
}

/**
 * The request middlewares at the front of `layers` that have an `early` hook, up to the
 * first request middleware without one (notification-only layers are passed over), less
 * those at the end that only pass through.
 */
function leadingEarlyLayers(layers: readonly Middleware[]): (MiddlewareObject & { early: EarlyAnswer })[] {
  const out: (MiddlewareObject & { early: EarlyAnswer })[] = [];
  for (const layer of layers) {
    if (typeof layer === 'function') break;
    if (layer.request === undefined) continue;
    if (typeof layer.early !== 'function') break;
    out.push(layer as MiddlewareObject & { early: EarlyAnswer });
  }
  while (out.length !== 0 && (out[out.length - 1]!.early as { [PASSES_THROUGH]?: true })[PASSES_THROUGH]) {
    out.pop();
  }
  return out;
}

/**
 * Makes a result the library synthesized valid for a modern (2026-07-28+) connection:
 * `resultType` defaults to `complete`, and methods with cache hints get `ttlMs: 0` and
 * `cacheScope: 'private'` when missing (the safest reading of "no hint").
 */
export function completeModernResult(method: string, result: JsonObject): JsonObject {
  const needsHints =
    CACHE_HINT_METHODS.has(method) && (result.ttlMs === undefined || result.cacheScope === undefined);
  if (result.resultType !== undefined && !needsHints) return result;
  const out: JsonObject = { ...result };
  if (out.resultType === undefined) out.resultType = 'complete';
  if (needsHints) {
    if (out.ttlMs === undefined) out.ttlMs = 0;
    if (out.cacheScope === undefined) out.cacheScope = 'private';
  }
  return out;
}
