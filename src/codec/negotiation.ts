import { isHandshake } from '../core/messages.js';
import type { JsonObject, JsonRpcMessage, JsonRpcRequest, RequestId } from '../core/types.js';
import {
  asObject,
  entryOfParams,
  entryOfResult,
  paramsWithEntry,
  resultWithEntry,
} from '../internal/handshake.js';

/**
 * The capability key both eras use: `capabilities.experimental[CODEC_CAPABILITY]` in an
 * `initialize` request and result (legacy era), `extensions[CODEC_CAPABILITY]` in the
 * client capabilities of a `server/discover` request and in its result (modern era).
 */
export const CODEC_CAPABILITY = 'io.mcp-perf/codec';

/** The one binary format spoken today. */
export const CODEC_FORMAT = 'msgpack';

/** The client's offer: the formats it can switch to, in order of preference. */
export interface CodecOffer {
  /** Formats the client reads and writes, e.g. `['msgpack']`. */
  formats: string[];
}

/** The server's acceptance: the format both sides switch to. */
export interface CodecAcceptance {
  /** The chosen format. */
  format: string;
}

const OFFER: CodecOffer = { formats: [CODEC_FORMAT] };
const ACCEPTANCE: CodecAcceptance = { format: CODEC_FORMAT };

/** Whether a request is one of the two handshake requests that can carry the offer. */
export function isHandshakeRequest(message: JsonRpcMessage): message is JsonRpcRequest {
  const method = (message as { method?: unknown }).method;
  return 'id' in message && typeof method === 'string' && isHandshake(method);
}

/**
 * The handshake request with the client's offer added: a copy (the SDK's own objects are
 * never changed). `initialize` carries it in `params.capabilities.experimental`,
 * `server/discover` in the `extensions` of `params._meta[clientCapabilities]`.
 */
export function withOffer(request: JsonRpcRequest): JsonRpcRequest {
  return {
    ...request,
    params: paramsWithEntry(request.method, asObject(request.params), CODEC_CAPABILITY, OFFER),
  };
}

/** The handshake request's offer lists a format this side speaks. */
export function offersCodec(request: JsonRpcRequest): boolean {
  const offer = asObject(entryOfParams(request.method, asObject(request.params), CODEC_CAPABILITY));
  return Array.isArray(offer?.formats) && offer.formats.includes(CODEC_FORMAT);
}

/**
 * The handshake result with the server's acceptance added (a copy): in
 * `capabilities.experimental` for `initialize`, in `capabilities.extensions` for
 * `server/discover`.
 */
export function withAcceptance(method: string, result: JsonObject): JsonObject {
  return resultWithEntry(method, result, CODEC_CAPABILITY, ACCEPTANCE);
}

/** The handshake result accepts the format this side offered. */
export function acceptsCodec(method: string, result: unknown): boolean {
  return asObject(entryOfResult(method, result, CODEC_CAPABILITY))?.format === CODEC_FORMAT;
}

/** A request id as a map key that keeps `1` and `"1"` apart. */
export function idKey(id: RequestId): string | number {
  return typeof id === 'number' ? id : `s:${id}`;
}
