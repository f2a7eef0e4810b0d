/**
 * Canonical JSON: `JSON.stringify` with object keys sorted, so two structurally equal
 * values always produce the same text. The cache's key material
 * (`src/internal/key-material.ts`) must treat two values as equal exactly when their
 * canonical JSON is equal; the tests check it against this reference. Follows
 * `JSON.stringify` for everything else: `undefined`, functions and symbols are left out
 * of objects and become `null` in arrays, non-finite numbers become `null`, `toJSON()`
 * is honoured, a bigint throws.
 */

const MAX_DEPTH = 256;

/**
 * The canonical JSON text of `value`, or `undefined` for a value JSON cannot represent
 * at the top level (`undefined`, a function, a symbol).
 *
 * @throws TypeError for a bigint, or nesting deeper than 256 levels (a cycle)
 */
export function canonicalJson(value: unknown): string | undefined {
  return write(value, 0);
}

/**
 * The canonical JSON text of request params without their top-level `_meta` (progress
 * tokens, trace context, the modern per-request envelope: nothing that changes the
 * answer). `undefined` params and `{}` both give `{}`.
 */
export function canonicalParams(params: Record<string, unknown> | undefined): string {
  if (params === undefined || params === null) return '{}';
  return writeObject(params, 0, '_meta');
}

function write(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_DEPTH) {
        throw new TypeError(`canonicalJson: nesting deeper than ${MAX_DEPTH} levels (circular structure?)`);
      }
      const toJson = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJson === 'function') return write(toJson.call(value), depth + 1);
      if (Array.isArray(value)) return writeArray(value, depth);
      return writeObject(value as Record<string, unknown>, depth, undefined);
    }
    case 'bigint':
      throw new TypeError('canonicalJson: a bigint cannot be serialized to JSON');
    default:
      return undefined;
  }
}

function writeArray(array: readonly unknown[], depth: number): string {
  const n = array.length;
  if (n === 0) return '[]';
  let out = '[';
  for (let i = 0; i < n; i++) {
    if (i !== 0) out += ',';
    out += write(array[i], depth + 1) ?? 'null';
  }
  return out + ']';
}

function writeObject(object: Record<string, unknown>, depth: number, skip: string | undefined): string {
  const keys = Object.keys(object);
  if (keys.length > 1) keys.sort();
  let out = '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === skip) continue;
    const text = write(object[key], depth + 1);
    if (text === undefined) continue;
    if (first) first = false;
    else out += ',';
    out += JSON.stringify(key) + ':' + text;
  }
  return out + '}';
}
