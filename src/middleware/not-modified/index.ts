/**
 * Not modified: the server side of conditional answers between two mcp-perf peers. A
 * client cache created with `conditional: true` sends, when it revalidates an entry, the
 * hash of the copy it holds; this middleware answers with a tiny "not modified" result
 * when the server's result hashes the same, and with the full result otherwise. The
 * client restores the full result from its copy before its SDK sees it.
 *
 * It is agreed in the handshake (an `experimental` capability on `initialize`, an
 * `extensions` entry on `server/discover`): a client that did not offer it never receives
 * anything but full answers, and results are hashed only for requests that ask.
 *
 * @module
 */

import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import { CONTROL_METHODS, isHandshake } from '../../core/messages.js';
import type { JsonObject, MiddlewareObject, Next, Reply, RequestContext, Side } from '../../core/types.js';
import { InvalidOptionError } from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import {
  acceptConditional,
  askedHash,
  hashResult,
  notModifiedResult,
  offersConditional,
  withoutAsk,
} from '../../internal/conditional.js';
import { estimateJsonSize } from '../../internal/json-size.js';

export { CONDITIONAL_CAPABILITY } from '../../internal/conditional.js';

const WHERE = 'notModified';

/** Options of {@link notModified}; defaults in {@link NOT_MODIFIED_DEFAULTS}. */
export interface NotModifiedOptions {
  /**
   * Accept the clients' offers and answer their revalidations. With `false` the middleware
   * passes everything through untouched (clients then always get full answers). Default `true`.
   */
  enabled?: boolean;
}

/** The defaults of {@link NotModifiedOptions}. */
export const NOT_MODIFIED_DEFAULTS: Readonly<Required<NotModifiedOptions>> = Object.freeze({
  enabled: true,
});

/** Counters of a {@link NotModifiedMiddleware}. */
export interface NotModifiedStats {
  /** Handshakes in which a client offered conditional answers and this side accepted. */
  agreed: number;
  /** Requests that asked whether their copy was still current. */
  asked: number;
  /** Of those, answered "not modified". */
  notModified: number;
  /** Of those, answered in full (the result changed, or was an error). */
  modified: number;
  /** Estimated JSON bytes of the results not sent because the client had them. */
  bytesSaved: number;
}

/** What {@link NotModifiedMiddleware.onNotModified} listeners receive. */
export interface NotModifiedEvent {
  /** The request's method. */
  readonly method: string;
  /** Where the middleware runs. */
  readonly side: Side;
  /** Estimated JSON bytes of the result not sent. */
  readonly bytesSaved: number;
}

/** The middleware {@link notModified} returns. */
export interface NotModifiedMiddleware extends MiddlewareObject {
  /** Always `notModified`. */
  readonly name: 'notModified';
  /** Counters since creation (numbers only, so `metrics({ sources: [nm] })` reports them). */
  stats(): NotModifiedStats;
  /** Calls `listener` for every "not modified" answer; answers the function that unsubscribes. */
  onNotModified(listener: (event: NotModifiedEvent) => void): () => void;
}

/**
 * Creates the server side of conditional answers. Put it first (outermost) in the server's
 * stack, so that it hashes the result exactly as it goes on the wire; give the client's
 * cache `conditional: true`.
 *
 * @example
 * ```ts
 * withMiddleware(server, [notModified(), metrics()]);
 * withCache(client, { conditional: true, tools: { include: ['report'] } });
 * ```
 * @throws InvalidOptionError naming the option when an option is invalid
 */
export function notModified(options: NotModifiedOptions = {}): NotModifiedMiddleware {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(WHERE, '(options)', 'an object', options);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'enabled') throw new InvalidOptionError(WHERE, key, 'a known notModified option', key);
  }
  const enabled = options.enabled ?? NOT_MODIFIED_DEFAULTS.enabled;
  if (typeof enabled !== 'boolean') throw new InvalidOptionError(WHERE, 'enabled', 'a boolean', enabled);
  const stats: NotModifiedStats = { agreed: 0, asked: 0, notModified: 0, modified: 0, bytesSaved: 0 };
  const listeners = new Set<(event: NotModifiedEvent) => void>();

  const handshake = (ctx: RequestContext, next: Next): Promise<Reply> =>
    next().then((reply) => {
      if (reply.result === undefined) return reply;
      stats.agreed++;
      return { result: acceptConditional(ctx.method, reply.result) };
    });

  const answer = (ctx: RequestContext, asked: string | null, reply: Reply): Reply => {
    const result = reply.result;
    if (asked === null || result === undefined || result.isError === true) {
      stats.modified++;
      return reply;
    }
    let hash: string;
    try {
      hash = hashResult(result);
    } catch (error) {
      ctx.connection.reportError(asError(error, 'notModified: a result could not be hashed'));
      stats.modified++;
      return reply;
    }
    if (hash !== asked) {
      stats.modified++;
      return reply;
    }
    const bytesSaved = estimateJsonSize(result);
    stats.notModified++;
    stats.bytesSaved += bytesSaved;
    if (listeners.size !== 0) emit({ method: ctx.method, side: ctx.side, bytesSaved }, ctx);
    return { result: notModifiedResult(hash) };
  };

  const emit = (event: NotModifiedEvent, ctx: RequestContext): void => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        ctx.connection.reportError(asError(error, 'notModified: an event listener failed'));
      }
    }
  };

  const middleware: NotModifiedMiddleware = {
    name: 'notModified',
    // A client's requests, and a server's pings, are never answered "not modified".
    handles: (method, connection) =>
      enabled && connection.side === 'server' && (isHandshake(method) || !CONTROL_METHODS.has(method)),
    request: function notModified(ctx, next) {
      if (!enabled || ctx.side === 'client') return next();
      if (ctx.control) {
        return isHandshake(ctx.method) && offersConditional(ctx.method, ctx.params)
          ? handshake(ctx, next)
          : next();
      }
      const params = ctx.params;
      const asked = askedHash(params);
      if (asked === undefined) return next();
      stats.asked++;
      // The handler never sees our key: a server knows nothing of it.
      ctx.params = withoutAsk(params as JsonObject);
      return next().then((reply) => answer(ctx, asked, reply));
    },
    stats: () => ({ ...stats }),
    onNotModified(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
  return brandMiddleware(middleware, 'notModified');
}

/**
 * Adds the server side of conditional answers to an MCP server (or a proxy's downstream
 * side): the same as `withMiddleware(target, [notModified(options)])`. Returns the target;
 * on a bare transport (with `{ side }`), the wrapping transport.
 *
 * @example
 * ```ts
 * withNotModified(server);
 * ```
 */
export const withNotModified: WithHelper<NotModifiedOptions, NotModifiedMiddleware> = defineWith(
  'notModified',
  notModified,
);
