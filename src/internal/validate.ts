/**
 * Option checks shared by every factory. Each answers the value it was given (or the
 * fallback, when given `undefined` and a fallback) and throws an `InvalidOptionError`
 * naming the factory (`where`), the option and what was expected, so a message reads
 * `cache: options.maxEntryBytes must be a positive integer (got 0)` whichever factory
 * raised it. They run when a factory is called, never on the per-request path.
 *
 * Internal: not exported from the public entry points.
 */

import { InvalidOptionError } from '../errors/index.js';

/**
 * An integer from `min` to `max` (both included; `max` at most `Number.MAX_SAFE_INTEGER`).
 * The expectation in the message is "a positive integer" for `[1, MAX_SAFE_INTEGER]`, "a
 * non-negative integer" for `[0, MAX_SAFE_INTEGER]`, else "an integer from min to max".
 */
export function integerOption(
  where: string,
  option: string,
  value: unknown,
  fallback?: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidOptionError(where, option, integerRange(min, max), value);
  }
  return v;
}

/** An integer ≥ 1 (and ≤ `max`); see {@link integerOption}. */
export function positiveInteger(
  where: string,
  option: string,
  value: unknown,
  fallback?: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  return integerOption(where, option, value, fallback, 1, max);
}

/** A finite number > 0. `what` replaces the expectation in the message (e.g. its unit). */
export function positiveNumber(
  where: string,
  option: string,
  value: unknown,
  fallback?: number,
  what = 'a positive number',
): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidOptionError(where, option, what, value);
  }
  return v;
}

/** A finite number ≥ 0. `what` replaces the expectation in the message (e.g. its unit). */
export function nonNegativeNumber(
  where: string,
  option: string,
  value: unknown,
  fallback?: number,
  what = 'a non-negative number',
): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidOptionError(where, option, what, value);
  }
  return v;
}

/** A function, or `undefined` when none was given. */
export function functionOption<F>(where: string, option: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(where, option, 'a function', value);
  }
  return value;
}

/**
 * The injectable clock of a factory: `options.clock`, or the deprecated `options.now` it
 * replaced, or `undefined` when neither was given (the caller applies its default). Both
 * at once is an error, as they could disagree.
 */
export function clockOption(
  where: string,
  options: { clock?: () => number; now?: () => number },
): (() => number) | undefined {
  const clock = functionOption(where, 'clock', options.clock);
  const now = functionOption(where, 'now', options.now);
  if (clock !== undefined && now !== undefined && clock !== now) {
    throw new InvalidOptionError(
      where,
      'now',
      'left out when clock is given (now is its deprecated name)',
      now,
    );
  }
  return clock ?? now;
}

function integerRange(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER) {
    if (min === 1) return 'a positive integer';
    if (min === 0) return 'a non-negative integer';
    return `an integer ≥ ${min.toLocaleString('en-US')}`;
  }
  return `an integer from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`;
}
