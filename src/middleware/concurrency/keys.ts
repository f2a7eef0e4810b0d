import { createHash } from 'node:crypto';
import type { RequestContext } from '../../core/types.js';

/**
 * Key function for a per-tool limit: the tool's name for `tools/call`, `undefined` (the
 * scope does not apply) for every other method.
 *
 * @example
 * ```ts
 * concurrencyLimit({ scopes: [{ name: 'tool', key: toolKey, limit: 8 }] });
 * ```
 */
export function toolKey(ctx: RequestContext): string | undefined {
  if (ctx.method !== 'tools/call') return undefined;
  const name = ctx.params?.name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Key function for a per-method limit: the request's method (`tools/call`,
 * `resources/read` …).
 */
export function methodKey(ctx: RequestContext): string {
  return ctx.method;
}

const HASH_CACHE_MAX = 1024;
const tokenHashes = new Map<string, string>();

/**
 * Key function for a per-principal limit. With an authenticated request (the transport's
 * `authInfo`): `sub:<subject>` when the verifier reported a subject (`authInfo.extra.sub`),
 * otherwise `token:<hash>` — a truncated SHA-256 of the access token, never the token
 * itself. Without authentication every request shares the key `anonymous`, so the limit
 * still holds for unauthenticated traffic (a session id would let a client escape it by
 * opening sessions).
 */
export function principalKey(ctx: RequestContext): string {
  const auth = ctx.authInfo;
  if (auth === undefined) return 'anonymous';
  const sub = auth.extra?.sub;
  if (typeof sub === 'string' && sub !== '') return `sub:${sub}`;
  const token = auth.token;
  let hash = tokenHashes.get(token);
  if (hash === undefined) {
    hash = `token:${createHash('sha256').update(token).digest('base64url').slice(0, 22)}`;
    if (tokenHashes.size >= HASH_CACHE_MAX) tokenHashes.clear();
    tokenHashes.set(token, hash);
  }
  return hash;
}
