/**
 * Durations and sizes as people write them in a config file: `"250ms"`, `"5m"`,
 * `"64MiB"`. A bare number is milliseconds or bytes.
 */

const DURATION_UNITS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
});

const SIZE_UNITS: Readonly<Record<string, number>> = Object.freeze({
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
});

/** What a duration string looks like (also the JSON Schema's `pattern`). */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*(ms|s|m|h|d)$';
/** What a size string looks like (also the JSON Schema's `pattern`), units case-insensitive. */
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*([bB]|[kKmMgG][iI]?[bB])$';

const DURATION_RE = new RegExp(DURATION_PATTERN);
const SIZE_RE = new RegExp(SIZE_PATTERN);

/**
 * Milliseconds from a non-negative number (already milliseconds) or a string such as
 * `"250ms"`, `"1.5s"`, `"5m"`, `"2h"`, `"1d"`; `undefined` for anything else.
 *
 * @example
 * ```ts
 * parseDuration('5m'); // 300000
 * ```
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION_RE.exec(value.trim());
  if (match === null) return undefined;
  const unit = DURATION_UNITS[match[2]!]!;
  return Math.round(Number.parseFloat(value) * unit);
}

/**
 * Bytes from a non-negative integer (already bytes) or a string such as `"512B"`,
 * `"64KB"` (10³), `"64MiB"` (2²⁰); `undefined` for anything else.
 *
 * @example
 * ```ts
 * parseSize('64MiB'); // 67108864
 * ```
 */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = SIZE_RE.exec(value.trim());
  if (match === null) return undefined;
  const unit = SIZE_UNITS[match[2]!.toLowerCase()]!;
  return Math.round(Number.parseFloat(value) * unit);
}
