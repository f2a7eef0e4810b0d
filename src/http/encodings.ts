import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';

/** A content coding this library speaks. */
export type ContentEncoding = 'zstd' | 'br' | 'gzip';

type ZstdZlib = {
  createZstdCompress?: (options?: object) => Transform;
  createZstdDecompress?: (options?: object) => Transform;
};

/** True when the running Node has zstd in `node:zlib` (Node 22.15 / 23.8 and later). */
export const ZSTD_AVAILABLE = typeof (zlib as unknown as ZstdZlib).createZstdCompress === 'function';

/** The codings this process can produce and read, in the default order of preference. */
export const SUPPORTED_ENCODINGS: readonly ContentEncoding[] = Object.freeze(
  ZSTD_AVAILABLE ? ['zstd', 'br', 'gzip'] : ['br', 'gzip'],
);

/** Compression levels. */
export interface Levels {
  /** Brotli quality, 0–11. */
  brotliQuality: number;
  /** Gzip level, 1–9. */
  gzipLevel: number;
  /** Zstd level, 1–22. */
  zstdLevel: number;
}

/** A compressing stream for `encoding`; `flush()` on it ends the current block. */
export function compressor(
  encoding: ContentEncoding,
  levels: Levels,
): zlib.Gzip | zlib.BrotliCompress | Transform {
  if (encoding === 'br') {
    return zlib.createBrotliCompress({
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: levels.brotliQuality },
    });
  }
  if (encoding === 'gzip') return zlib.createGzip({ level: levels.gzipLevel });
  const create = (zlib as unknown as ZstdZlib).createZstdCompress as (options?: object) => Transform;
  const constants = zlib.constants as unknown as Record<string, number>;
  return create({ params: { [constants.ZSTD_c_compressionLevel as number]: levels.zstdLevel } });
}

/** A decompressing stream for `encoding` (`deflate` too, for request bodies), or undefined. */
export function decompressor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd':
      return ZSTD_AVAILABLE
        ? ((zlib as unknown as ZstdZlib).createZstdDecompress as () => Transform)()
        : undefined;
    default:
      return undefined;
  }
}

/**
 * The coding to answer with, from an `Accept-Encoding` header: the first of `preferred`
 * the client accepts with a non-zero q-value (`*` counts), or undefined.
 */
export function negotiate(
  header: string | undefined,
  preferred: readonly ContentEncoding[],
): ContentEncoding | undefined {
  if (header === undefined || header === '') return undefined;
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q' && v !== undefined) q = Number(v);
    }
    accepted.set(name, Number.isFinite(q) ? q : 0);
  }
  const star = accepted.get('*');
  for (const encoding of preferred) {
    const q = accepted.get(encoding) ?? star;
    if (q !== undefined && q > 0) return encoding;
  }
  return undefined;
}
