/**
 * Freezing JSON-like values in place, so a value can be shared by reference (a cache
 * entry handed to every reader) without a copy: an attempt to change it afterwards throws
 * in strict code and is ignored otherwise, and never alters what the others see.
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
