/**
 * How two mcp-perf peers agree on request batching, and the shape of a batch on the wire.
 *
 * The client offers it in its handshake request and the server accepts it in the result,
 * as the binary codec is negotiated: `capabilities.experimental[BATCH_CAPABILITY]` in an
 * `initialize` request and result (legacy era), `extensions[BATCH_CAPABILITY]` in the client
 * capabilities of a `server/discover` request and in its result (modern era).
 *
 * A batch is one request, {@link BATCH_METHOD}, whose params carry the requests and whose
 * result carries their responses. It is not a JSON-RPC array: arrays are valid only in
 * protocol version 2025-03-26, and stream transports never accept them, while one request
 * travels on every transport and version.
 */

import { META_CLIENT_CAPABILITIES } from '../../core/messages.js';
import type { JsonObject, JsonRpcRequest } from '../../core/types.js';

/** The capability (legacy) and extension (modern) key of request batching. */
export const BATCH_CAPABILITY = 'io.mcp-perf/batch';

/** The method of a request that carries a batch of requests. */
export const BATCH_METHOD = 'io.mcp-perf/batch';

/** What a client offers and a server accepts: the largest batch it sends or takes. */
export interface BatchCapability {
  /** Most requests in one batch. */
  maxBatchSize: number;
}

function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/** The handshake params with the client's offer added: a copy (the SDK's objects are never changed). */
export function paramsWithOffer(
  method: string,
  params: JsonObject | undefined,
  offer: BatchCapability,
): JsonObject {
  const p = params ?? {};
  if (method === 'initialize') {
    const capabilities = asObject(p.capabilities) ?? {};
    const experimental = asObject(capabilities.experimental) ?? {};
    return {
      ...p,
      capabilities: {
        ...capabilities,
        experimental: { ...experimental, [BATCH_CAPABILITY]: offer },
      },
    };
  }
  const meta = asObject(p._meta) ?? {};
  const capabilities = asObject(meta[META_CLIENT_CAPABILITIES]) ?? {};
  const extensions = asObject(capabilities.extensions) ?? {};
  return {
    ...p,
    _meta: {
      ...meta,
      [META_CLIENT_CAPABILITIES]: {
        ...capabilities,
        extensions: { ...extensions, [BATCH_CAPABILITY]: offer },
      },
    },
  };
}

/** The client's offer in a handshake request, or `undefined`. */
export function offerOf(method: string, params: JsonObject | undefined): BatchCapability | undefined {
  const member =
    method === 'initialize'
      ? asObject(params?.capabilities)?.experimental
      : asObject(asObject(params?._meta)?.[META_CLIENT_CAPABILITIES])?.extensions;
  return capabilityOf(asObject(member)?.[BATCH_CAPABILITY]);
}

/** The handshake result with the server's acceptance added (a copy). */
export function resultWithAcceptance(
  method: string,
  result: JsonObject,
  accepted: BatchCapability,
): JsonObject {
  const capabilities = asObject(result.capabilities) ?? {};
  const member = method === 'initialize' ? 'experimental' : 'extensions';
  const existing = asObject(capabilities[member]) ?? {};
  return {
    ...result,
    capabilities: {
      ...capabilities,
      [member]: { ...existing, [BATCH_CAPABILITY]: accepted },
    },
  };
}

/** The server's acceptance in a handshake result, or `undefined`. */
export function acceptanceOf(method: string, result: unknown): BatchCapability | undefined {
  const capabilities = asObject(asObject(result)?.capabilities);
  const member = asObject(capabilities?.[method === 'initialize' ? 'experimental' : 'extensions']);
  return capabilityOf(member?.[BATCH_CAPABILITY]);
}

function capabilityOf(value: unknown): BatchCapability | undefined {
  const size = asObject(value)?.maxBatchSize;
  return typeof size === 'number' && Number.isInteger(size) && size >= 1 ? { maxBatchSize: size } : undefined;
}

/** The requests a batch request carries, or a reason it carries none. */
export function requestsOf(params: JsonObject | undefined): JsonRpcRequest[] | string {
  const requests = params?.requests;
  if (!Array.isArray(requests)) return 'params.requests is not an array';
  if (requests.length === 0) return 'params.requests is empty';
  return requests as JsonRpcRequest[];
}
