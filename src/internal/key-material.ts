/**
 * Key material: a compact, injective text encoding of JSON-like values with object keys
 * sorted, for cache keys. Two values get the same text exactly when their canonical JSON
 * (see `canonical-json.ts`) is the same: `JSON.stringify` semantics decide what counts
 * (`undefined`, functions and symbols are left out of objects and become `null` in
 * arrays, non-finite numbers are `null`, `-0` is `0`, `toJSON()` is honoured, a bigint
 * throws).
 *
 * It is not JSON: a string is written as `'<length>:<raw text>'` instead of a quoted,
 * escaped literal, so a long argument costs a concatenation rather than the escape scan
 * `JSON.stringify` makes over every character (this encoding costs the same for 10 bytes
 * or 10 KB; benchmark `cache.miss-1kb-args.inmemory` measures a key of 1 KB of arguments).
 * Strings that are not well-formed
 * UTF-16 (a lone surrogate, which UTF-8 hashing would turn into U+FFFD and so confuse with
 * another) are written as their JSON literal instead, which starts with `"`.
 *
 * Grammar (every value starts with a tag character, so the text parses back one way):
 * `'n:text` string · `"…"` JSON string literal · `#<number>` finite number · `t` `f` ·
 * `z` null · `{` (string value)* `}` · `[` value* `]`.
 *
 * Internal: not exported from the public entry points.
 */

const MAX_DEPTH = 256;

const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/\p{Surrogate}/u.test(s);

/**
 * The key material of request params without their top-level `_meta` (progress tokens,
 * trace context, the modern per-request envelope: nothing that changes the answer).
 * `undefined` params and `{}` both give `{}`.
 *
 * @throws TypeError for a bigint, or nesting deeper than 256 levels (a cycle)
 */
export function paramsKeyMaterial(params: Record<string, unknown> | undefined): string {
  if (params === undefined || params === null) return '{}';
  return writeObject(params, 0, '_meta');
}

/**
 * The key material of any value, or `undefined` for a value JSON leaves out at the top
 * level (`undefined`, a function, a symbol).
 *
 * @throws TypeError for a bigint, or nesting deeper than 256 levels (a cycle)
 */
export function keyMaterial(value: unknown): string | undefined {
  return write(value, 0);
}

/** A string as key material: length-prefixed raw text, or its JSON literal when not well-formed. */
export function stringMaterial(s: string): string {
  return isWellFormed(s) ? "'" + s.length + ':' + s : JSON.stringify(s);
}

function write(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return stringMaterial(value);
    case 'number':
      return Number.isFinite(value) ? '#' + value : 'z';
    case 'boolean':
      return value ? 't' : 'f';
    case 'object': {
      if (value === null) return 'z';
      if (depth >= MAX_DEPTH) {
        throw new TypeError(`keyMaterial: nesting deeper than ${MAX_DEPTH} levels (circular structure?)`);
      }
      const toJson = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJson === 'function') return write(toJson.call(value), depth + 1);
      if (Array.isArray(value)) return writeArray(value, depth);
      return writeObject(value as Record<string, unknown>, depth, undefined);
    }
    case 'bigint':
      throw new TypeError('keyMaterial: a bigint cannot be serialized to JSON');
    default:
      return undefined;
  }
}

function writeArray(array: readonly unknown[], depth: number): string {
  let out = '[';
  for (let i = 0; i < array.length; i++) out += write(array[i], depth + 1) ?? 'z';
  return out + ']';
}

/** Objects with at most this many keys are sorted by insertion, which beats `Array#sort`'s set-up at this size. */
const INSERTION_SORT_MAX = 16;

/** Property names remembered with their material (names repeat across requests: `name`, `arguments` …). */
const NAMES_MAX = 4096;
const names = new Map<string, string>();

/** The material of a property name, remembered while fewer than {@link NAMES_MAX} are. */
function nameMaterial(key: string): string {
  let text = names.get(key);
  if (text === undefined) {
    text = stringMaterial(key);
    if (names.size < NAMES_MAX) names.set(key, text);
  }
  return text;
}

/** Sorts property names in place (code-unit order, as `Array#sort` with no comparator). */
function sortNames(keys: string[]): void {
  if (keys.length > INSERTION_SORT_MAX) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
}

function writeObject(object: Record<string, unknown>, depth: number, skip: string | undefined): string {
  const keys = Object.keys(object);
  if (keys.length > 1) sortNames(keys);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === skip) continue;
    const text = write(object[key], depth + 1);
    if (text !== undefined) out += nameMaterial(key) + text;
  }
  return out + '}';
}
