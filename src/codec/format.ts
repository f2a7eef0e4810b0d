import { type Options, Packr } from 'msgpackr';
import type { JsonRpcMessage } from '../core/types.js';

/**
 * The msgpackr configuration both ends of a binary hop use. Chosen so a message decodes
 * to exactly what `JSON.parse(JSON.stringify(message))` gives:
 * - `mapsAsObjects`: maps decode as plain objects, never `Map`;
 * - a property whose value is `undefined` is left out before encoding, as
 *   `JSON.stringify` leaves it out (a `null` is kept);
 * - `int64AsType: 'number'`: 64-bit integers decode as numbers, the precision JSON has
 *   in JavaScript;
 * - `useRecords: true`, without shared structures: each object shape is defined once per
 *   frame and reused within it, so a frame stays self-contained (no state across frames)
 *   while a `tools/list` shrinks by about half (the `compression.codec.formats` scenario);
 * - `-0` is written as the integer 0 by msgpackr itself, as JSON writes it.
 * A message holding anything else is sent as its JSON text instead (see {@link toWire}).
 */
export function createPackr(): Packr {
  const options: Options = {
    useRecords: true,
    mapsAsObjects: true,
    int64AsType: 'number',
    moreTypes: false,
    bundleStrings: false,
  };
  return new Packr(options);
}

const isWellFormed = (String.prototype as unknown as { isWellFormed?: () => boolean }).isWellFormed;

/** Set by {@link isPlainJson} when an object property holds `undefined`. */
let sawUndefined = false;

function wellFormed(s: string): boolean {
  return isWellFormed === undefined ? !/[\ud800-\udfff]/.test(s) : isWellFormed.call(s);
}

/**
 * True when `value` is made only of what `JSON.parse` produces (plus `undefined` object
 * properties, which both encodings drop) and MessagePack carries verbatim. Anything
 * else — `NaN`, `Infinity`, a `Date`, a class instance with `toJSON`, a `Map`, a
 * `bigint`, `undefined` inside an array, a byte array, a string with a lone surrogate
 * (UTF-8 cannot hold it), an own `__proto__` key (msgpackr renames it) — makes the
 * message travel as its JSON text. The walk is cheap next to encoding: a 100 KB text
 * result is a handful of nodes, and `isWellFormed` is a flag check on one-byte strings.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return wellFormed(value);
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          if (item === undefined || !isPlainJson(item, depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      for (const key in value) {
        if (key === '__proto__' || !wellFormed(key)) return false;
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) sawUndefined = true;
        else if (!isPlainJson(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * What a binary frame carries for `message`: the message itself when it is plain JSON
 * data (the usual case, no copy), otherwise its JSON text, which the reader parses (a
 * JSON-RPC message is never a bare string, so the two cannot be confused). The JSON
 * text is exactly what the SDK's stdio transport would write, and throws where
 * `JSON.stringify` throws (e.g. on a `bigint`).
 */
export function toWire(message: JsonRpcMessage): JsonRpcMessage | string {
  const plain = asPlainJson(message);
  return plain === undefined ? JSON.stringify(message) : (plain as JsonRpcMessage);
}

/**
 * `value` as msgpackr can carry it so it decodes to exactly `JSON.parse(JSON.stringify(value))`:
 * the value itself when it is plain JSON data (no copy), a copy without the object
 * properties holding `undefined` when it has some, or `undefined` when it holds anything
 * else (see {@link toWire}), which must then travel as JSON text.
 */
export function asPlainJson(value: unknown): unknown {
  sawUndefined = false;
  if (value === undefined || !isPlainJson(value, 0)) return undefined;
  return sawUndefined ? withoutUndefined(value) : value;
}

/**
 * A copy of plain JSON data without the object properties that hold `undefined` (records
 * would carry them; `JSON.stringify` drops them). Only called when there are some.
 */
function withoutUndefined(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(withoutUndefined);
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) out[key] = withoutUndefined(item);
  }
  return out;
}

/** The message a decoded frame payload stands for (see {@link toWire}). */
export function fromWire(payload: unknown): unknown {
  return typeof payload === 'string' ? JSON.parse(payload) : payload;
}
