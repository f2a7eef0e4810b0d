/**
 * Freezing JSON-like values, so a value can be shared by reference (a cache entry handed
 * to every reader): an attempt to change it afterwards throws in strict code and is
 * ignored otherwise, and never alters what the others see. {@link deepFreeze} freezes in
 * place (the caller gives up the value); {@link frozenCopy} freezes a copy (the caller
 * keeps its value mutable).
 *
 * Internal: not exported from the public entry points.
 */

const MAX_DEPTH = 256;

/**
 * Freezes plain objects and arrays in `value`, at every level. Answers `false`, leaving
 * the value partly frozen, when it meets something it cannot make immutable in place: an
 * object of another class (a `Date`, a typed array, a `Map` …), or nesting deeper than
 * 256 levels. The caller then needs a copy (e.g. a JSON round trip) instead.
 */
export function deepFreeze(value: unknown): boolean {
  return freeze(value, 0);
}

function freeze(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    Object.freeze(value);
    for (let i = 0; i < value.length; i++) if (!freeze(value[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  Object.freeze(value);
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    if (!freeze((value as Record<string, unknown>)[keys[i]!], depth + 1)) return false;
  }
  return true;
}

/**
 * A deep copy of `value`, frozen as it is built: one pass over plain objects and arrays,
 * far cheaper than `structuredClone` followed by a freezing walk. An object of another
 * class (a `Date`, a `Map` …) is copied by `structuredClone`, and the copy and its own
 * properties are frozen (its internal state, such as a `Date`'s time, stays settable).
 * `value` itself is never changed.
 *
 * @throws TypeError for nesting deeper than 256 levels (a cycle)
 */
export function frozenCopy<T>(value: T): T {
  return copy(value, 0) as T;
}

function copy(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) {
    throw new TypeError(`frozenCopy: nesting deeper than ${MAX_DEPTH} levels (circular structure?)`);
  }
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i], depth + 1);
    return Object.freeze(out);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return freezeOwn(structuredClone(value));
  const out: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = copy((value as Record<string, unknown>)[key], depth + 1);
    // JSON.parse makes "__proto__" an own key; assigning it would set the copy's prototype instead.
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true });
    else out[key] = item;
  }
  return Object.freeze(out);
}

/** Freezes an object of any class and its own enumerable properties, at every level. */
function freezeOwn<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) freezeOwn((value as Record<string, unknown>)[key]);
  }
  return value;
}
