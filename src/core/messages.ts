/**
 * Cheap structural checks and protocol constants. The SDK's zod guards parse the whole
 * message; these look at a few fields, which is all the pipeline needs since the
 * transports have already validated what they deliver.
 */

import type {
  Era,
  JsonObject,
  JsonRpcMessage,
  JsonRpcNotification,
  JsonRpcRequest,
  JsonRpcResponse,
} from './types.js';

/** The first protocol version of the modern era (no `initialize`, per-request `_meta`). */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';

/** `_meta` key carrying the protocol version on every modern request. */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
/** `_meta` key carrying the client's capabilities on every modern request. */
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
/** `_meta` key carrying the client's name and version on modern requests. */
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';
/** `_meta` key naming the `subscriptions/listen` request a modern change notification is delivered on. */
export const META_SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

/** Methods that are never cached, queued or delayed. */
export const CONTROL_METHODS: ReadonlySet<string> = new Set(['initialize', 'server/discover', 'ping']);

/** True for the requests that open a session and carry capabilities: `initialize` (legacy) and `server/discover` (modern). */
export function isHandshake(method: string): boolean {
  return method === 'initialize' || method === 'server/discover';
}

/** List methods whose results carry cache hints (and are paginated) in the modern era. */
export const LIST_METHODS: ReadonlySet<string> = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
]);

/** Methods whose modern results carry `ttlMs` and `cacheScope`. */
export const CACHE_HINT_METHODS: ReadonlySet<string> = new Set([
  ...LIST_METHODS,
  'resources/read',
  'server/discover',
]);

/** The era a protocol version belongs to. */
export function eraOf(version: string): Era {
  return version >= MODERN_PROTOCOL_VERSION ? 'modern' : 'legacy';
}

/** True for a request (has `method` and `id`). */
export function isRequest(message: JsonRpcMessage): message is JsonRpcRequest {
  return 'method' in message && 'id' in message;
}

/** True for a notification (has `method`, no `id`). */
export function isNotification(message: JsonRpcMessage): message is JsonRpcNotification {
  return 'method' in message && !('id' in message);
}

/** True for a response (has `id` and `result` or `error`, no `method`). */
export function isResponse(message: JsonRpcMessage): message is JsonRpcResponse {
  return !('method' in message) && ('result' in message || 'error' in message);
}

/** Reads `params._meta`, or undefined. */
export function metaOf(params: JsonObject | undefined): JsonObject | undefined {
  const meta = params?._meta;
  return typeof meta === 'object' && meta !== null ? (meta as JsonObject) : undefined;
}

/**
 * Describes why a value is not a JSON-RPC message, or returns undefined if it is one.
 * Used only on the rare path where a message has neither a method nor a result.
 */
export function malformation(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return `expected a JSON-RPC object, got ${Array.isArray(message) ? 'an array' : typeof message}`;
  }
  const m = message as Record<string, unknown>;
  if ('method' in m) {
    if (typeof m.method !== 'string') return 'method is not a string';
    if ('id' in m && typeof m.id !== 'string' && typeof m.id !== 'number')
      return 'request id is not a string or number';
    if (
      m.params !== undefined &&
      (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))
    )
      return 'params is not an object';
    return undefined;
  }
  if ('id' in m && ('result' in m || 'error' in m)) return undefined;
  return 'neither a request, a notification nor a response';
}
