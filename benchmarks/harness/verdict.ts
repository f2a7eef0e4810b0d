/**
 * The verdict rule: when does a measurement breach a budget. Its core (steps 2 and 3) is
 * `decideLimit` of `mcp-perf bench`, which applies the same rule to users' budgets.
 *
 * The machine the gate runs on is shared and noisy, and a flaky gate is a bug. So:
 *
 * 1. Each round of an interleaved comparison gives one ratio candidate/baseline. The
 *    figure a budget limits is taken per round in the budget's metric (`ratio` as is,
 *    `speedup` = 1/ratio), and summarized by its median and quartiles.
 * 2. If the median is within the limit, the budget passes.
 * 3. If not, the scenario is measured again with more rounds (the runner doubles them),
 *    and only that re-measurement decides: the budget **fails** when its median breaches
 *    the limit **and** its favourable quartile breaches it too — the lower quartile for
 *    `ratio` (lower is better), the upper quartile for `speedup`. A failure therefore
 *    means that even the better quarter of the rounds was over budget, twice measured.
 *    A re-measured median over the limit whose favourable quartile is within it is
 *    a pass flagged `noisy`.
 * 4. A non-gating budget (`gating: false`) is measured once and judged by its median;
 *    a breach is reported as `warn` and never fails the check.
 *
 * An experiment's figure (metric `max` or `min`) is the same rule with one value per
 * run: within the limit passes; a breach re-runs the experiment once, and the budget
 * fails when the re-run's figure breaches too. One value is its own median and
 * quartiles, so `noisy` cannot arise: a re-run passes or fails.
 */

import { decideLimit, type Judgement, judgeValues, type Limit } from 'mcp-perf/bench';
import { type Budget, lowerIsBetter, type Metric } from './budgets.js';

export type { Judgement } from 'mcp-perf/bench';

/** The outcome for one budget. */
export type Status = 'pass' | 'noisy' | 'warn' | 'fail' | 'remeasure';

/** The decision for one budget. */
export interface Verdict {
  /**
   * `pass`; `noisy` (passed on re-measurement only because of its spread); `fail`;
   * `warn` (a non-gating budget breached); `remeasure` (the first measurement breached:
   * measure again and call {@link decide} with both).
   */
  status: Status;
  /** The judgement that decided (the re-measurement's when there was one). */
  judgement: Judgement;
}

/**
 * Converts the measured values into the budget's metric: a comparison's per-round ratios
 * (candidate/baseline) are inverted for `speedup`; an experiment's figures are taken as is.
 */
export function metricValues(budget: { metric: Metric }, values: readonly number[]): number[] {
  return budget.metric === 'speedup' ? values.map((r) => 1 / r) : [...values];
}

function limitOf(budget: { metric: Metric; limit: number }): Limit {
  return { limit: budget.limit, upper: lowerIsBetter(budget.metric) };
}

/**
 * Summarizes measured values (per-round ratios, or an experiment's figure per run)
 * against a budget (steps 1–3 of the rule).
 */
export function judge(budget: { metric: Metric; limit: number }, values: readonly number[]): Judgement {
  return judgeValues(limitOf(budget), metricValues(budget, values));
}

/**
 * Applies the verdict rule. Call with the first measurement's values (a comparison's
 * per-round ratios, or `[figure]` of an experiment's run); on `remeasure`, measure again
 * (more rounds, or a second run) and call again with both. A non-gating budget is judged
 * on its first measurement and a breach is `warn`.
 */
export function decide(budget: Budget, first: readonly number[], remeasured?: readonly number[]): Verdict {
  const limit = limitOf(budget);
  if (budget.gating === false) {
    const judgement = judgeValues(limit, metricValues(budget, first));
    return { status: judgement.medianBreached ? 'warn' : 'pass', judgement };
  }
  return decideLimit(
    limit,
    metricValues(budget, first),
    remeasured === undefined ? undefined : metricValues(budget, remeasured),
  );
}
