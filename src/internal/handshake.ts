/**
 * Entries two mcp-perf peers exchange in the handshake to agree on something beyond the
 * protocol (the binary codec, request batching): `capabilities.experimental[key]` in an
 * `initialize` request and result (legacy era); `extensions[key]` in the client
 * capabilities of a `server/discover` request's `_meta`, and in its result's capabilities
 * (modern era). Every function returns a copy: the SDK's own objects are never changed.
 *
 * Internal: not exported from the public entry points.
 */

import { META_CLIENT_CAPABILITIES } from '../core/messages.js';
import type { JsonObject } from '../core/types.js';

/** `value` as a plain object, or `undefined`. */
export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** The handshake request's params (`initialize` or `server/discover`) with `entry` under `key`. */
export function paramsWithEntry(
  method: string,
  params: JsonObject | undefined,
  key: string,
  entry: unknown,
): JsonObject {
  const p = params ?? {};
  if (method === 'initialize') {
    const capabilities = asObject(p.capabilities) ?? {};
    const experimental = asObject(capabilities.experimental) ?? {};
    return { ...p, capabilities: { ...capabilities, experimental: { ...experimental, [key]: entry } } };
  }
  const meta = asObject(p._meta) ?? {};
  const capabilities = asObject(meta[META_CLIENT_CAPABILITIES]) ?? {};
  const extensions = asObject(capabilities.extensions) ?? {};
  return {
    ...p,
    _meta: {
      ...meta,
      [META_CLIENT_CAPABILITIES]: { ...capabilities, extensions: { ...extensions, [key]: entry } },
    },
  };
}

/** The entry under `key` in a handshake request's params, or `undefined`. */
export function entryOfParams(method: string, params: JsonObject | undefined, key: string): unknown {
  const member =
    method === 'initialize'
      ? asObject(params?.capabilities)?.experimental
      : asObject(asObject(params?._meta)?.[META_CLIENT_CAPABILITIES])?.extensions;
  return asObject(member)?.[key];
}

/** The handshake result with `entry` under `key` in its capabilities. */
export function resultWithEntry(method: string, result: JsonObject, key: string, entry: unknown): JsonObject {
  const capabilities = asObject(result.capabilities) ?? {};
  const member = method === 'initialize' ? 'experimental' : 'extensions';
  const existing = asObject(capabilities[member]) ?? {};
  return { ...result, capabilities: { ...capabilities, [member]: { ...existing, [key]: entry } } };
}

/** The entry under `key` in a handshake result's capabilities, or `undefined`. */
export function entryOfResult(method: string, result: unknown, key: string): unknown {
  const capabilities = asObject(asObject(result)?.capabilities);
  return asObject(capabilities?.[method === 'initialize' ? 'experimental' : 'extensions'])?.[key];
}
