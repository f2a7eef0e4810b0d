/**
 * Budgets of `mcp-perf bench`: limits on what one run measured, absolute or as a ratio
 * against a reference measured in the same run (interleaved), read from JSON.
 *
 * ```json
 * {
 *   "budgets": [
 *     { "metric": "latency.p99", "max": 25 },
 *     { "metric": "throughput", "min": 200 },
 *     { "metric": "errorRate", "max": 0 },
 *     { "metric": "tokensPerResponse", "max": 800 },
 *     { "metric": "cacheHitRate", "run": "stacked", "min": 0.5 },
 *     { "id": "no slower than main", "metric": "latency.p50", "maxRatio": 1.1 }
 *   ]
 * }
 * ```
 */

import { InvalidOptionError } from '../errors/index.js';

/** What a budget limits. Latencies in ms, throughput in successful answers per second. */
export type BenchMetric =
  | 'latency.p50'
  | 'latency.p90'
  | 'latency.p99'
  | 'latency.p999'
  | 'latency.mean'
  | 'latency.max'
  | 'throughput'
  | 'errorRate'
  | 'tokensPerResponse'
  | 'cacheHitRate';

/** Every {@link BenchMetric}, in the order reports list them. */
export const BENCH_METRICS: readonly BenchMetric[] = [
  'latency.p50',
  'latency.p90',
  'latency.p99',
  'latency.p999',
  'latency.mean',
  'latency.max',
  'throughput',
  'errorRate',
  'tokensPerResponse',
  'cacheHitRate',
];

/**
 * Which measurement a budget reads. `target`: the server as it is (its ratio reference is
 * the `--baseline` server); `stacked`: the same server through the proxy with the
 * mcp-perf config (its ratio reference is the bare server).
 */
export type BenchRun = 'target' | 'stacked';

/** One limit. Exactly one of `max`, `min`, `maxRatio`, `minRatio`. */
export interface BenchBudget {
  /** Names the budget in reports and in the breach message. Default: built from the rest. */
  id: string;
  /** What is limited. */
  metric: BenchMetric;
  /** Which measurement. Default `target`. */
  run: BenchRun;
  /** `max`/`min`: an absolute limit; `maxRatio`/`minRatio`: a limit on run ÷ reference. */
  kind: 'max' | 'min' | 'maxRatio' | 'minRatio';
  /** The limit. */
  limit: number;
}

const KINDS = ['max', 'min', 'maxRatio', 'minRatio'] as const;
const KEYS = new Set(['id', 'metric', 'run', ...KINDS]);
const WHERE = 'bench budgets';

function fail(path: string, expected: string, got: unknown): never {
  throw new InvalidOptionError(WHERE, path, expected, got);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a parsed budgets file (`{ "budgets": [...] }` or the bare array). Errors
 * name the entry and field, e.g. `bench budgets: options.budgets[2].max must be a
 * non-negative number (got "fast")`. Ids must be unique.
 */
export function parseBudgets(json: unknown): BenchBudget[] {
  const list = Array.isArray(json) ? json : isObject(json) ? json.budgets : undefined;
  if (!Array.isArray(list)) fail('budgets', 'an array of budgets (or { "budgets": [...] })', json);
  const seen = new Set<string>();
  return list.map((entry: unknown, i: number) => {
    const path = `budgets[${i}]`;
    if (!isObject(entry)) fail(path, 'an object', entry);
    for (const key of Object.keys(entry)) {
      if (!KEYS.has(key))
        fail(`${path}.${key}`, `absent (known fields: ${[...KEYS].join(', ')})`, entry[key]);
    }
    const metric = entry.metric;
    if (typeof metric !== 'string' || !BENCH_METRICS.includes(metric as BenchMetric)) {
      fail(`${path}.metric`, `one of ${BENCH_METRICS.join(', ')}`, metric);
    }
    const run = entry.run ?? 'target';
    if (run !== 'target' && run !== 'stacked') fail(`${path}.run`, '"target" or "stacked"', run);
    const given = KINDS.filter((k) => entry[k] !== undefined);
    if (given.length !== 1) {
      fail(
        path,
        'an object with exactly one of max, min, maxRatio, minRatio',
        given.length === 0 ? entry : given,
      );
    }
    const kind = given[0]!;
    const limit = entry[kind];
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0) {
      fail(`${path}.${kind}`, 'a non-negative number', limit);
    }
    if (metric === 'cacheHitRate' && run !== 'stacked') {
      fail(`${path}.run`, '"stacked" for cacheHitRate (only the stacked run has a cache)', entry.run);
    }
    if (metric === 'cacheHitRate' && (kind === 'maxRatio' || kind === 'minRatio')) {
      fail(`${path}.${kind}`, 'absent: cacheHitRate has no ratio form (the bare server has no cache)', limit);
    }
    const id = entry.id ?? `${run} ${metric} ${kind} ${limit}`;
    if (typeof id !== 'string' || id.length === 0) fail(`${path}.id`, 'a non-empty string', id);
    if (seen.has(id)) fail(`${path}.id`, 'unique', id);
    seen.add(id);
    return { id, metric: metric as BenchMetric, run, kind, limit };
  });
}

/** True when a higher value of `metric` is better (throughput, cache hit rate). */
export function higherIsBetter(metric: BenchMetric): boolean {
  return metric === 'throughput' || metric === 'cacheHitRate';
}

/** A budget checked against what was measured. */
export interface BudgetVerdict {
  /** The budget. */
  budget: BenchBudget;
  /** The measured value (a ratio for ratio kinds); null when it could not be measured. */
  value: number | null;
  /**
   * `pass`; `noisy` (a pass: the re-measured median was beyond the limit but its better
   * quartile within it); `fail` (breached, and for a ratio read from the A/B comparison,
   * breached again when re-measured); or `missing` (the run it needs did not happen:
   * counts as a failure).
   */
  status: 'pass' | 'noisy' | 'fail' | 'missing';
  /** One line for people: `target latency.p99 = 31.2 ms, limit max 25`. */
  message: string;
  /** The first measurement's value, when a re-measurement decided (`value` is then its). */
  firstValue?: number;
}

function unit(metric: BenchMetric): string {
  if (metric.startsWith('latency.')) return ' ms';
  if (metric === 'throughput') return '/s';
  return '';
}

function show(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/**
 * Checks one budget against a value (as `runBench` measured it); `missing` explains why the value is null.
 */
export function judge(budget: BenchBudget, value: number | null, missing = 'not measured'): BudgetVerdict {
  const ratio = budget.kind === 'maxRatio' || budget.kind === 'minRatio';
  const what = `${budget.run} ${budget.metric}${ratio ? ` ratio (${budget.run === 'stacked' ? 'stacked ÷ bare' : 'target ÷ baseline'})` : ''}`;
  const limitText = `${budget.kind} ${budget.limit}`;
  if (value === null || !Number.isFinite(value)) {
    return { budget, value: null, status: 'missing', message: `${what}: ${missing}; limit ${limitText}` };
  }
  const upper = budget.kind === 'max' || budget.kind === 'maxRatio';
  const ok = upper ? value <= budget.limit : value >= budget.limit;
  const shown = ratio ? `${value.toFixed(3)}×` : `${show(value)}${unit(budget.metric)}`;
  return { budget, value, status: ok ? 'pass' : 'fail', message: `${what} = ${shown}, limit ${limitText}` };
}
