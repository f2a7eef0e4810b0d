/**
 * The one derivation of a request's principal (who is asking), shared by the cache, the
 * concurrency limit's `principalKey` and anything keyed per principal. A principal is
 * only ever handled as a digest: raw values may be bearer tokens.
 *
 * - From the transport's auth info: the OAuth client with the user (`sub`, `userId`,
 *   `user_id` or `username` from the verifier's `extra`), or with the token when there is
 *   no user.
 * - From any value a user supplies (`principal: (ctx) => …`): a string, a number, an
 *   object … Non-strings are written as canonical JSON first (key order does not
 *   matter, `{ id: 1 }` and `{ id: 2 }` differ), so an object never collapses to
 *   `"[object Object]"`.
 *
 * Digests are SHA-256, base64url (43 characters). String principals are remembered with
 * their digest in one bounded memo, so a principal is hashed once, not per request.
 *
 * Internal: not exported from the public entry points.
 */

import * as crypto from 'node:crypto';
import type { AuthInfo, RequestContext } from '../core/types.js';
import { keyMaterial } from './key-material.js';

/** String principals remembered with their digest (the memo is emptied when it reaches this size). */
export const PRINCIPAL_MEMO_MAX = 1024;

const memo = new Map<string, string>();

/** SHA-256, base64url. */
export const sha256: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64url')
    : (text) => crypto.createHash('sha256').update(text).digest('base64url');

/**
 * The digest standing for a principal value, or `''` for none (`undefined` or `null`: the
 * shared public partition).
 *
 * @throws TypeError when the value cannot be written as JSON (a bigint, a cycle)
 */
export function principalDigest(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') {
    let hashed = memo.get(value);
    if (hashed === undefined) {
      if (memo.size >= PRINCIPAL_MEMO_MAX) memo.clear();
      hashed = sha256(`principal\n${keyMaterial(value)}`);
      memo.set(value, hashed);
    }
    return hashed;
  }
  const material = keyMaterial(value);
  if (material === undefined) return '';
  return sha256(`principal\n${material}`);
}

/** The principal of an authenticated request, as a digest (see the module comment). */
export function authPrincipal(auth: AuthInfo): string {
  const extra = auth.extra;
  const user = extra?.sub ?? extra?.userId ?? extra?.user_id ?? extra?.username;
  if (user === undefined || user === null)
    return principalDigest(`${auth.clientId}\u0000token:${auth.token}`);
  return principalDigest(`${auth.clientId}\u0000user:${keyMaterial(user) ?? ''}`);
}

/**
 * The principal of a request from its auth info, as a digest, or `undefined` when the
 * request carries none (a server without authentication, the client side).
 */
export function principalOf(ctx: RequestContext): string | undefined {
  const auth = ctx.authInfo;
  return auth === undefined ? undefined : authPrincipal(auth);
}
