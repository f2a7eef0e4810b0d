import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Transform } from 'node:stream';
import { InvalidOptionError, McpPerfError } from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import {
  type ContentEncoding,
  compressor,
  decompressor,
  type Levels,
  negotiate,
  SUPPORTED_ENCODINGS,
} from './encodings.js';
import { type EncodingStats, EncodingTally } from './stats.js';

/** Options of {@link compressHandler}. */
export interface CompressHandlerOptions {
  /**
   * JSON responses smaller than this many bytes go out uncompressed (below about 1 KB
   * compression does not pay). SSE streams are always compressed when the client
   * accepts it. Default: 1024.
   */
  threshold?: number;
  /** Codings offered, in order of preference. Default: `zstd` (when Node has it), `br`, `gzip`. */
  encodings?: readonly ContentEncoding[];
  /** Brotli quality for on-line use (0–11). Default: 4, chosen by the `compression.http` benchmark. */
  brotliQuality?: number;
  /** Gzip level (1–9). Default: 1. */
  gzipLevel?: number;
  /** Zstd level (1–22). Default: 3. */
  zstdLevel?: number;
  /**
   * Accept request bodies compressed with a coding in {@link SUPPORTED_ENCODINGS} or
   * `deflate`, and say so in an `Accept-Encoding` response header (so a client that
   * reads it may compress its requests). Default: true.
   */
  decodeRequests?: boolean;
  /**
   * Largest decompressed request body, in bytes. Decompression stops there with a 413
   * answer: a zip bomb costs at most this much memory. Default: 4 MiB (the SDK's own
   * request size limit).
   */
  maxRequestBytes?: number;
}

/** Defaults of {@link CompressHandlerOptions}. */
export const COMPRESS_HANDLER_DEFAULTS: Readonly<Required<CompressHandlerOptions>> = Object.freeze({
  threshold: 1024,
  encodings: SUPPORTED_ENCODINGS,
  brotliQuality: 4,
  gzipLevel: 1,
  zstdLevel: 3,
  decodeRequests: true,
  maxRequestBytes: 4 * 1024 * 1024,
});

/** A Node HTTP handler in the shape of the SDK's `transport.handleRequest(req, res, parsedBody)`. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown) => unknown;

/** The wrapped handler, with its counters. */
export interface CompressedHandler {
  (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown): Promise<void>;
  /** Bytes in and out per content type and coding, and how many bodies were compressed. */
  stats(): EncodingStats;
  /** `httpEncoding`: the name its figures appear under in `metrics({ sources })`. */
  readonly name: string;
}

/** A request body over `maxRequestBytes` once decompressed, or one that would not decompress. */
export class RequestBodyError extends McpPerfError {
  /** The HTTP status answered: 413 (too large) or 400 (corrupt). */
  readonly status: number;
  /**
   * @param status - 413 or 400
   * @param message - what was wrong, with the numbers
   */
  constructor(status: number, message: string) {
    super(status === 413 ? 'request_too_large' : 'bad_request_body', message);
    this.name = 'RequestBodyError';
    this.status = status;
  }
}

function positiveInt(where: string, name: string, value: unknown, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new InvalidOptionError(where, name, `an integer from ${min} to ${max}`, value);
  }
  return value as number;
}

const COMPRESSIBLE = /^(application\/json|text\/event-stream)/i;

/**
 * Reads a request body through `decoder`, stopping at `limit` decompressed bytes.
 * Resolves with the text; rejects with a {@link RequestBodyError}.
 */
export function readDecoded(req: IncomingMessage, decoder: Transform, limit: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: RequestBodyError) => {
      if (settled) return;
      settled = true;
      req.unpipe(decoder);
      decoder.destroy();
      req.resume();
      reject(error);
    };
    decoder.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        fail(
          new RequestBodyError(
            413,
            `request body exceeds maxRequestBytes once decompressed (more than ${limit} bytes)`,
          ),
        );
        return;
      }
      parts.push(chunk);
    });
    decoder.on('error', (error) =>
      fail(new RequestBodyError(400, `request body could not be decompressed: ${error.message}`)),
    );
    decoder.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(parts, size).toString('utf8'));
    });
    req.pipe(decoder);
  });
}

function headerValue(
  headers: OutgoingHttpHeaders | readonly unknown[] | undefined,
  res: ServerResponse,
  name: string,
) {
  return (
    res.getHeader(name) ??
    (headers && !Array.isArray(headers) ? (headers as OutgoingHttpHeaders)[name] : undefined)
  );
}

/**
 * Wraps a Node HTTP handler (typically `(req, res, body) => transport.handleRequest(req, res, body)`
 * around the SDK's `StreamableHTTPServerTransport`) with content encoding:
 * - a JSON response of at least `threshold` bytes is compressed with the first coding of
 *   `encodings` the client's `Accept-Encoding` allows;
 * - an SSE stream is compressed with a flush after every write, so each event reaches the
 *   client as soon as the server writes it;
 * - a compressed request body is decompressed (bounded by `maxRequestBytes`) and handed
 *   to the handler as its parsed body; the codings read are advertised in an
 *   `Accept-Encoding` response header.
 * A client that sends no `Accept-Encoding` gets the handler's bytes untouched.
 *
 * @example
 * ```ts
 * const handle = compressHandler((req, res, body) => transport.handleRequest(req, res, body));
 * createServer((req, res) => void handle(req, res)).listen(3000);
 * ```
 */
export function compressHandler(
  handler: NodeHandler,
  options: CompressHandlerOptions = {},
): CompressedHandler {
  const where = 'compressHandler';
  if (typeof handler !== 'function') throw new InvalidOptionError(where, 'handler', 'a function', handler);
  const d = COMPRESS_HANDLER_DEFAULTS;
  const threshold = positiveInt(where, 'threshold', options.threshold ?? d.threshold, 0, 2 ** 31);
  const maxRequestBytes = positiveInt(
    where,
    'maxRequestBytes',
    options.maxRequestBytes ?? d.maxRequestBytes,
    1,
    2 ** 31,
  );
  const levels: Levels = {
    brotliQuality: positiveInt(where, 'brotliQuality', options.brotliQuality ?? d.brotliQuality, 0, 11),
    gzipLevel: positiveInt(where, 'gzipLevel', options.gzipLevel ?? d.gzipLevel, 1, 9),
    zstdLevel: positiveInt(where, 'zstdLevel', options.zstdLevel ?? d.zstdLevel, 1, 22),
  };
  const encodings = options.encodings ?? d.encodings;
  if (!Array.isArray(encodings) || encodings.some((e) => !SUPPORTED_ENCODINGS.includes(e))) {
    throw new InvalidOptionError(
      where,
      'encodings',
      `a list of ${SUPPORTED_ENCODINGS.join(', ')}`,
      encodings,
    );
  }
  const decodeRequests = options.decodeRequests ?? d.decodeRequests;
  const advertised = [...SUPPORTED_ENCODINGS, 'deflate'].join(', ');
  const tally = new EncodingTally();

  async function compressedHandler(
    req: IncomingMessage,
    res: ServerResponse,
    parsedBody?: unknown,
  ): Promise<void> {
    let body = parsedBody;
    const requestEncoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (decodeRequests) res.setHeader('Accept-Encoding', advertised);
    if (
      body === undefined &&
      requestEncoding !== undefined &&
      requestEncoding !== 'identity' &&
      decodeRequests
    ) {
      const decoder = decompressor(requestEncoding);
      if (decoder === undefined) {
        res.writeHead(415, { 'Content-Type': 'application/json', 'Accept-Encoding': advertised });
        res.end(jsonRpcError(-32600, `unsupported Content-Encoding: ${requestEncoding}`));
        return;
      }
      try {
        const text = await readDecoded(req, decoder, maxRequestBytes);
        tally.requestDecoded(text.length, Number(req.headers['content-length'] ?? Number.NaN));
        body = JSON.parse(text);
      } catch (error) {
        const status = error instanceof RequestBodyError ? error.status : 400;
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(jsonRpcError(status === 400 ? -32700 : -32600, asError(error).message));
        return;
      }
    }
    const encoding = negotiate(req.headers['accept-encoding'] as string | undefined, encodings);
    if (encoding !== undefined && req.method !== 'HEAD') encodeResponse(res, encoding);
    await handler(req, res, body);
  }

  function encodeResponse(res: ServerResponse, encoding: ContentEncoding): void {
    const writeHead = res.writeHead as unknown as (...a: unknown[]) => ServerResponse;
    const write = res.write as unknown as (...a: unknown[]) => boolean;
    const end = res.end as unknown as (...a: unknown[]) => ServerResponse;
    let stream: Transform | undefined;
    let sse = false;
    let type = '';
    let bytesIn = 0;
    let bytesOut = 0;
    res.writeHead = function encodingWriteHead(this: ServerResponse, status: number, ...rest: unknown[]) {
      const headers = (typeof rest[0] === 'string' ? rest[1] : rest[0]) as OutgoingHttpHeaders | undefined;
      const contentType = String(headerValue(headers, res, 'content-type') ?? '');
      const length = headerValue(headers, res, 'content-length');
      const already = headerValue(headers, res, 'content-encoding');
      type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
      sse = type === 'text/event-stream';
      const big = length === undefined || Number(length) >= threshold;
      // Headers in the raw array form pass through as they are: they cannot be merged safely.
      if (
        !Array.isArray(headers) &&
        COMPRESSIBLE.test(contentType) &&
        already === undefined &&
        status !== 204 &&
        status !== 304 &&
        (sse || big)
      ) {
        if (headers) for (const [k, v] of Object.entries(headers)) if (v !== undefined) res.setHeader(k, v);
        res.removeHeader('content-length');
        res.setHeader('Content-Encoding', encoding);
        res.appendHeader?.('Vary', 'Accept-Encoding');
        const z = compressor(encoding, levels);
        stream = z;
        z.on('data', (chunk: Buffer) => {
          bytesOut += chunk.length;
          if (!write.call(res, chunk)) {
            z.pause();
            res.once('drain', () => z.resume());
          }
        });
        z.on('end', () => {
          tally.response(type, encoding, bytesIn, bytesOut);
          end.call(res);
        });
        z.on('error', (error) => res.destroy(error));
        return typeof rest[0] === 'string'
          ? writeHead.call(this, status, rest[0] as string)
          : writeHead.call(this, status);
      }
      return writeHead.call(this, status, ...rest);
    } as typeof res.writeHead;
    res.write = function encodingWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]): boolean {
      if (stream === undefined) return write.call(this, chunk, ...rest);
      const data =
        typeof chunk === 'string'
          ? Buffer.from(chunk, typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8')
          : (chunk as Buffer);
      bytesIn += data.length;
      const ok = stream.write(data);
      // One flush per write: an SSE event is one write, and must not wait for the next.
      if (sse) (stream as Transform & { flush(cb?: () => void): void }).flush();
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (cb) process.nextTick(cb);
      return ok;
    } as typeof res.write;
    res.end = function encodingEnd(
      this: ServerResponse,
      chunk?: unknown,
      ...rest: unknown[]
    ): ServerResponse {
      if (!res.headersSent && stream === undefined && typeof chunk !== 'function' && chunk != null) {
        // A body written in one `end` without a Content-Length: size it so the threshold applies.
        const size = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Buffer).length;
        if (!res.hasHeader('content-length')) res.setHeader('Content-Length', size);
      }
      if (!res.headersSent && stream === undefined) res.writeHead(res.statusCode);
      if (stream === undefined) return end.call(this, chunk, ...rest);
      if (chunk != null && typeof chunk !== 'function') {
        const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        bytesIn += data.length;
        stream.end(data);
      } else stream.end();
      const cb = [chunk, ...rest].find((r) => typeof r === 'function') as (() => void) | undefined;
      if (cb) res.once('finish', cb);
      return res;
    } as typeof res.end;
  }

  const wrapped = compressedHandler as CompressedHandler;
  wrapped.stats = () => tally.snapshot();
  // The name its figures appear under in `metrics({ sources: [handle] })`.
  Object.defineProperty(wrapped, 'name', { value: 'httpEncoding' });
  return wrapped;
}

function jsonRpcError(code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } });
}
