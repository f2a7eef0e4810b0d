/**
 * The shapes the pipeline works with: JSON-RPC messages as they travel between MCP
 * peers, the reply a middleware returns, and the context it receives.
 *
 * The message types are structural and deliberately loose (no zod): the SDK's own
 * transports have already parsed and validated what reaches the pipeline.
 */

/** A JSON-RPC request id. */
export type RequestId = string | number;

/** A JSON object, as found in `params` and `result`. */
export type JsonObject = { [key: string]: unknown };

/** A JSON-RPC request. */
export interface JsonRpcRequest {
  /** Always `"2.0"`. */
  jsonrpc: '2.0';
  /** The caller's id; the answer carries the same id. */
  id: RequestId;
  /** The MCP method, e.g. `tools/call`. */
  method: string;
  /** The method's parameters. */
  params?: JsonObject;
}

/** A JSON-RPC notification (a message with no id and no answer). */
export interface JsonRpcNotification {
  /** Always `"2.0"`. */
  jsonrpc: '2.0';
  /** The MCP notification method, e.g. `notifications/progress`. */
  method: string;
  /** The notification's parameters. */
  params?: JsonObject;
}

/** The `error` member of a JSON-RPC error response. */
export interface JsonRpcError {
  /** The numeric error code (see the errors module for the codes this library uses). */
  code: number;
  /** A human-readable message. */
  message: string;
  /** Structured detail, e.g. `{ retryAfterMs }`. */
  data?: unknown;
}

/** A successful JSON-RPC response. */
export interface JsonRpcResultResponse {
  /** Always `"2.0"`. */
  jsonrpc: '2.0';
  /** The id of the request this answers. */
  id: RequestId;
  /** The method's result. */
  result: JsonObject;
}

/** A failed JSON-RPC response. */
export interface JsonRpcErrorResponse {
  /** Always `"2.0"`. */
  jsonrpc: '2.0';
  /** The id of the request this answers. */
  id: RequestId;
  /** What went wrong. */
  error: JsonRpcError;
}

/** Any JSON-RPC response. */
export type JsonRpcResponse = JsonRpcResultResponse | JsonRpcErrorResponse;

/** Any JSON-RPC message that crosses an MCP transport. */
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

/**
 * What a request middleware resolves with: a result or an error, without the
 * envelope. A response message (which also has `jsonrpc` and `id`) is a valid
 * `Reply`, so `next()`'s answer can be returned as it is; the pipeline re-addresses
 * it to the caller's own id.
 */
export type Reply = ResultReply | ErrorReply;

/** A successful {@link Reply}. */
export interface ResultReply {
  /** The method's result. */
  result: JsonObject;
  /** Absent on a result. */
  error?: undefined;
}

/** A failed {@link Reply}. */
export interface ErrorReply {
  /** What went wrong. */
  error: JsonRpcError;
  /** Absent on an error. */
  result?: undefined;
}

/**
 * Where a pipeline runs.
 * - `server`: on the transport of an MCP server; requests come from the peer, the
 *   handler is the SDK server.
 * - `client`: on the transport of an MCP client; requests come from the SDK client,
 *   the handler is the peer across the wire.
 * - `proxy`: between two transports; requests come from the downstream peer, the
 *   handler is the upstream server.
 */
export type Side = 'server' | 'client' | 'proxy';

/**
 * The protocol era of a connection.
 * - `legacy`: 2025-03-26 … 2025-11-25, with an `initialize` handshake.
 * - `modern`: 2026-07-28 and later, with a per-request `_meta` envelope and
 *   `resultType` on every result.
 */
export type Era = 'legacy' | 'modern';

/** Which end of a pipeline a notification comes from. */
export type Origin = 'caller' | 'handler';

/** Name and version of an MCP implementation, as exchanged in the handshake. */
export interface PeerInfo {
  /** Implementation name. */
  name: string;
  /** Implementation version. */
  version: string;
  /** Any further fields the peer sent (title, icons …). */
  [key: string]: unknown;
}

/** The authenticated principal of a request, as the SDK's HTTP transport reports it. */
export interface AuthInfo {
  /** The access token (never used as a key: hash it). */
  token: string;
  /** The OAuth client the token was issued to. */
  clientId: string;
  /** Granted scopes. */
  scopes: string[];
  /** Expiry, in seconds since the epoch. */
  expiresAt?: number;
  /** Anything else the verifier attached (e.g. `sub`). */
  extra?: Record<string, unknown>;
  /** Further fields. */
  [key: string]: unknown;
}

/**
 * Facts about a connection, filled in as they become known: from the `initialize`
 * exchange (legacy), from `server/discover` and the per-request `_meta` envelope
 * (modern), and from the transport.
 */
export interface SessionInfo {
  /** The transport's session id (a live value: HTTP assigns it after `initialize`). */
  readonly sessionId: string | undefined;
  /** The negotiated (legacy) or announced (modern) protocol version. */
  protocolVersion: string | undefined;
  /** The era of {@link SessionInfo.protocolVersion}, once known. */
  era: Era | undefined;
  /** The client's name and version. */
  clientInfo: PeerInfo | undefined;
  /** The client's capabilities. */
  clientCapabilities: JsonObject | undefined;
  /** The server's name and version. */
  serverInfo: PeerInfo | undefined;
  /** The server's capabilities. */
  serverCapabilities: JsonObject | undefined;
}

/** Options for a request that a middleware issues on its own (see {@link Connection.request}). */
export interface OwnRequestOptions {
  /** Aborting it cancels the request upstream with `notifications/cancelled`. */
  signal?: AbortSignal;
  /** Receives the handler's progress notifications for this request. */
  onprogress?: (params: JsonObject) => void;
  /**
   * On the server side: the transport `extra` to deliver with the request (auth info
   * for the SDK's handler). Usually the `extra` of the request being served.
   */
  extra?: unknown;
}

/**
 * One connection's pipeline, as seen by middleware: its side, its session facts, and
 * the means to talk to either end on the middleware's own behalf.
 */
export interface Connection {
  /** Where the pipeline runs. */
  readonly side: Side;
  /** What is known about the session so far. */
  readonly session: SessionInfo;
  /** True once the transport has closed. */
  readonly closed: boolean;
  /**
   * Sends a request to the handler (the SDK server on the server side, the wire on the
   * client side, the upstream on a proxy) under the pipeline's own id space. Its answer
   * and its progress never reach the SDK. Resolves with the reply; rejects with
   * `ConnectionClosedError` or `CancelledError`, or at once with `OverloadedError` when
   * 1024 own requests are already waiting for the handler on this connection.
   */
  request(method: string, params: JsonObject | undefined, options?: OwnRequestOptions): Promise<Reply>;
  /**
   * Sends a notification towards the caller or towards the handler. With
   * `{ throughStack: true }` it crosses the notification hooks of every layer on its way,
   * as if the other end had sent it (so a cache sees a `list_changed` a middleware emits
   * on the server's behalf); otherwise it goes straight to that end.
   */
  notify(notification: JsonRpcNotification, to: Origin, options?: { throughStack?: boolean }): void;
  /** Reports a problem through the transport's `onerror`, without failing anything. */
  reportError(error: Error): void;
  /**
   * Runs a request that arrived inside another request from the caller (a batch) through
   * the whole stack and on to the handler, as if the caller had sent it on its own, under
   * its own id. Its answer goes to `answer` instead of to the caller (`undefined` when it
   * was cancelled); notifications the handler relates to it travel related to `carrier`,
   * the id of the request that carried it. Cancelling it by its own id works as usual.
   * Absent on contexts that are not the pipeline's (hand-made ones in tests).
   */
  dispatch?(
    request: JsonRpcRequest,
    extra: unknown,
    carrier: RequestId,
    answer: (response: JsonRpcResponse | undefined) => void,
  ): void;
  /**
   * Forgets which layers handle which methods on this connection (see
   * {@link MiddlewareObject.handles}): the next request of each method asks them again.
   * Requests already running finish in the stack they started in. Absent on contexts
   * that are not the pipeline's.
   */
  restack?(): void;
}

/**
 * The context of one request as it runs down the stack. One object per request;
 * middlewares share it.
 */
export interface RequestContext {
  /** The caller's request id. */
  readonly id: RequestId;
  /** The method, e.g. `tools/call`. */
  readonly method: string;
  /**
   * The parameters. A middleware may replace them before calling `next()`; the
   * handler then receives the replacement (the caller's id is kept).
   */
  params: JsonObject | undefined;
  /** The request exactly as the caller sent it. */
  readonly message: JsonRpcRequest;
  /** Where the pipeline runs. */
  readonly side: Side;
  /** The connection this request arrived on. */
  readonly connection: Connection;
  /** Session facts (the same object as `connection.session`). */
  readonly session: SessionInfo;
  /**
   * True for the methods that must never be cached, queued or delayed:
   * `initialize`, `server/discover` and `ping`. They still run through the stack, so
   * that metrics can see them and a middleware can add capabilities to the handshake.
   */
  readonly control: boolean;
  /** The authenticated principal, from the transport's `extra.authInfo` (server side). */
  readonly authInfo: AuthInfo | undefined;
  /** The transport's `extra` for this request, passed through untouched. */
  readonly extra: unknown;
  /** The caller's progress token, if it asked for progress. */
  readonly progressToken: string | number | undefined;
  /**
   * Fires when the caller cancels (`notifications/cancelled` or the per-request
   * signal) or the connection closes. Created on first access.
   */
  readonly signal: AbortSignal;
  /** True once the request was cancelled; its answer will not be sent. */
  readonly cancelled: boolean;
  /**
   * A bag that the middlewares of one request share, e.g. the cache sets
   * `state.cache = 'hit'` for the metrics middleware to read. Created on first access.
   */
  readonly state: Record<string, unknown>;
  /** `performance.now()` when the request entered the pipeline. */
  readonly startedAt: number;
  /**
   * Sends a progress notification to the caller under its own token (a no-op if the
   * caller asked for none).
   */
  progress(params: { progress: number; total?: number; message?: string }): void;
  /**
   * For a request that was cancelled while the handler had it: calls `listener` once,
   * when the handler's answer arrives after all (the pipeline does not pass it on), and
   * answers `true`. Answers `false`, and never calls `listener`, when the handler does not
   * hold the request: it never reached the handler, or its answer has arrived. A handler
   * may never answer (the SDK's servers send nothing for a request cancelled by
   * `notifications/cancelled`), so bound the wait. The concurrency limit uses this to keep
   * a cancelled request's slot while its handler may still run. Absent on contexts that
   * are not the pipeline's (hand-made ones in tests).
   */
  whenHandlerDone?(listener: () => void): boolean;
}

/** Calls the rest of the stack; resolves with its reply. Call it at most once. */
export type Next = () => Promise<Reply>;

/**
 * A request middleware: runs for every request, may call `next()` to pass it on, and
 * resolves with the reply. Answering without `next()` (a cache hit, a shed request)
 * is how a middleware short-circuits; the pipeline delivers that reply correctly on
 * every side.
 */
export type RequestMiddleware = (ctx: RequestContext, next: Next) => Promise<Reply>;

/** The context of one notification crossing the pipeline. */
export interface NotificationContext {
  /** The notification. */
  readonly message: JsonRpcNotification;
  /** Which end sent it: the caller (client side of the exchange) or the handler. */
  readonly from: Origin;
  /** The connection it crosses. */
  readonly connection: Connection;
  /** The transport's `extra`, when it came from the wire. */
  readonly extra: unknown;
}

/**
 * Observes, replaces or drops a notification. Return `undefined` to pass it on
 * unchanged, another notification to pass that instead, or `null` to drop it.
 */
export type NotificationHook = (ctx: NotificationContext) => JsonRpcNotification | null | undefined;

/** The full form of a middleware: a name, and any of the hooks. */
export interface MiddlewareObject {
  /** Shown in errors and stack traces. */
  readonly name: string;
  /** Runs for every request. */
  readonly request?: RequestMiddleware;
  /** Runs for every notification, in either direction. */
  readonly notification?: NotificationHook;
  /**
   * Called once per connection when the middleware joins it; may return a function
   * called when the connection closes.
   */
  readonly attach?: (connection: Connection) => undefined | (() => void);
  /**
   * The synchronous counterpart of `request`, run on a client before the SDK client
   * builds, sends and awaits the request (see {@link EarlyAnswer}). Return the result
   * `request` would have resolved with, or `undefined` when the request must take its
   * ordinary way (through `request`, as usual); `next()` asks the layers inside. A layer
   * that returns `undefined` must have had no effect.
   */
  readonly early?: EarlyAnswer;
  /**
   * Whether this middleware acts on requests of `method` on `connection`: `false` lets
   * those requests skip its `request` function altogether, so a layer costs nothing
   * where it has nothing to do (a cache on tool calls it does not cache). Asked once per
   * method and connection, and the answer kept until `connection.restack()`: a middleware
   * whose answer changes (a handshake agreed something, its rules changed) calls that.
   * Answer `true` whenever the request function could have any effect on such a request.
   * Omit to see every request.
   */
  readonly handles?: (method: string, connection: Connection) => boolean;
}

/** Asks the layers inside for an early answer: their result, or `undefined`. Call it at most once. */
export type EarlyNext = () => JsonObject | undefined;

/**
 * An answer given in front of the SDK client. `withMiddleware(client, …)` on an SDK
 * `Client` offers each request to the `early` hooks of the leading request middlewares,
 * outermost first, before the client goes to work (a JSON-RPC id, a timeout, the
 * transport, the response handlers): in `client.request()` on SDK v1, in the request
 * funnel every request passes through on SDK v2. The chain ends at the first request
 * middleware without an `early` hook: it and the layers inside it are never skipped, so
 * they still see every request they would have seen. A result comes back to the caller validated by
 * the caller's result schema (on SDK v2, decoded by the connection's era codec first), a
 * fresh copy for each call, as the SDK would have delivered it; `undefined` sends the
 * request its ordinary way through every layer.
 *
 * A cache answers a fresh hit and never calls `next()` (a miss must go the ordinary way,
 * where the cache stores what comes back); metrics calls `next()` and records a result
 * when there is one. Nothing goes on the wire, so the context's `id` is the placeholder
 * `mcp-perf:early`.
 *
 * @example
 * ```ts
 * const canned: Middleware = {
 *   name: 'canned',
 *   request: (ctx, next) => next(),
 *   early: (ctx, next) => (ctx.params?.name === 'version' ? VERSION_RESULT : next()),
 * };
 * ```
 */
export type EarlyAnswer = (ctx: RequestContext, next: EarlyNext) => JsonObject | undefined;

/** A middleware: a request function, or an object with request and notification hooks. */
export type Middleware = RequestMiddleware | MiddlewareObject;
