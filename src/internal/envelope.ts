/**
 * The modern era's per-request envelope, carried over to a request a middleware sends on
 * a caller's behalf.
 *
 * Internal: not exported from the public entry points.
 */

import { META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION } from '../core/messages.js';
import type { JsonObject, RequestContext } from '../core/types.js';

const ENVELOPE_KEYS = [META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES, META_CLIENT_INFO] as const;

/**
 * `params` with the caller's modern-era envelope (protocol version, client capabilities,
 * client info from `ctx.params._meta`) as its `_meta`; `params` itself when the caller's
 * request carries none (legacy era).
 */
export function withCallerEnvelope(ctx: RequestContext, params: JsonObject): JsonObject {
  const meta = ctx.params?._meta as JsonObject | undefined;
  if (meta === undefined) return params;
  let envelope: JsonObject | undefined;
  for (const key of ENVELOPE_KEYS) {
    if (meta[key] !== undefined) {
      if (envelope === undefined) envelope = {};
      envelope[key] = meta[key];
    }
  }
  return envelope === undefined ? params : { ...params, _meta: envelope };
}
