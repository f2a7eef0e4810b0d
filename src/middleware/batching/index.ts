/**
 * Batching: many small requests become fewer, larger ones, and no caller sees a difference.
 *
 * - **Batch handlers** (server side, DataLoader style): concurrent `tools/call`s of a tool
 *   with a handler, or `resources/read`s of URIs a resource handler matches, are collected
 *   for up to `maxWaitMs` (or until `maxBatchSize` distinct inputs) and handed to its `run`
 *   once. Identical inputs share one item; each caller gets its own result or error.
 * - **Request batching** between two mcp-perf peers: a client collects the requests issued
 *   together (with `maxWaitMs` 0, those issued in the same turn of the event loop while the
 *   turn's first request, sent at once, is awaited; else those within `maxWaitMs`) and
 *   sends them as one {@link BATCH_METHOD} request; the server runs each through its whole
 *   stack and answers them together. Agreed in the handshake; with a peer that does not agree, every request
 *   goes out on its own, exactly as without batching.
 * - **Write coalescing** for stream transports lives beside it: {@link coalesceWrites}.
 *
 * @module
 */

import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import type { Context } from '../../core/context.js';
import { CONTROL_METHODS, isHandshake } from '../../core/messages.js';
import { passesThrough } from '../../core/pipeline.js';
import type {
  Connection,
  JsonObject,
  JsonRpcRequest,
  JsonRpcResponse,
  MiddlewareObject,
  Next,
  Reply,
  RequestContext,
  RequestId,
} from '../../core/types.js';
import { CancelledError, ErrorCodes, InvalidOptionError, toJsonRpcError } from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import { now } from '../../internal/clock.js';
import { withCallerEnvelope } from '../../internal/envelope.js';
import { compileGlobs } from '../../internal/glob.js';
import { keyMaterial } from '../../internal/key-material.js';
import { functionOption, nonNegativeNumber, positiveInteger } from '../../internal/validate.js';
import {
  type BatchEvent,
  type BatchItem,
  BatchLoader,
  type LoaderCounters,
  type LoaderSpec,
  toolReply,
} from './loader.js';
import {
  acceptanceOf,
  BATCH_METHOD,
  type BatchCapability,
  offerOf,
  paramsWithOffer,
  requestsOf,
  resultWithAcceptance,
} from './negotiation.js';

export type { BatchEvent, BatchItem } from './loader.js';
export {
  BATCH_CAPABILITY,
  BATCH_METHOD,
  type BatchCapability,
} from './negotiation.js';
export { coalesceWrites } from './writes.js';

/** The defaults of {@link batching}, each cited in its option's doc comment. */
export const BATCHING_DEFAULTS = Object.freeze({
  /** {@link BatchHandlerOptions.maxBatchSize} of a batch handler. */
  maxBatchSize: 64,
  /** {@link BatchHandlerOptions.maxWaitMs} of a batch handler. */
  maxWaitMs: 0,
  /** {@link RequestBatchingOptions.maxBatchSize}. */
  requestMaxBatchSize: 64,
  /** {@link RequestBatchingOptions.maxWaitMs}. */
  requestMaxWaitMs: 0,
  /** {@link RequestBatchingOptions.maxIncoming}. */
  maxIncoming: 256,
});

/** How a batch handler collects calls. */
export interface BatchHandlerOptions {
  /**
   * Most distinct inputs in one call of `run`; reaching it runs the batch at once (later
   * calls start the next batch). Default 64.
   */
  maxBatchSize?: number;
  /**
   * How long the first call of a batch waits for others, in milliseconds. `0` collects
   * the calls that arrive in the same turn of the event loop. Default 0.
   */
  maxWaitMs?: number;
}

/** A batch handler for one tool. */
export interface ToolBatchHandler extends BatchHandlerOptions {
  /**
   * The dedup key of a call's arguments: calls with the same key in one batch share one
   * item. Default: a canonical encoding of the arguments (object keys sorted).
   */
  key?: (args: JsonObject, ctx: RequestContext) => string;
  /**
   * Runs a batch: receives the distinct arguments and, beside each, its {@link BatchItem}
   * (signal, progress); returns one outcome per input, in order: a `CallToolResult`, or an
   * `Error` (answered to that item's callers as an `isError` result). Returning the wrong
   * number of outcomes is an error for every caller of the batch. Arguments reach `run`
   * as the caller sent them: the server's input schema is not applied.
   */
  run(argsList: JsonObject[], items: BatchItem[]): readonly unknown[] | Promise<readonly unknown[]>;
}

/** A batch handler for `resources/read`. */
export interface ResourceBatchHandler extends BatchHandlerOptions {
  /** The URIs it reads: exact URIs or globs (`file:///users/*`). */
  uris: readonly string[];
  /** The dedup key of a URI. Default: the URI. */
  key?: (uri: string, ctx: RequestContext) => string;
  /**
   * Reads a batch: receives the distinct URIs and their {@link BatchItem}s; returns one
   * outcome per URI, in order: a `ReadResourceResult`, or an `Error` (answered to that
   * URI's callers as a JSON-RPC error; a library error keeps its code).
   */
  run(uris: string[], items: BatchItem[]): readonly unknown[] | Promise<readonly unknown[]>;
}

/** Request batching between two mcp-perf peers. */
export interface RequestBatchingOptions {
  /**
   * Client: most requests in one batch (the server's own limit applies too). Server: the
   * most it accepts, announced in the handshake. Default 64.
   */
  maxBatchSize?: number;
  /**
   * Client: how long the first request waits for others, in milliseconds. `0` waits for
   * nothing: the first request of a turn of the event loop goes out at once, plain, and the
   * requests issued in the same turn while it is awaited leave together at the end of the
   * turn. A request that ends up alone always goes out plain. Default 0.
   */
  maxWaitMs?: number;
  /** Server: requests from batches running at once on one connection; a batch beyond it is refused. Default 256. */
  maxIncoming?: number;
}

/** Options of {@link batching}. */
export interface BatchingOptions {
  /** Batch handlers by tool name (server side). Default: none. */
  tools?: Readonly<Record<string, ToolBatchHandler>>;
  /** Batch handlers for `resources/read`, first match wins (server side). Default: none. */
  resources?: readonly ResourceBatchHandler[];
  /**
   * Request batching with another mcp-perf peer: a client offers it, a server accepts it;
   * `false` does neither. Default: on, with {@link BATCHING_DEFAULTS}.
   */
  requests?: boolean | RequestBatchingOptions;
  /** Called after each batch. */
  onBatch?: (event: BatchEvent) => void;
}

/** Live figures of a batching middleware (numeric, so `metrics({ sources: [b] })` reports them). */
export interface BatchingStats {
  /** Handler batches run. */
  batches: number;
  /** Distinct items handed to `run` over those batches. */
  items: number;
  /** Calls answered through batch handlers. */
  calls: number;
  /** `items / batches` (0 before the first batch). */
  meanBatchSize: number;
  /** Calls that shared another call's item. */
  dedupHits: number;
  /** Calls cancelled while waiting for their batch. */
  cancelled: number;
  /** Batches whose `run` threw or returned the wrong number of outcomes. */
  failedBatches: number;
  /** Request batches a client sent. */
  requestBatchesSent: number;
  /** Requests carried in them. */
  requestsBatched: number;
  /** Request batches a server answered. */
  requestBatchesReceived: number;
  /** Requests carried in them. */
  requestsUnbatched: number;
}

/** A batching middleware with live figures. */
export interface BatchingMiddleware extends MiddlewareObject {
  /** `batching`. */
  readonly name: string;
  /** Figures over every connection. */
  stats(): BatchingStats;
}

const WHERE = 'batching';

interface Queued {
  readonly ctx: RequestContext;
  readonly next: Next;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: unknown) => void;
}

interface ClientState {
  /** The server's acceptance: batching is on for this connection. */
  accepted: BatchCapability | undefined;
  queue: Queued[];
  /** The `maxWaitMs` timer of the queue (maxWaitMs > 0). */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The end of this turn is scheduled (maxWaitMs 0): it flushes the queue and forgets {@link atOnce}. */
  turnEndScheduled: boolean;
  /**
   * maxWaitMs 0: the request this turn sent at once. A request finding it still with the
   * server joins the queue; one finding it answered (or none) goes at once.
   */
  atOnce: RequestContext | undefined;
  /** Requests sent inside a batch whose answer has not come, by id. */
  inBatch: Set<RequestId>;
}

interface ServerState {
  incoming: number;
}

/**
 * Creates a batching middleware. One instance serves any number of connections; batch
 * handlers collect calls across all of them.
 *
 * On a client, put it last (innermost): a request sent inside a batch does not pass the
 * layers inside it.
 *
 * @example
 * ```ts
 * withBatching(server, {
 *   tools: {
 *     get_user: {
 *       maxWaitMs: 2,
 *       run: async (argsList) => {
 *         const rows = await db.users.findMany(argsList.map((a) => a.id));
 *         return argsList.map((a) => {
 *           const row = rows.find((r) => r.id === a.id);
 *           return row ? { content: [{ type: 'text', text: JSON.stringify(row) }] } : new Error(`no user ${a.id}`);
 *         });
 *       },
 *     },
 *   },
 * });
 * ```
 */
export function batching(options: BatchingOptions = {}): BatchingMiddleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(WHERE, '', 'an object', options);
  }
  const onBatch = functionOption(WHERE, 'onBatch', options.onBatch);
  const counters: LoaderCounters = {
    batches: 0,
    items: 0,
    calls: 0,
    dedupHits: 0,
    cancelled: 0,
    failedBatches: 0,
  };
  const requestCounters = { sent: 0, batched: 0, received: 0, unbatched: 0 };
  const emit = (event: BatchEvent, connection: Connection) => {
    if (onBatch === undefined) return;
    try {
      onBatch(event);
    } catch (error) {
      connection.reportError(asError(error));
    }
  };
  const report = (event: BatchEvent, ctx: RequestContext) => emit(event, ctx.connection);

  const tools = new Map<string, BatchLoader<JsonObject>>();
  if (options.tools !== undefined) {
    if (typeof options.tools !== 'object' || options.tools === null || Array.isArray(options.tools)) {
      throw new InvalidOptionError(WHERE, 'tools', 'an object of batch handlers by tool name', options.tools);
    }
    for (const [name, handler] of Object.entries(options.tools)) {
      const spec = handlerSpec<JsonObject>(`tools.${name}`, 'tool', name, handler, toolReply);
      const key = functionOption(WHERE, `tools.${name}.key`, handler.key);
      spec.key = key ?? defaultArgsKey;
      tools.set(name, new BatchLoader(spec, counters, report));
    }
  }
  const resources: { match: RegExp; loader: BatchLoader<string> }[] = [];
  if (options.resources !== undefined) {
    if (!Array.isArray(options.resources)) {
      throw new InvalidOptionError(
        WHERE,
        'resources',
        'an array of resource batch handlers',
        options.resources,
      );
    }
    options.resources.forEach((handler, i) => {
      const where = `resources[${i}]`;
      const uris = (handler as { uris?: unknown })?.uris;
      if (
        !Array.isArray(uris) ||
        uris.length === 0 ||
        !uris.every((u) => typeof u === 'string' && u !== '')
      ) {
        throw new InvalidOptionError(WHERE, `${where}.uris`, 'a non-empty array of URIs or globs', uris);
      }
      const spec = handlerSpec<string>(where, 'resource', uris[0] as string, handler, resourceReply);
      spec.key = functionOption(WHERE, `${where}.key`, handler.key) ?? defaultUriKey;
      resources.push({
        match: compileGlobs(uris) as RegExp,
        loader: new BatchLoader(spec, counters, report),
      });
    });
  }
  const requests = requestOptions(options.requests);
  const offer: BatchCapability | undefined = requests && {
    maxBatchSize: requests.maxBatchSize,
  };

  /** maxWaitMs 0: the first request of a turn goes at once (see sendAtOnce). */
  const immediate = requests?.maxWaitMs === 0;
  const clients = new WeakMap<Connection, ClientState>();
  const servers = new WeakMap<Connection, ServerState>();

  function resourceLoader(ctx: RequestContext): BatchLoader<string> | undefined {
    const uri = ctx.params?.uri;
    if (typeof uri !== 'string') return undefined;
    for (const r of resources) if (r.match.test(uri)) return r.loader;
    return undefined;
  }

  // ---- client: offer, queue, send ----

  async function clientHandshake(ctx: RequestContext, next: Next): Promise<Reply> {
    if (offer === undefined) return next();
    ctx.params = paramsWithOffer(ctx.method, ctx.params, offer);
    const reply = await next();
    const accepted = reply.result === undefined ? undefined : acceptanceOf(ctx.method, reply.result);
    const state = clientState(ctx.connection);
    const before = state.accepted;
    if (accepted !== undefined) {
      state.accepted = {
        maxBatchSize: Math.min(
          accepted.maxBatchSize,
          (requests as Required<RequestBatchingOptions>).maxBatchSize,
        ),
      };
    } else if (ctx.method === 'initialize') state.accepted = undefined;
    // Requests handled here only once the peer took batching (see `handles`).
    if ((before === undefined) !== (state.accepted === undefined)) ctx.connection.restack?.();
    return reply;
  }

  function clientState(connection: Connection): ClientState {
    let state = clients.get(connection);
    if (state === undefined) {
      state = {
        accepted: undefined,
        queue: [],
        timer: undefined,
        turnEndScheduled: false,
        atOnce: undefined,
        inBatch: new Set(),
      };
      clients.set(connection, state);
    }
    return state;
  }

  /**
   * maxWaitMs 0: the first request of a turn goes out at once, plain, as without batching:
   * a lone request waits for nothing. Requests issued while it is awaited in the same turn
   * are the burst it leads; they wait for the end of the turn and leave together.
   */
  function sendAtOnce(state: ClientState, ctx: RequestContext, next: Next): Promise<Reply> {
    state.atOnce = ctx;
    scheduleTurnEnd(state);
    return next();
  }

  /**
   * True while this turn's at-once request is with the server. Read from the pipeline's
   * own mark (set when the innermost `next()` sends it, cleared by its answer or its
   * cancellation): no reaction or closure per request. A layer inside this one that
   * answers without sending leaves the mark unset, and the next request goes at once too.
   */
  function awaitingAtOnce(state: ClientState): boolean {
    const lead = state.atOnce as Context | undefined;
    return lead?.upstream === true;
  }

  function enqueue(state: ClientState, ctx: RequestContext, next: Next): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      state.queue.push({ ctx, next, resolve, reject });
      if (state.queue.length >= (state.accepted as BatchCapability).maxBatchSize) return flushQueue(state);
      const wait = (requests as Required<RequestBatchingOptions>).maxWaitMs;
      if (wait === 0) scheduleTurnEnd(state);
      else if (state.timer === undefined) state.timer = setTimeout(flushQueue, wait, state);
    });
  }

  function scheduleTurnEnd(state: ClientState): void {
    if (state.turnEndScheduled) return;
    state.turnEndScheduled = true;
    // After every promise job queued so far: the requests a caller issues together (each
    // after the same awaits) are all in the queue by then.
    process.nextTick(turnEnd, state);
  }

  function turnEnd(state: ClientState): void {
    state.turnEndScheduled = false;
    state.atOnce = undefined;
    if (state.queue.length !== 0) flushQueue(state);
  }

  function flushQueue(state: ClientState): void {
    if (state.timer !== undefined) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
    const queue = state.queue;
    if (queue.length === 1) {
      // Alone in the queue: it goes out plain, as it would without batching.
      const item = queue[0] as Queued;
      queue.length = 0;
      return item.ctx.cancelled ? item.reject(new CancelledError()) : sendAlone(item);
    }
    state.queue = [];
    // A request cancelled while it waited leaves the batch: it is never sent.
    const live = queue.filter(stillWanted);
    if (live.length === 1) return sendAlone(live[0] as Queued);
    if (live.length !== 0) sendBatch(state, live);
  }

  function sendAlone(item: Queued): void {
    let reply: Promise<Reply>;
    try {
      reply = item.next();
    } catch (error) {
      return item.reject(error);
    }
    reply.then(item.resolve, item.reject);
  }

  function sendBatch(state: ClientState, items: Queued[]): void {
    const first = items[0] as Queued;
    const connection = first.ctx.connection;
    const messages: JsonRpcRequest[] = items.map(({ ctx }) =>
      ctx.params === undefined
        ? { jsonrpc: '2.0', id: ctx.id, method: ctx.method }
        : {
            jsonrpc: '2.0',
            id: ctx.id,
            method: ctx.method,
            params: ctx.params,
          },
    );
    for (const m of messages) state.inBatch.add(m.id);
    // Cancelling one request of a sent batch cancels it on the server by its own id, in
    // either era: the caller's `notifications/cancelled` (legacy, or modern over a stream
    // transport) has nothing of its own to follow on the wire, and the per-request signal
    // of modern Streamable HTTP would close the whole batch's stream.
    for (const { ctx } of items) {
      ctx.signal.addEventListener('abort', () => cancelInBatch(state, ctx), { once: true });
    }
    requestCounters.sent++;
    requestCounters.batched += items.length;
    const started = now();
    const done = (error: string | undefined) => {
      for (const m of messages) state.inBatch.delete(m.id);
      emit(
        {
          kind: 'requests',
          name: BATCH_METHOD,
          size: items.length,
          callers: items.length,
          dedupHits: 0,
          durationMs: now() - started,
          error,
        },
        connection,
      );
    };
    connection.request(BATCH_METHOD, withCallerEnvelope(first.ctx, { requests: messages })).then(
      (reply) => {
        const responses = reply.result?.responses;
        if (!Array.isArray(responses)) {
          // The peer did not take the batch after all: each request goes on its own.
          done(reply.error?.message ?? 'the batch answer carries no responses');
          for (const item of items) sendAlone(item);
          return;
        }
        done(undefined);
        const byId = new Map<unknown, JsonRpcResponse>();
        for (const r of responses as JsonRpcResponse[]) {
          if (typeof r === 'object' && r !== null) byId.set(idKey(r.id), r);
        }
        for (const item of items) {
          const response = byId.get(idKey(item.ctx.id));
          if (response !== undefined && ('result' in response || 'error' in response)) {
            item.resolve(response);
          } else if (item.ctx.cancelled) item.reject(new CancelledError());
          else
            item.reject(
              new Error(
                `batching: the batch answer has no response for request ${JSON.stringify(item.ctx.id)}`,
              ),
            );
        }
      },
      (error: unknown) => {
        done(asError(error).message);
        for (const item of items) item.reject(error);
      },
    );
  }

  function cancelInBatch(state: ClientState, ctx: RequestContext): void {
    if (!state.inBatch.delete(ctx.id)) return;
    const reason = (ctx.signal.reason as Error | undefined)?.message ?? 'cancelled by the caller';
    ctx.connection.notify(
      {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: withCallerEnvelope(ctx, { requestId: ctx.id, reason }),
      },
      'handler',
    );
  }

  // ---- server: accept, unpack ----

  async function serverHandshake(ctx: RequestContext, next: Next): Promise<Reply> {
    const offered = offer === undefined ? undefined : offerOf(ctx.method, ctx.params);
    const reply = await next();
    if (offered === undefined || reply.result === undefined) return reply;
    return {
      result: resultWithAcceptance(ctx.method, reply.result, offer as BatchCapability),
    };
  }

  function unpack(ctx: RequestContext): Promise<Reply> {
    const connection = ctx.connection;
    const list = requestsOf(ctx.params);
    if (typeof list === 'string') {
      return Promise.resolve({
        error: {
          code: ErrorCodes.InvalidParams,
          message: `${BATCH_METHOD}: ${list}`,
        },
      });
    }
    const limits = requests as Required<RequestBatchingOptions>;
    if (list.length > limits.maxBatchSize) {
      return Promise.resolve({
        error: {
          code: ErrorCodes.InvalidParams,
          message: `${BATCH_METHOD}: ${list.length} requests exceed maxBatchSize (${limits.maxBatchSize})`,
        },
      });
    }
    let state = servers.get(connection);
    if (state === undefined) {
      state = { incoming: 0 };
      servers.set(connection, state);
    }
    if (state.incoming + list.length > limits.maxIncoming) {
      return Promise.resolve({
        error: {
          code: ErrorCodes.InvalidRequest,
          message: `${BATCH_METHOD}: batched requests in flight would exceed maxIncoming (${state.incoming} + ${list.length} > ${limits.maxIncoming})`,
        },
      });
    }
    const server = state;
    server.incoming += list.length;
    requestCounters.received++;
    requestCounters.unbatched += list.length;
    const started = now();
    return new Promise<Reply>((resolve) => {
      const responses: JsonRpcResponse[] = [];
      let left = list.length;
      const answer = (response: JsonRpcResponse | undefined) => {
        server.incoming--;
        if (response !== undefined) responses.push(response);
        if (--left !== 0) return;
        emit(
          {
            kind: 'incoming',
            name: BATCH_METHOD,
            size: list.length,
            callers: responses.length,
            dedupHits: 0,
            durationMs: now() - started,
            error: undefined,
          },
          connection,
        );
        resolve({ result: { responses } });
      };
      for (const request of list)
        (connection.dispatch as NonNullable<Connection['dispatch']>)(request, ctx.extra, ctx.id, answer);
    });
  }

  const middleware: BatchingMiddleware = {
    name: 'batching',
    // What `request` below does anything with, on this connection as it stands.
    handles: function batchingHandles(method, connection) {
      if (connection.side === 'client') {
        if (CONTROL_METHODS.has(method)) return offer !== undefined && isHandshake(method);
        return clients.get(connection)?.accepted !== undefined;
      }
      switch (method) {
        case 'tools/call':
          return tools.size !== 0;
        case 'resources/read':
          return resources.length !== 0;
        case 'initialize':
        case 'server/discover':
          return offer !== undefined;
        case BATCH_METHOD:
          return requests !== undefined && connection.dispatch !== undefined;
        default:
          return false;
      }
    },
    request: function batching(ctx, next) {
      const method = ctx.method;
      if (ctx.side === 'client') {
        if (ctx.control) {
          return isHandshake(method) ? clientHandshake(ctx, next) : next();
        }
        const state = clients.get(ctx.connection);
        if (state?.accepted === undefined) return next();
        return immediate && !awaitingAtOnce(state) ? sendAtOnce(state, ctx, next) : enqueue(state, ctx, next);
      }
      switch (method) {
        case 'tools/call': {
          if (tools.size === 0) return next();
          const name = ctx.params?.name;
          const loader = typeof name === 'string' ? tools.get(name) : undefined;
          if (loader === undefined) return next();
          const args = ctx.params?.arguments;
          return loader.load(ctx, typeof args === 'object' && args !== null ? (args as JsonObject) : {});
        }
        case 'resources/read': {
          const loader = resources.length === 0 ? undefined : resourceLoader(ctx);
          return loader === undefined ? next() : loader.load(ctx, ctx.params?.uri as string);
        }
        case 'initialize':
        case 'server/discover':
          return offer === undefined ? next() : serverHandshake(ctx, next);
        case BATCH_METHOD:
          return requests === undefined || ctx.connection.dispatch === undefined ? next() : unpack(ctx);
        default:
          return next();
      }
    },
    // An early answer (a client-side cache hit further in) never reaches the wire, so it has
    // nothing to batch: it passes through.
    early: passesThrough(function batchingEarly(_ctx, next) {
      return next();
    }),
    stats: () => ({
      batches: counters.batches,
      items: counters.items,
      calls: counters.calls,
      meanBatchSize: counters.batches === 0 ? 0 : counters.items / counters.batches,
      dedupHits: counters.dedupHits,
      cancelled: counters.cancelled,
      failedBatches: counters.failedBatches,
      requestBatchesSent: requestCounters.sent,
      requestsBatched: requestCounters.batched,
      requestBatchesReceived: requestCounters.received,
      requestsUnbatched: requestCounters.unbatched,
    }),
  };
  return brandMiddleware(middleware, 'batching');
}

/**
 * Adds batching to an MCP server, client or transport: the same as
 * `withMiddleware(target, [batching(options)])`. Pass an instance made by
 * {@link batching} to keep a handle on its `stats()`. Returns the target; on a bare
 * transport (with `{ side }`), the wrapping transport.
 *
 * @example
 * ```ts
 * withBatching(client); // batches requests when the server runs mcp-perf batching too
 * ```
 */
export const withBatching: WithHelper<BatchingOptions, BatchingMiddleware> = defineWith('batching', batching);

function handlerSpec<I>(
  where: string,
  kind: 'tool' | 'resource',
  name: string,
  handler: BatchHandlerOptions & { run?: unknown },
  reply: (outcome: unknown) => Reply,
): LoaderSpec<I> {
  if (typeof handler !== 'object' || handler === null) {
    throw new InvalidOptionError(WHERE, where, 'a batch handler object', handler);
  }
  if (typeof handler.run !== 'function')
    throw new InvalidOptionError(WHERE, `${where}.run`, 'a function', handler.run);
  return {
    kind,
    name,
    maxBatchSize: positiveInteger(
      WHERE,
      `${where}.maxBatchSize`,
      handler.maxBatchSize,
      BATCHING_DEFAULTS.maxBatchSize,
    ),
    maxWaitMs: nonNegativeNumber(
      WHERE,
      `${where}.maxWaitMs`,
      handler.maxWaitMs,
      BATCHING_DEFAULTS.maxWaitMs,
      'a non-negative number of milliseconds',
    ),
    key: defaultUriKey as unknown as LoaderSpec<I>['key'],
    run: handler.run as LoaderSpec<I>['run'],
    reply,
  };
}

function requestOptions(value: BatchingOptions['requests']): Required<RequestBatchingOptions> | undefined {
  if (value === false) return undefined;
  if (value !== undefined && value !== true && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionError(WHERE, 'requests', 'a boolean or an object', value);
  }
  const o = typeof value === 'object' ? value : {};
  return {
    maxBatchSize: positiveInteger(
      WHERE,
      'requests.maxBatchSize',
      o.maxBatchSize,
      BATCHING_DEFAULTS.requestMaxBatchSize,
    ),
    maxWaitMs: nonNegativeNumber(
      WHERE,
      'requests.maxWaitMs',
      o.maxWaitMs,
      BATCHING_DEFAULTS.requestMaxWaitMs,
      'a non-negative number of milliseconds',
    ),
    maxIncoming: positiveInteger(WHERE, 'requests.maxIncoming', o.maxIncoming, BATCHING_DEFAULTS.maxIncoming),
  };
}

function defaultArgsKey(args: JsonObject): string {
  return keyMaterial(args) ?? '';
}

function defaultUriKey(uri: string): string {
  return uri;
}

function resourceReply(outcome: unknown): Reply {
  if (outcome instanceof Error) return { error: toJsonRpcError(outcome, 'resource batch') };
  if (typeof outcome === 'object' && outcome !== null && !Array.isArray(outcome)) {
    return { result: outcome as JsonObject };
  }
  throw new Error('batching: a resource batch result must be an object or an Error');
}

/** False for a queued request cancelled while it waited, which is answered here and never sent. */
function stillWanted(item: Queued): boolean {
  if (!item.ctx.cancelled) return true;
  item.reject(new CancelledError());
  return false;
}

/** A request id as a map key that keeps `1` and `"1"` apart. */
function idKey(id: unknown): unknown {
  return typeof id === 'string' ? `s:${id}` : id;
}
