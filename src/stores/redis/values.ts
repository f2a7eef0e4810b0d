/**
 * How the Redis cache store writes an entry into its hash, and reads it back. An entry is
 * the object `{ value, size, storedAt, freshUntil, staleUntil, tags }`, in one of two forms:
 *
 * - field `v`: its JSON text (every entry up to `encoding.binaryOverBytes`, and any entry
 *   msgpackr cannot carry exactly);
 * - field `b`: one format byte ({@link BINARY_FORMAT}) then the entry packed by msgpackr,
 *   for larger entries, where msgpackr is several times cheaper to encode and decode (the
 *   `compression.redis-values` scenario).
 *
 * A writer deletes the hash before writing one form, so a hash holds one of them. A reader
 * accepts both, whatever its own setting: entries written by older versions (JSON only) and
 * by replicas configured otherwise are all read. A version that knows only `v` finds no
 * `v` in a binary entry: a plain miss, never an error.
 *
 * @module
 */

import { RESERVE_START_SPACE } from 'msgpackr';
import { RESP_TYPES } from 'redis';
import { asPlainJson, createPackr } from '../../codec/format.js';
import type { CacheEntry } from '../types.js';

/** First byte of a binary entry: msgpackr with the codec's settings. Another byte is a format this version does not know. */
export const BINARY_FORMAT = 1;

/** The hash field of the JSON form. */
export const JSON_FIELD = 'v';
/** The hash field of the binary form. */
export const BINARY_FIELD = 'b';

/**
 * Asks node-redis for bulk strings as Buffers rather than UTF-8 strings, so binary entries
 * arrive intact. A JSON entry then costs one `toString` here instead of the one node-redis
 * would have made.
 */
export const AS_BUFFERS = Object.freeze({ typeMapping: Object.freeze({ [RESP_TYPES.BLOB_STRING]: Buffer }) });

/**
 * The codec's msgpackr settings: records (each object shape defined once per entry, so a
 * list of tools with the same schema shape decodes about 3× faster than its JSON), no state
 * shared between entries, and values that decode to what their JSON would parse to.
 */
const packr = createPackr();

/** An entry as written: the hash field and its content. */
export type EncodedEntry = readonly [typeof JSON_FIELD, string] | readonly [typeof BINARY_FIELD, Buffer];

/**
 * `entry` in the form its size calls for: binary when `binaryOverBytes` is a number below
 * `entry.size` (the length of the value's JSON) and msgpackr carries the entry exactly,
 * JSON otherwise.
 *
 * @throws what `JSON.stringify` throws (a `bigint`, a cycle) on the JSON path
 */
export function encodeEntry(entry: CacheEntry, binaryOverBytes: number | undefined): EncodedEntry {
  const { value, size, storedAt, freshUntil, staleUntil, tags } = entry;
  const record = { value, size, storedAt, freshUntil, staleUntil, tags };
  if (binaryOverBytes !== undefined && size > binaryOverBytes) {
    const plain = asPlainJson(record);
    if (plain !== undefined) {
      // One byte reserved in front of the packed entry for the format, so nothing is copied.
      const bytes = packr.pack(plain, RESERVE_START_SPACE | 1);
      bytes[0] = BINARY_FORMAT;
      return [BINARY_FIELD, bytes];
    }
  }
  return [JSON_FIELD, JSON.stringify(record)];
}

/**
 * The entry in a hash's `v` (JSON) and `b` (binary) fields as Redis answered them (strings
 * or Buffers), `null` when neither holds one, or `undefined` when what is there is not a
 * valid entry (malformed JSON or bytes, an unknown format, a binary entry delivered as a
 * string by a client that ignores {@link AS_BUFFERS}, a missing or mistyped field).
 */
export function decodeEntry(json: unknown, binary: unknown): CacheEntry | null | undefined {
  if (json !== null && json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof json === 'string' ? json : String(json));
    } catch {
      return undefined;
    }
    return validEntry(parsed);
  }
  if (binary === null || binary === undefined) return null;
  if (!Buffer.isBuffer(binary) || binary.length < 2 || binary[0] !== BINARY_FORMAT) return undefined;
  let unpacked: unknown;
  try {
    unpacked = packr.unpack(binary.subarray(1));
  } catch {
    return undefined;
  }
  return validEntry(unpacked);
}

function validEntry(parsed: unknown): CacheEntry | undefined {
  if (typeof parsed !== 'object' || parsed === null || !('value' in parsed)) return undefined;
  const e = parsed as Record<string, unknown>;
  if (
    typeof e.size !== 'number' ||
    typeof e.storedAt !== 'number' ||
    typeof e.freshUntil !== 'number' ||
    typeof e.staleUntil !== 'number' ||
    !Array.isArray(e.tags) ||
    !e.tags.every((tag) => typeof tag === 'string')
  ) {
    return undefined;
  }
  return parsed as CacheEntry;
}
