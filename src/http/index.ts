/**
 * HTTP content encoding for Streamable HTTP: a handler wrapper for servers and a fetch
 * middleware for clients.
 *
 * @module
 */

export {
  COMPRESSION_FETCH_DEFAULTS,
  type CompressionFetch,
  type CompressionFetchOptions,
  compressionFetch,
  type FetchLike,
} from './client.js';
export { type ContentEncoding, negotiate, SUPPORTED_ENCODINGS, ZSTD_AVAILABLE } from './encodings.js';
export {
  COMPRESS_HANDLER_DEFAULTS,
  type CompressedHandler,
  type CompressHandlerOptions,
  compressHandler,
  type NodeHandler,
  RequestBodyError,
} from './server.js';
export type { EncodingFigures, EncodingStats } from './stats.js';
