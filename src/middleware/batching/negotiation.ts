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

import type { JsonObject, JsonRpcRequest } from '../../core/types.js';
import {
  asObject,
  entryOfParams,
  entryOfResult,
  paramsWithEntry,
  resultWithEntry,
} from '../../internal/handshake.js';

/** The capability (legacy) and extension (modern) key of request batching. */
export const BATCH_CAPABILITY = 'io.mcp-perf/batch';

/** The method of a request that carries a batch of requests. */
export const BATCH_METHOD = 'io.mcp-perf/batch';

/** What a client offers and a server accepts: the largest batch it sends or takes. */
export interface BatchCapability {
  /** Most requests in one batch. */
  maxBatchSize: number;
}

/** The handshake params with the client's offer added: a copy (the SDK's objects are never changed). */
export function paramsWithOffer(
  method: string,
  params: JsonObject | undefined,
  offer: BatchCapability,
): JsonObject {
  return paramsWithEntry(method, params, BATCH_CAPABILITY, offer);
}

/** The client's offer in a handshake request, or `undefined`. */
export function offerOf(method: string, params: JsonObject | undefined): BatchCapability | undefined {
  return capabilityOf(entryOfParams(method, params, BATCH_CAPABILITY));
}

/** The handshake result with the server's acceptance added (a copy). */
export function resultWithAcceptance(
  method: string,
  result: JsonObject,
  accepted: BatchCapability,
): JsonObject {
  return resultWithEntry(method, result, BATCH_CAPABILITY, accepted);
}

/** The server's acceptance in a handshake result, or `undefined`. */
export function acceptanceOf(method: string, result: unknown): BatchCapability | undefined {
  return capabilityOf(entryOfResult(method, result, BATCH_CAPABILITY));
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
