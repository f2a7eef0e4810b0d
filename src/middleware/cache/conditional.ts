/**
 * The cache's side of conditional answers (`conditional: true`): offers them in the
 * handshake, and when it revalidates an entry it still holds (its TTL ran out, or a
 * stale-while-revalidate refresh) it sends the hash of that copy; a "not modified" answer
 * from the server's `notModified` middleware is turned back into the copy before anyone
 * else sees it. Without the server's agreement every request goes out as it came.
 *
 * The agreement is bound to one hop: the acceptance is taken out of the handshake result
 * here, so a client beyond a proxy never asks a server it cannot see.
 *
 * @module
 */

import { isHandshake } from '../../core/messages.js';
import type { Connection, JsonObject, Next, Reply, RequestContext } from '../../core/types.js';
import { ErrorCodes } from '../../errors/index.js';
import {
  acceptsConditional,
  hashResult,
  ifNoneMatch,
  notModifiedHash,
  offerConditional,
  withoutAcceptance,
} from '../../internal/conditional.js';
import type { CacheEntry } from '../../stores/types.js';
import type { CacheCounters } from './stats.js';

/** One cache's conditional revalidation: which connections agreed, and the request rewriting. */
export class Revalidation {
  /** Connections whose server accepted conditional answers. */
  private readonly agreed = new WeakSet<Connection>();

  constructor(
    /** `conditional` option: offer, and ask when agreed. */
    readonly enabled: boolean,
    private readonly counters: CacheCounters,
  ) {}

  /**
   * A handshake request (client or proxy side): offered when enabled; the acceptance is
   * recorded and taken out of the result either way.
   */
  handshake(ctx: RequestContext, next: Next): Promise<Reply> {
    if (ctx.side === 'server' || !isHandshake(ctx.method)) return next();
    if (this.enabled) ctx.params = offerConditional(ctx.method, ctx.params);
    return next().then((reply) => {
      const result = reply.result;
      if (result === undefined || !acceptsConditional(ctx.method, result)) return reply;
      if (this.enabled) this.agreed.add(ctx.connection);
      return { result: withoutAcceptance(ctx.method, result) };
    });
  }

  /**
   * The hash to send for `entry` on this connection, or `undefined` when the server did not
   * agree (or the copy cannot be hashed: the request then goes out plain).
   */
  hashFor(connection: Connection, entry: CacheEntry): string | undefined {
    if (!this.agreed.has(connection)) return undefined;
    try {
      const hash = hashResult(entry.value as JsonObject);
      this.counters.revalidations++;
      return hash;
    } catch {
      return undefined;
    }
  }

  /** Sends `ctx`'s request asking about `entry`'s copy; resolves with the full result either way. */
  ask(ctx: RequestContext, next: Next, entry: CacheEntry): Promise<Reply> {
    const hash = this.hashFor(ctx.connection, entry);
    if (hash === undefined) return next();
    ctx.params = ifNoneMatch(ctx.params, hash);
    return next().then((reply) => this.restore(reply, hash, entry));
  }

  /** The reply to a request that asked about `entry` with `hash`: the copy when not modified. */
  restore(reply: Reply, hash: string, entry: CacheEntry): Reply {
    const named = notModifiedHash(reply.result);
    if (named === undefined) return reply;
    if (named !== hash) {
      return {
        error: {
          code: ErrorCodes.InternalError,
          message: 'cache: a "not modified" answer named a copy this cache did not ask about',
        },
      };
    }
    this.counters.notModified++;
    return { result: entry.value as JsonObject };
  }
}

/** A "not modified" answer, which is never stored (it only means something to the cache that asked). */
export function isNotModified(result: JsonObject): boolean {
  return notModifiedHash(result) !== undefined;
}
