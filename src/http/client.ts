import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { InvalidOptionError } from '../errors/index.js';
import { type EncodingStats, EncodingTally } from './stats.js';

/** The `fetch` shape the SDK's HTTP client transports take (`FetchLike`). */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@link compressionFetch}. */
export interface CompressionFetchOptions {
  /**
   * `Accept-Encoding` sent when a request has none. Default: `br, gzip` — what Node's
   * `fetch` decodes by itself (it decodes any coding it knows, whoever asked for it).
   */
  acceptEncoding?: string;
  /**
   * Request bodies of at least this many bytes are sent gzip-compressed, once a response
   * from the same origin has listed `gzip` in its `Accept-Encoding` header (as
   * `compressHandler` does). `0` turns request compression off. Default: 1024.
   */
  requestThreshold?: number;
  /** Gzip level for request bodies (1–9). Default: 1. */
  gzipLevel?: number;
}

/** Defaults of {@link CompressionFetchOptions}. */
export const COMPRESSION_FETCH_DEFAULTS: Readonly<Required<CompressionFetchOptions>> = Object.freeze({
  acceptEncoding: 'br, gzip',
  requestThreshold: 1024,
  gzipLevel: 1,
});

/** A fetch middleware in the SDK's convention (`(next) => fetch`), with its counters. */
export interface CompressionFetch {
  (next?: FetchLike): FetchLike;
  /** Request bodies compressed (bytes before and after) and responses seen per coding. */
  stats(): EncodingStats;
  /** `httpEncodingFetch`: the name its figures appear under in `metrics({ sources })`. */
  readonly name: string;
}

const gzip = promisify(zlib.gzip);

/**
 * A client-side fetch middleware for Streamable HTTP: asks for compressed responses, and
 * compresses large request bodies once the server has said it reads them. Use it with
 * the SDK's `fetch` option, or with its `applyMiddlewares`:
 *
 * @example
 * ```ts
 * const transport = new StreamableHTTPClientTransport(url, { fetch: compressionFetch()(fetch) });
 * ```
 * Decoding of responses is left to `fetch` itself (Node's decodes `br`, `gzip` and
 * `deflate`); a server that does not compress answers as before.
 */
export function compressionFetch(options: CompressionFetchOptions = {}): CompressionFetch {
  const where = 'compressionFetch';
  const d = COMPRESSION_FETCH_DEFAULTS;
  const acceptEncoding = options.acceptEncoding ?? d.acceptEncoding;
  if (typeof acceptEncoding !== 'string' || acceptEncoding === '') {
    throw new InvalidOptionError(where, 'acceptEncoding', 'a non-empty string', acceptEncoding);
  }
  const requestThreshold = options.requestThreshold ?? d.requestThreshold;
  if (!Number.isSafeInteger(requestThreshold) || requestThreshold < 0) {
    throw new InvalidOptionError(where, 'requestThreshold', 'a non-negative integer', requestThreshold);
  }
  const gzipLevel = options.gzipLevel ?? d.gzipLevel;
  if (!Number.isInteger(gzipLevel) || gzipLevel < 1 || gzipLevel > 9) {
    throw new InvalidOptionError(where, 'gzipLevel', 'an integer from 1 to 9', gzipLevel);
  }
  const tally = new EncodingTally();
  /** Origins whose responses listed gzip in Accept-Encoding. */
  const gzipOrigins = new Set<string>();

  const middleware = ((next: FetchLike = fetch) =>
    async function compressingFetch(url: string | URL, init?: RequestInit): Promise<Response> {
      const origin = new URL(url).origin;
      const headers = new Headers(init?.headers);
      if (!headers.has('accept-encoding')) headers.set('accept-encoding', acceptEncoding);
      let body = init?.body;
      if (
        requestThreshold > 0 &&
        typeof body === 'string' &&
        body.length >= requestThreshold &&
        !headers.has('content-encoding') &&
        gzipOrigins.has(origin)
      ) {
        const plain = Buffer.from(body);
        const packed = await gzip(plain, { level: gzipLevel });
        tally.requestDecoded(plain.length, packed.length);
        headers.set('content-encoding', 'gzip');
        body = packed;
      }
      const response = await next(url, { ...init, headers, body });
      const advertised = response.headers.get('accept-encoding');
      if (advertised !== null && /(^|[\s,])gzip($|[\s,;])/i.test(advertised)) gzipOrigins.add(origin);
      else if (advertised === null) gzipOrigins.delete(origin);
      const coding = response.headers.get('content-encoding');
      if (coding !== null) {
        const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
        const length = Number(response.headers.get('content-length') ?? Number.NaN);
        tally.response(type, coding, Number.NaN, length);
      }
      return response;
    }) as CompressionFetch;
  middleware.stats = () => tally.snapshot();
  // The name its figures appear under in `metrics({ sources: [fetchMiddleware] })`.
  Object.defineProperty(middleware, 'name', { value: 'httpEncodingFetch' });
  return middleware;
}
