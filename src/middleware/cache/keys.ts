/**
 * Cache keys: which partition a request belongs to (upstream identity, principal) and the
 * key itself.
 *
 * A key is the method, the upstream identity (see {@link upstreamIdentity}), the
 * principal's digest (see `internal/principal.ts`) and the key material of the params
 * without `_meta` (see `internal/key-material.ts`), as `<method>:<text>`. When that text
 * is short (at most {@link SHORT_KEY_MAX} characters) it is the key as it is: a map lookup
 * on it is cheaper than hashing it. Longer text is hashed with SHA-256
 * (`<method>:<base64url>`), so keys stay small in memory and in a shared store. Raw
 * principals (they may be bearer tokens) and raw endpoints (a URL may carry a secret)
 * never appear in a key: only their digests do.
 *
 * @module
 */

import type { Connection, PeerInfo, RequestContext } from '../../core/types.js';
import { connectionIdentity, endpointIdentity } from '../../internal/endpoint.js';
import { paramsKeyMaterial } from '../../internal/key-material.js';
import { principalOf, sha256 } from '../../internal/principal.js';

/** Key text up to this many characters is used as the key; longer text is hashed. */
export const SHORT_KEY_MAX = 200;

/**
 * The default principal digest of a request: from the transport's auth info (server side
 * and proxy); on the client side, whose requests carry none, the connection's own identity, so
 * that entries of one `Client` never serve another unless a `principal` option says they
 * share one. `''` (the public partition) for an anonymous request on a server.
 */
export function defaultPrincipal(ctx: RequestContext): string {
  if (ctx.side !== 'client') return principalOf(ctx) ?? '';
  // A client's requests carry no auth info; consecutive ones mostly share a connection.
  const connection = ctx.connection;
  if (connection !== lastClient) {
    lastClient = connection;
    lastClientPrincipal = connectionIdentity(connection);
  }
  return lastClientPrincipal;
}

let lastClient: Connection | undefined;
let lastClientPrincipal = '';

let lastConnection: Connection | undefined;
let lastServerInfo: PeerInfo | undefined;
let lastIdentity = '';

/**
 * The upstream identity of a connection: keys and annotations are partitioned by it.
 * On a server, the server's own `serverInfo` (`name@version`, or `''`): it is the
 * upstream, and stateless HTTP makes a connection per request. On a client or a proxy,
 * the endpoint its transport reaches (a digest of the URL, or of the command and
 * arguments; a connection of its own when the transport shows none) with what the server
 * says about itself: two servers with the same `serverInfo` at different endpoints never
 * share entries.
 */
export function upstreamIdentity(connection: Connection): string {
  const info = connection.session.serverInfo;
  if (connection === lastConnection && info === lastServerInfo) return lastIdentity;
  const claimed = info === undefined ? '' : `${info.name}@${info.version}`;
  const identity = connection.side === 'server' ? claimed : `${endpointIdentity(connection)}|${claimed}`;
  lastConnection = connection;
  lastServerInfo = info;
  lastIdentity = identity;
  return identity;
}

/** Builds keys from a method, an upstream identity, a principal digest and the params. */
export class KeyBuilder {
  /** The partition prefix of the last key (method, server, principal), kept flat for the next one. */
  private last: { method: string; upstream: string; principal: string; prefix: string } | undefined;

  /**
   * The default key of a request.
   *
   * @throws TypeError when the params cannot be represented as JSON (a bigint, a cycle)
   */
  key(
    method: string,
    upstream: string,
    /** The principal's digest (see `internal/principal.ts`), `''` for the public partition. */
    principal: string,
    params: Record<string, unknown> | undefined,
  ): string {
    // upstream is length-prefixed and the principal digest holds no newline (base64url,
    // or empty): the text parses back one way, so two partitions never share a key. A hashed key has no
    // newline after `<method>:`, a short one always has one: they never collide either.
    const text = this.prefix(method, upstream, principal) + paramsKeyMaterial(params);
    if (text.length > SHORT_KEY_MAX) return `${method}:${sha256(text)}`;
    // The text is a tree of the small strings it was built from. A Map lookup on such a
    // string flattens it in V8's runtime, which costs more than reading a character does
    // here (benchmark `cache.server-hit.inmemory` measures the hit path).
    text.charCodeAt(0);
    return text;
  }

  /**
   * `<method>:<upstream length>:<upstream>\n<principal digest>\n`. Consecutive requests
   * mostly share it, so the last one is remembered: one flat string instead of six
   * concatenations for V8 to flatten again inside every key.
   */
  private prefix(method: string, upstream: string, principal: string): string {
    const last = this.last;
    if (
      last !== undefined &&
      last.method === method &&
      last.upstream === upstream &&
      last.principal === principal
    ) {
      return last.prefix;
    }
    const prefix = `${method}:${upstream.length}:${upstream}\n${principal}\n`;
    // Flatten it once, here, rather than in every key that contains it.
    prefix.charCodeAt(0);
    this.last = { method, upstream, principal, prefix };
    return prefix;
  }
}
