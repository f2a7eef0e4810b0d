import type { RequestContext } from '../../core/types.js';
import { principalOf } from '../../internal/principal.js';

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

/**
 * Key function for a per-principal limit: the principal of an authenticated request (the
 * transport's `authInfo`: the OAuth client with the user from `extra.sub`, `userId`,
 * `user_id` or `username`, or with the token when there is no user), as a SHA-256 digest,
 * never the token itself; the same derivation the cache partitions by. Without
 * authentication every request shares the key `anonymous`, so the limit still holds for
 * unauthenticated traffic (a session id would let a client escape it by opening sessions).
 */
export function principalKey(ctx: RequestContext): string {
  return principalOf(ctx) ?? 'anonymous';
}
