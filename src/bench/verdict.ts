/**
 * The re-measurement rule, shared by `mcp-perf bench` and the library's own benchmark
 * gate: a limit on a noisy figure fails only when two measurements agree it is breached.
 *
 * 1. The figure is measured as a set of values (an interleaved comparison's per-round
 *    ratios, or one value when the figure is taken over the whole comparison) and read
 *    by their median.
 * 2. Median within the limit: **pass**.
 * 3. Otherwise measure again with more rounds; only the re-measurement decides. It
 *    **fails** when its median is beyond the limit **and** its favourable quartile is
 *    too (the lower quartile for an upper limit, the upper quartile for a lower one): even
 *    the better quarter of the rounds was beyond the limit, twice measured. A re-measured
 *    median beyond the limit whose favourable quartile is within it is **noisy**: a pass,
 *    flagged. One value is its own median and quartiles, so it passes or fails.
 *
 * A shared machine stalls whole rounds (another process takes the core), so a first
 * breach alone is weak evidence; a slowdown that is real shows in the second
 * measurement's better rounds as well.
 */

import { type Spread, spread } from './stats.js';

/** A limit on a figure: `upper` (the figure must stay at or below `limit`) or a lower bound. */
export interface Limit {
  /** The bound. */
  limit: number;
  /** True: the figure must stay `<= limit`; false: `>= limit`. */
  upper: boolean;
}

/** A set of measured values summarized against a limit, with the two breach tests. */
export interface Judgement {
  /** Spread of the values. */
  value: Spread;
  /** The median is beyond the limit. */
  medianBreached: boolean;
  /** The favourable quartile (q1 for an upper limit, q3 for a lower one) is beyond it too. */
  quartileBreached: boolean;
}

/** What the rule decided. */
export interface RuleVerdict {
  /**
   * `pass`; `noisy` (passed on re-measurement only because of its spread); `fail`;
   * `remeasure` (the first measurement breached: measure again and call
   * {@link decideLimit} with both).
   */
  status: 'pass' | 'noisy' | 'fail' | 'remeasure';
  /** The judgement that decided (the re-measurement's when there was one). */
  judgement: Judgement;
}

/** True when `value` is beyond the limit in the bad direction. */
export function beyondLimit(limit: Limit, value: number): boolean {
  return limit.upper ? value > limit.limit : value < limit.limit;
}

/** Summarizes measured values against a limit (steps 1 and 3 of the rule). Throws on no values. */
export function judgeValues(limit: Limit, values: readonly number[]): Judgement {
  const value = spread(values);
  const medianBreached = beyondLimit(limit, value.median);
  const favourable = limit.upper ? value.q1 : value.q3;
  return { value, medianBreached, quartileBreached: medianBreached && beyondLimit(limit, favourable) };
}

/**
 * Applies the rule. Call with the first measurement's values; on `remeasure`, measure
 * again (more rounds) and call again with both.
 *
 * @example
 * decideLimit({ limit: 1.1, upper: true }, [1.0, 1.3, 1.2]).status; // 'remeasure'
 * decideLimit({ limit: 1.1, upper: true }, [1.0, 1.3, 1.2], [1.0, 1.2, 1.15, 1.05]).status; // 'noisy'
 */
export function decideLimit(
  limit: Limit,
  first: readonly number[],
  remeasured?: readonly number[],
): RuleVerdict {
  const initial = judgeValues(limit, first);
  if (!initial.medianBreached) return { status: 'pass', judgement: initial };
  if (remeasured === undefined) return { status: 'remeasure', judgement: initial };
  const second = judgeValues(limit, remeasured);
  if (!second.medianBreached) return { status: 'pass', judgement: second };
  return { status: second.quartileBreached ? 'fail' : 'noisy', judgement: second };
}
