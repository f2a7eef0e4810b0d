/**
 * A cheap estimate of the length of a value's JSON text, for byte bounds (a cache's
 * `maxEntryBytes`, a store's `maxBytes`) where serializing the value just to measure it
 * would cost more than everything else on the path (this walk visits nodes, not
 * characters; benchmark `cache.miss.inmemory` measures the miss path that uses it).
 *
 * What it counts: strings as their length in UTF-16 code units plus two quotes (escapes
 * are not counted, and a non-ASCII character counts 1 where UTF-8 needs 2–4 bytes, so
 * text in other scripts is underestimated by up to 3×), numbers as the length of their
 * text, and JSON's punctuation exactly. For ASCII text without escapes it equals
 * `JSON.stringify(value).length`. Same rules as `JSON.stringify` for what is left out
 * (`undefined`, functions, symbols) and for `toJSON()`.
 *
 * Internal: not exported from the public entry points.
 */

const MAX_DEPTH = 256;

/**
 * Estimated JSON length of `value`. The walk stops as soon as the running total passes
 * `limit` and answers that partial total (still `> limit`), so a huge value costs no more
 * than `limit` worth of walking.
 *
 * @throws TypeError for a bigint, or nesting deeper than 256 levels (a cycle)
 */
export function estimateJsonSize(value: unknown, limit: number = Number.POSITIVE_INFINITY): number {
  return size(value, 0, limit);
}

function size(value: unknown, depth: number, limit: number): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (depth >= MAX_DEPTH) {
        throw new TypeError(
          `estimateJsonSize: nesting deeper than ${MAX_DEPTH} levels (circular structure?)`,
        );
      }
      const toJson = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJson === 'function') return size(toJson.call(value), depth + 1, limit);
      if (Array.isArray(value)) {
        let total = value.length === 0 ? 2 : value.length + 1; // brackets and commas
        for (let i = 0; i < value.length && total <= limit; i++) {
          const item = value[i];
          total += isOmitted(item) ? 4 : size(item, depth + 1, limit - total);
        }
        return total;
      }
      const keys = Object.keys(value);
      let total = 2;
      let members = 0;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const item = (value as Record<string, unknown>)[key];
        if (isOmitted(item)) continue;
        total += key.length + 3 + size(item, depth + 1, limit - total);
        members++;
        if (total > limit) break;
      }
      return members === 0 ? total : total + members - 1;
    }
    case 'bigint':
      throw new TypeError('estimateJsonSize: a bigint cannot be serialized to JSON');
    default:
      return 0;
  }
}

function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}
