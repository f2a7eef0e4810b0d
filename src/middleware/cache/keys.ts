/**
 * Cache keys: which partition a request belongs to (server identity, principal) and the
 * key itself.
 *
 * A key is the method, the server identity (`serverInfo` name@version), a digest of the
 * principal and the key material of the params without `_meta` (see
 * `internal/key-material.ts`), as `<method>:<text>`. When that text is short (at most {@link SHORT_KEY_MAX}
 * characters) it is the key as it is: a map lookup on it is cheaper than hashing it.
 * Longer text is hashed with SHA-256 (`<method>:<base64url>`), so keys stay small in
 * memory and in a shared store. Raw principals (they may be bearer tokens) never appear
 * in a key: only their SHA-256 digest does, memoized.
 *
 * @module
 */

import * as crypto from 'node:crypto';
import type { RequestContext, SessionInfo } from '../../core/types.js';
import { paramsKeyMaterial } from '../../internal/key-material.js';

/** Key text up to this many characters is used as the key; longer text is hashed. */
export const SHORT_KEY_MAX = 200;

/** Principal digests remembered (the map is emptied when it reaches this size). */
const PRINCIPAL_DIGESTS_MAX = 1024;

/** SHA-256, base64url: ~0.3 µs for a short text here, ~1 µs per KB. */
export const digest: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64url')
    : (text) => crypto.createHash('sha256').update(text).digest('base64url');

/**
 * The default principal: the OAuth client with the user (`sub`, `userId`, `user_id` or
 * `username` from the verifier's `extra`), or with the token when there is no user; used
 * only as a digest, inside the key.
 */
export function defaultPrincipal(ctx: RequestContext): string | undefined {
  const auth = ctx.authInfo;
  if (auth === undefined) return undefined;
  const extra = auth.extra;
  const user = extra?.sub ?? extra?.userId ?? extra?.user_id ?? extra?.username;
  return user === undefined
    ? `${auth.clientId}\u0000token:${auth.token}`
    : `${auth.clientId}\u0000user:${String(user)}`;
}

let lastServerInfo: SessionInfo['serverInfo'];
let lastIdentity = '';

/** The server identity a session knows (`name@version`, or `''`): keys and annotations are partitioned by it. */
export function serverIdentity(session: SessionInfo): string {
  const info = session.serverInfo;
  if (info === undefined) return '';
  if (info !== lastServerInfo) {
    lastServerInfo = info;
    lastIdentity = `${info.name}@${info.version}`;
  }
  return lastIdentity;
}

/** Builds keys; remembers principal digests so a principal is hashed once, not per request. */
export class KeyBuilder {
  private readonly principals = new Map<string, string>();
  /** The partition prefix of the last key (method, server, principal), kept flat for the next one. */
  private last: { method: string; upstream: string; principal: string; prefix: string } | undefined;

  /** The digest standing for `principal` in keys (`''` for the public partition). */
  principalDigest(principal: string): string {
    if (principal === '') return '';
    let hashed = this.principals.get(principal);
    if (hashed === undefined) {
      if (this.principals.size >= PRINCIPAL_DIGESTS_MAX) this.principals.clear();
      hashed = digest(`principal\n${principal}`);
      this.principals.set(principal, hashed);
    }
    return hashed;
  }

  /**
   * The default key of a request.
   *
   * @throws TypeError when the params cannot be represented as JSON (a bigint, a cycle)
   */
  key(
    method: string,
    upstream: string,
    principal: string,
    params: Record<string, unknown> | undefined,
  ): string {
    // upstream is length-prefixed and the digest has a fixed length (or is empty): the
    // text parses back one way, so two partitions never share a key. A hashed key has no
    // newline after `<method>:`, a short one always has one: they never collide either.
    const text = this.prefix(method, upstream, principal) + paramsKeyMaterial(params);
    if (text.length > SHORT_KEY_MAX) return `${method}:${digest(text)}`;
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
    const prefix = `${method}:${upstream.length}:${upstream}\n${this.principalDigest(principal)}\n`;
    // Flatten it once, here, rather than in every key that contains it.
    prefix.charCodeAt(0);
    this.last = { method, upstream, principal, prefix };
    return prefix;
  }
}
