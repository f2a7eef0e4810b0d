import { CancelledError } from '../errors/index.js';
import { keepShape } from '../internal/shape.js';
import { CONTROL_METHODS } from './messages.js';
import type {
  AuthInfo,
  Connection,
  JsonObject,
  JsonRpcRequest,
  JsonRpcResponse,
  Next,
  Reply,
  RequestContext,
  RequestId,
  SessionInfo,
  Side,
} from './types.js';

/** Send options as the SDK's transports take them; passed through untouched. */
export interface SendOptions {
  /** The request a message belongs to (server side: routes it to that request's HTTP stream). */
  relatedRequestId?: RequestId;
  /** The per-request abort signal of SDK v2's modern HTTP client. */
  requestSignal?: AbortSignal;
  /** Anything else the SDK passes (resumption tokens, headers …), untouched. */
  [key: string]: unknown;
}

/**
 * A layer's completion hook (see {@link Context.onSettled}): the reply the stack resolved
 * with, or `undefined` and the error it rejected with.
 */
export type SettleHook = (ctx: Context, reply: Reply | undefined, error: unknown) => void;

/**
 * The promise-path twin of {@link Context.onSettled}, for a layer a hook cannot serve (a
 * context no pipeline runs, an injected clock): calls `next` (a synchronous throw becomes
 * a rejection), tells `settled` how the rest of the stack ended (the reply, or `undefined`
 * and the error), then passes the outcome on unchanged.
 * @internal
 */
export function observeNext(
  next: Next,
  settled: (reply: Reply | undefined, error: unknown) => void,
): Promise<Reply> {
  let replied: Promise<Reply>;
  try {
    replied = next();
  } catch (error) {
    replied = Promise.reject(error);
  }
  return replied.then(
    (reply) => {
      settled(reply, undefined);
      return reply;
    },
    (error: unknown) => {
      settled(undefined, error);
      throw error;
    },
  );
}

/** The pipeline operations a context needs. */
export interface ContextHost extends Connection {
  /** Sends a progress notification for `ctx` to the caller. */
  sendProgress(ctx: Context, params: { progress: number; total?: number; message?: string }): void;
}

/**
 * One request's context. Allocation per request is this object (plus, on demand, an
 * AbortController and the state bag).
 */
export class Context implements RequestContext {
  readonly id: RequestId;
  readonly method: string;
  params: JsonObject | undefined;
  readonly message: JsonRpcRequest;
  readonly connection: ContextHost;
  readonly extra: unknown;
  readonly control: boolean;
  readonly startedAt: number;
  /** Send options the caller gave (client side), forwarded with the request. */
  readonly sendOptions: SendOptions | undefined;

  /** Set while the request is with the handler. */
  resolveUpstream: ((reply: JsonRpcResponse) => void) | undefined = undefined;
  /** Set while the request is with the handler. */
  rejectUpstream: ((error: unknown) => void) | undefined = undefined;
  /** True between sending to the handler and its answer. */
  upstream = false;
  /** The promise the innermost `next()` gave the stack, while the request is with the handler. */
  forwarded: Promise<JsonRpcResponse> | undefined = undefined;
  /** The stack answers with {@link Context.forwarded} as it is: the pipeline delivers the handler's answer itself. */
  deliverOnSettle = false;
  /** True when the stack is empty and the request goes straight to the handler. */
  direct = false;
  /** The handler's response, when there was one. */
  handlerReply: JsonRpcResponse | undefined = undefined;
  /** Send options the handler gave with its response. */
  handlerOptions: SendOptions | undefined = undefined;
  /** The transport `extra` that came with the handler's response. */
  handlerExtra: unknown = undefined;
  /**
   * Set for a request that arrived inside another one (see `Connection.dispatch`): its
   * answer goes here instead of to the caller, `undefined` when it was cancelled.
   * @internal
   */
  answer: ((response: JsonRpcResponse | undefined) => void) | undefined = undefined;
  /**
   * The id of the request that carried this one, for a dispatched request: what the
   * handler's notifications about it are related to on the way out.
   * @internal
   */
  carrier: RequestId | undefined = undefined;

  /**
   * True from a cancel that found the request with the handler until the handler's
   * answer arrives (see {@link Context.whenHandlerDone}).
   * @internal
   */
  lingering = false;
  private doneListeners: (() => void)[] | undefined = undefined;
  private isCancelled = false;
  private controller: AbortController | undefined = undefined;
  private bag: Record<string, unknown> | undefined = undefined;
  private settleFirst: SettleHook | undefined = undefined;
  private settleMore: SettleHook[] | undefined = undefined;

  constructor(
    connection: ContextHost,
    message: JsonRpcRequest,
    extra: unknown,
    sendOptions: SendOptions | undefined,
    now: number,
  ) {
    this.connection = connection;
    this.message = message;
    this.id = message.id;
    this.method = message.method;
    this.params = message.params;
    this.extra = extra;
    this.sendOptions = sendOptions;
    this.control = CONTROL_METHODS.has(message.method);
    this.startedAt = now;
  }

  get side(): Side {
    return this.connection.side;
  }

  get session(): SessionInfo {
    return this.connection.session;
  }

  get authInfo(): AuthInfo | undefined {
    const extra = this.extra as { authInfo?: AuthInfo } | undefined;
    return extra?.authInfo;
  }

  get progressToken(): string | number | undefined {
    const meta = this.message.params?._meta as { progressToken?: string | number } | undefined;
    return meta?.progressToken;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.isCancelled) this.controller.abort(new CancelledError());
    }
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.isCancelled;
  }

  get state(): Record<string, unknown> {
    if (this.bag === undefined) this.bag = {};
    return this.bag;
  }

  /**
   * The state bag if a middleware has created it, else `undefined`: for readers on every
   * request (metrics) that would otherwise allocate an empty bag to find nothing in it.
   * @internal
   */
  stateIfCreated(): Record<string, unknown> | undefined {
    return this.bag;
  }

  progress(params: { progress: number; total?: number; message?: string }): void {
    if (this.progressToken !== undefined && !this.isCancelled) this.connection.sendProgress(this, params);
  }

  /** See {@link RequestContext.whenHandlerDone}. */
  whenHandlerDone(listener: () => void): boolean {
    if (!this.lingering) return false;
    if (this.doneListeners === undefined) this.doneListeners = [];
    this.doneListeners.push(listener);
    return true;
  }

  /**
   * The handler answered a request after it was cancelled: tells the listeners once.
   * Answers the first error a listener threw.
   * @internal
   */
  handlerDone(): unknown {
    this.lingering = false;
    const listeners = this.doneListeners;
    this.doneListeners = undefined;
    let failure: unknown;
    if (listeners !== undefined) {
      for (const listener of listeners) {
        try {
          listener();
        } catch (error) {
          failure ??= error;
        }
      }
    }
    return failure;
  }

  /**
   * Calls `hook` once when the stack's answer to this request leaves it (the pipeline
   * delivers a reply or an error), after every layer is done with it; hooks run last
   * registered first, so an inner layer's runs before an outer one's. For a layer that
   * only needs to know when a request ends (metrics, a concurrency slot): returning
   * `next()`'s promise as it is and registering a hook made once per layer costs no
   * promise reaction and no closure per request. Only contexts a pipeline runs have it.
   * @internal
   */
  onSettled(hook: SettleHook): void {
    if (this.settleFirst === undefined) this.settleFirst = hook;
    else if (this.settleMore === undefined) this.settleMore = [hook];
    else this.settleMore.push(hook);
  }

  /**
   * Runs the hooks of {@link Context.onSettled} once. Answers the first error a hook threw.
   * @internal
   */
  settled(reply: Reply | undefined, error: unknown): unknown {
    const first = this.settleFirst;
    if (first === undefined) return undefined;
    this.settleFirst = undefined;
    const more = this.settleMore;
    this.settleMore = undefined;
    let failure: unknown;
    if (more !== undefined) {
      for (let i = more.length - 1; i >= 0; i--) {
        try {
          more[i]!(this, reply, error);
        } catch (e) {
          failure ??= e;
        }
      }
    }
    try {
      first(this, reply, error);
    } catch (e) {
      failure ??= e;
    }
    return failure;
  }

  /** Marks the request cancelled and fires its signal. */
  cancel(reason: string): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    this.controller?.abort(new CancelledError(reason));
  }
}

// One context for the life of the process, so that the class's hidden class outlives idle
// moments (see keepShape). Its connection is never used: nothing reads this instance.
keepShape(
  new Context(
    { side: 'server' } as unknown as ContextHost,
    { jsonrpc: '2.0', id: 0, method: 'ping' },
    undefined,
    undefined,
    0,
  ),
);
