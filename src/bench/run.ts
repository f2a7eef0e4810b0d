/**
 * `runBench`: measures an MCP server under a workload, optionally beside a baseline
 * server and through a middleware stack, and checks the figures against budgets.
 */

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Middleware } from '../core/types.js';
import { InvalidOptionError } from '../errors/index.js';
import {
  type CompiledWorkload,
  compileWorkload,
  type LoadResult,
  type Random,
  readLoadShape,
  runLoad,
  seededRandom,
  sendRequest,
} from '../load/index.js';
import { isCacheMiddleware } from '../middleware/cache/index.js';
import { approximateTokenCounter } from '../tokens/approximate.js';
import { countResultTokens } from '../tokens/visible.js';
import { type BenchBudget, type BenchMetric, type BudgetVerdict, judge, parseBudgets } from './budgets.js';
import { type CompareResult, compareVariants, type Variant } from './compare.js';
import { measureSelfCost, type SelfCost } from './self-cost.js';
import { type BenchTarget, describeBenchTarget, openBenchTarget, validateBenchTarget } from './target.js';
import { decideLimit } from './verdict.js';

/** How the interleaved A/B comparisons run. */
export interface AbOptions {
  /** Measured rounds (each runs both sides once). Default 20. */
  rounds?: number;
  /** Discarded warm-up rounds. Default 2. */
  warmupRounds?: number;
  /** Time per side per round, in ms. Default 100. */
  timePerRoundMs?: number;
  /**
   * Re-measure a comparison whose ratio budget breached, with twice the rounds, and let
   * the re-measurement decide by the rule of `decideLimit` (a breach fails only when the
   * re-measured median and its favourable quartile are both beyond the limit). Default
   * true; false judges the first measurement alone.
   */
  remeasure?: boolean;
}

/** Options of {@link runBench}. */
export interface BenchConfig {
  /** The server under test. */
  target: BenchTarget;
  /**
   * The workload: parsed JSON in the load generator's format (operations, and optionally
   * `rate`/`concurrency`/`duration`/`requests`/`seed`), or compiled. Default: `tools/list`.
   */
  workload?: unknown;
  /** Budgets: parsed JSON of a budgets file, or parsed budgets. Default: none. */
  budgets?: unknown;
  /**
   * A reference server measured in the same run, interleaved with the target (e.g. the
   * main branch's build): ratio budgets of the `target` run compare against it.
   */
  baseline?: BenchTarget;
  /**
   * A middleware stack (e.g. from `createStack(config)`): the target is also measured
   * through an in-process proxy running it (the `stacked` run), interleaved with the
   * bare target; ratio budgets of the `stacked` run compare against the bare target.
   */
  stack?: readonly Middleware[];
  /** Open loop rate (requests/s); overrides the workload file's. */
  rate?: number;
  /** Closed loop concurrency; overrides the workload file's. Default 1 when neither is set. */
  concurrency?: number;
  /** Sending time of each load run, in ms; overrides the workload file's. Default 5 000. */
  durationMs?: number;
  /** A cap on requests per load run; overrides the workload file's. */
  maxRequests?: number;
  /** The A/B comparisons' shape. */
  ab?: AbOptions;
  /** Requests sent (sequentially, untimed) to count tokens per response. Default 100; 0 skips. */
  tokenSampleRequests?: number;
  /** Requests used to measure the tool's own cost. Default 2 000; 0 skips. */
  selfCostRequests?: number;
  /** Per-request timeout, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Permit non-loopback URLs. Default false. */
  allowRemote?: boolean;
  /** Told what is being measured, about 5 times a second. */
  onProgress?: (progress: BenchProgress) => void;
  /** Aborting stops the load runs early (what was measured is still reported). */
  signal?: AbortSignal;
}

/** A progress snapshot. */
export interface BenchProgress {
  /** The phase, e.g. `load target`, `A/B target vs baseline`. */
  phase: string;
  /** Phases finished. */
  phaseIndex: number;
  /** Phases in all. */
  phases: number;
  /** Fraction of the current phase done (0–1), when known. */
  fraction: number;
}

/** One load run and the figures budgets read. */
export interface BenchRunResult {
  /** The load generator's result. */
  load: LoadResult;
  /** Failed ÷ sent. */
  errorRate: number;
  /** Mean approximate tokens of a successful response (null when not sampled). */
  tokensPerResponse: number | null;
  /** Cache hit rate of the stack's cache middlewares (stacked run with a cache only). */
  cacheHitRate: number | null;
}

/** An interleaved A/B comparison and its headline ratios. */
export interface BenchComparison {
  /** `target vs baseline` or `stacked vs bare`. */
  name: string;
  /** The raw comparison (per-round ratios, per-side percentiles). */
  compare: CompareResult;
  /** Per-round median-latency ratio (candidate ÷ reference), median over rounds. */
  p50Ratio: number;
  /** Per-round mean-latency ratio, median over rounds. */
  meanRatio: number;
  /** Sequential throughput ratio, candidate ÷ reference. */
  throughputRatio: number;
  /** Requests that failed during the comparison, per side. */
  errors: {
    /** Failures on the reference side. */
    reference: number;
    /** Failures on the candidate side. */
    candidate: number;
  };
}

/** What {@link runBench} measured and decided. */
export interface BenchResult {
  /** The target, described. */
  target: string;
  /** The baseline, described. */
  baseline?: string;
  /** When the run started (ISO 8601). */
  startedAt: string;
  /** Node version and platform. */
  environment: {
    /** `process.version`. */
    node: string;
    /** `process.platform`. */
    platform: string;
    /** `process.arch`. */
    arch: string;
  };
  /** Load runs: `target`, and `stacked` / `baseline` when configured. */
  runs: {
    /** The target, bare. */
    target: BenchRunResult;
    /** The target through the proxy with the stack. */
    stacked?: BenchRunResult;
    /** The baseline server. */
    baseline?: BenchRunResult;
  };
  /** A/B comparisons. */
  comparisons: {
    /** Target (candidate) against the baseline (reference). */
    baseline?: BenchComparison;
    /** Stacked (candidate) against the bare target (reference). */
    stacked?: BenchComparison;
  };
  /**
   * Comparisons measured again, with twice the rounds, because a ratio budget read from
   * them breached on the first measurement; present only when one was.
   */
  remeasured?: {
    /** Target against the baseline, re-measured. */
    baseline?: BenchComparison;
    /** Stacked against bare, re-measured. */
    stacked?: BenchComparison;
  };
  /** The tool's own cost per request (null when skipped). */
  selfCost: SelfCost | null;
  /** Every budget's verdict. */
  verdicts: BudgetVerdict[];
  /** True when no budget failed (a `noisy` verdict passes). */
  passed: boolean;
  /** Wall time of the whole bench, in ms. */
  elapsedMs: number;
}

const DEFAULT_DURATION_MS = 5_000;
/** The A/B comparisons by their key in {@link BenchResult.comparisons}, and their names. */
const COMPARISONS = { baseline: 'target vs baseline', stacked: 'stacked vs bare' } as const;
type ComparisonKey = keyof typeof COMPARISONS;
const DEFAULT_AB: Required<AbOptions> = { rounds: 20, warmupRounds: 2, timePerRoundMs: 100, remeasure: true };

function positive(option: string, value: unknown, integer: boolean, min = 0): void {
  if (value === undefined) return;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    (integer && !Number.isInteger(value))
  ) {
    throw new InvalidOptionError(
      'runBench',
      option,
      `${integer ? 'an integer' : 'a number'} >= ${min}`,
      value,
    );
  }
}

interface Side {
  name: string;
  client: Client;
  close(): Promise<void>;
}

function cacheHitRate(stack: readonly Middleware[] | undefined): number | null {
  let answered = 0;
  let total = 0;
  let found = false;
  for (const m of stack ?? []) {
    if (!isCacheMiddleware(m)) continue;
    const s = m.stats();
    found = true;
    const fromCache = s.hits + (s.stale ?? 0) + (s.coalesced ?? 0);
    answered += fromCache;
    total += fromCache + s.misses;
  }
  return found && total > 0 ? answered / total : null;
}

async function sampleTokens(
  client: Client,
  workload: CompiledWorkload,
  requests: number,
  seed: number,
): Promise<number | null> {
  if (requests === 0) return null;
  const counter = approximateTokenCounter();
  const random = seededRandom(seed);
  let tokens = 0;
  let n = 0;
  for (let i = 0; i < requests; i++) {
    const { label, request } = workload.next(random);
    try {
      const result = await sendRequest(client, request);
      if (result.isError === true) continue;
      tokens += countResultTokens(label.split(' ')[0]!, result, counter);
      n++;
    } catch {
      // Failures count in the error rate of the load run, not here.
    }
  }
  return n === 0 ? null : tokens / n;
}

function abVariant(
  client: Client,
  workload: CompiledWorkload,
  seed: number,
  errors: { n: number },
): Variant<Random> {
  return {
    setup: async () => seededRandom(seed),
    run: async (random) => {
      const { request } = workload.next(random);
      try {
        await sendRequest(client, request);
      } catch {
        errors.n++;
      }
    },
    teardown: () => undefined,
  };
}

function loadFigure(run: BenchRunResult | undefined, metric: BenchMetric): number | null {
  if (run === undefined) return null;
  const l = run.load;
  switch (metric) {
    case 'throughput':
      return l.throughput;
    case 'errorRate':
      return run.errorRate;
    case 'tokensPerResponse':
      return run.tokensPerResponse;
    case 'cacheHitRate':
      return run.cacheHitRate;
    default: {
      if (l.latencyMs.count === 0) return null;
      const key = metric.slice('latency.'.length) as keyof LoadResult['latencyMs'];
      return l.latencyMs[key];
    }
  }
}

function ratioFigure(
  comparison: BenchComparison | undefined,
  candidate: BenchRunResult | undefined,
  reference: BenchRunResult | undefined,
  metric: BenchMetric,
): number | null {
  if (comparison !== undefined) {
    const c = comparison.compare;
    switch (metric) {
      case 'latency.p50':
        return comparison.p50Ratio;
      case 'latency.mean':
        return comparison.meanRatio;
      case 'throughput':
        return comparison.throughputRatio;
      case 'latency.p90':
        return c.candidate.latencyUs.p90 / c.baseline.latencyUs.p90;
      case 'latency.p99':
      case 'latency.p999':
        return c.candidate.latencyUs.p99 / c.baseline.latencyUs.p99;
      case 'latency.max':
        return c.candidate.latencyUs.max / c.baseline.latencyUs.max;
      default:
        break;
    }
  }
  const a = loadFigure(candidate, metric);
  const b = loadFigure(reference, metric);
  if (a === null || b === null) return null;
  if (b === 0) return a === 0 ? 1 : Number.POSITIVE_INFINITY;
  return a / b;
}

/** A ratio budget on a figure the A/B comparison measures (timing), which noise can breach. */
function remeasurable(budget: BenchBudget): boolean {
  return budget.metric.startsWith('latency.') || budget.metric === 'throughput';
}

/** What a ratio budget reads from a comparison: one value per round for p50 and mean, else one. */
function comparisonValues(comparison: BenchComparison, metric: BenchMetric): number[] {
  if (metric === 'latency.p50') return comparison.compare.rounds.map((r) => r.ratio);
  if (metric === 'latency.mean') return comparison.compare.rounds.map((r) => r.meanRatio);
  return [ratioFigure(comparison, undefined, undefined, metric) ?? Number.NaN];
}

/** Re-judges a breached ratio budget by the re-measurement rule. */
function decideRemeasured(
  verdict: BudgetVerdict,
  first: BenchComparison,
  again: BenchComparison,
): BudgetVerdict {
  const { budget } = verdict;
  const values = comparisonValues(again, budget.metric);
  const rule = decideLimit(
    { limit: budget.limit, upper: budget.kind === 'maxRatio' },
    comparisonValues(first, budget.metric),
    values,
  );
  const { median, q1, q3 } = rule.judgement.value;
  const judged = judge(budget, median, 'not measured on re-measurement');
  if (judged.status === 'missing') return { ...judged, firstValue: verdict.value! };
  const how =
    values.length === 1
      ? `re-measured over ${again.compare.rounds.length} rounds; first ${verdict.value!.toFixed(3)}×`
      : `re-measured over ${again.compare.rounds.length} rounds, quartiles ${q1.toFixed(3)}–${q3.toFixed(3)}; first ${verdict.value!.toFixed(3)}×`;
  return {
    ...judged,
    status: rule.status === 'noisy' ? 'noisy' : rule.status === 'fail' ? 'fail' : 'pass',
    message: `${judged.message} (${how}${rule.status === 'noisy' ? '; noisy: the better quartile is within the limit' : ''})`,
    firstValue: verdict.value!,
  };
}

/** What {@link checkBenchConfig} returns. */
export interface CheckedBenchConfig {
  /** The compiled workload. */
  workload: CompiledWorkload;
  /** The parsed budgets. */
  budgets: BenchBudget[];
}

/**
 * Validates a bench config without starting anything: the workload, the budgets, the
 * targets and the numeric options. Throws an error naming the option or field.
 */
export function checkBenchConfig(config: BenchConfig): CheckedBenchConfig {
  if (typeof config !== 'object' || config === null) {
    throw new InvalidOptionError('runBench', 'config', 'an object', config);
  }
  const allowRemote = config.allowRemote === true;
  validateBenchTarget(config.target, allowRemote, 'target');
  if (config.baseline !== undefined) validateBenchTarget(config.baseline, allowRemote, 'baseline');
  if (config.stack !== undefined && !Array.isArray(config.stack)) {
    throw new InvalidOptionError('runBench', 'stack', 'an array of middleware', config.stack);
  }
  positive('rate', config.rate, false, Number.MIN_VALUE);
  positive('concurrency', config.concurrency, true, 1);
  positive('durationMs', config.durationMs, false, 1);
  positive('maxRequests', config.maxRequests, true, 1);
  positive('tokenSampleRequests', config.tokenSampleRequests, true, 0);
  positive('selfCostRequests', config.selfCostRequests, true, 0);
  positive('timeoutMs', config.timeoutMs, false, 1);
  positive('ab.rounds', config.ab?.rounds, true, 2);
  positive('ab.warmupRounds', config.ab?.warmupRounds, true, 0);
  positive('ab.timePerRoundMs', config.ab?.timePerRoundMs, false, 1);
  if (config.ab?.remeasure !== undefined && typeof config.ab.remeasure !== 'boolean') {
    throw new InvalidOptionError('runBench', 'ab.remeasure', 'a boolean', config.ab.remeasure);
  }
  if (config.rate !== undefined && config.concurrency !== undefined) {
    throw new InvalidOptionError('runBench', 'concurrency', 'absent when rate is set', config.concurrency);
  }
  const raw = config.workload ?? { operations: [{ method: 'tools/list' }] };
  const workload =
    typeof (raw as CompiledWorkload).next === 'function' ? (raw as CompiledWorkload) : compileWorkload(raw);
  const budgets =
    config.budgets === undefined
      ? []
      : Array.isArray(config.budgets) && config.budgets.every((b) => typeof b?.kind === 'string')
        ? (config.budgets as BenchBudget[])
        : parseBudgets(config.budgets);
  for (const b of budgets) {
    if (b.run === 'stacked' && config.stack === undefined) {
      throw new InvalidOptionError(
        'runBench',
        'stack',
        `set: budget "${b.id}" reads the stacked run`,
        undefined,
      );
    }
  }
  return { workload, budgets };
}

/**
 * Runs a bench: the tool's own cost first, then a load run of each side (target, and
 * stacked / baseline when configured), a token sample, then the interleaved A/B
 * comparisons, then every budget's verdict. Everything is validated before anything
 * starts; every process and connection opened is closed before it resolves.
 *
 * @example
 * ```ts
 * const result = await runBench({
 *   target: { stdio: 'node dist/server.js' },
 *   baseline: { stdio: 'node ../main/dist/server.js' },
 *   workload: { operations: [{ method: 'tools/call', name: 'search', arguments: { q: 'x' } }] },
 *   budgets: { budgets: [{ metric: 'latency.p50', maxRatio: 1.1 }] },
 * });
 * if (!result.passed) process.exitCode = 1;
 * ```
 */
export async function runBench(config: BenchConfig): Promise<BenchResult> {
  const { workload, budgets } = checkBenchConfig(config);
  const raw =
    typeof (config.workload as CompiledWorkload | undefined)?.next === 'function' ? {} : config.workload;
  const shape = readLoadShape(raw);
  const rate = config.rate ?? (config.concurrency === undefined ? shape.rate : undefined);
  const concurrency = config.concurrency ?? (rate === undefined ? (shape.concurrency ?? 1) : undefined);
  const durationMs = config.durationMs ?? shape.durationMs ?? DEFAULT_DURATION_MS;
  const maxRequests = config.maxRequests ?? shape.maxRequests;
  const seed = shape.seed ?? 1;
  const ab = { ...DEFAULT_AB, ...config.ab };
  const started = performance.now();
  const startedAt = new Date().toISOString();

  const sides: Side[] = [];
  const phases: string[] = [];
  if (config.selfCostRequests !== 0) phases.push('tool cost');
  phases.push('load target');
  if (config.stack) phases.push('load stacked');
  if (config.baseline) phases.push('load baseline');
  if (config.baseline) phases.push(`A/B ${COMPARISONS.baseline}`);
  if (config.stack) phases.push(`A/B ${COMPARISONS.stacked}`);
  let phaseIndex = 0;
  const progress = (fraction: number) =>
    config.onProgress?.({ phase: phases[phaseIndex] ?? 'done', phaseIndex, phases: phases.length, fraction });
  const nextPhase = () => {
    phaseIndex++;
    progress(0);
  };

  try {
    let selfCost: SelfCost | null = null;
    if (config.selfCostRequests !== 0) {
      progress(0);
      selfCost = await measureSelfCost(workload, config.selfCostRequests ?? 2_000);
      nextPhase();
    }
    const open = async (name: string, target: BenchTarget, stack?: readonly Middleware[]): Promise<Side> => {
      const opened = await openBenchTarget(target, stack);
      const side = { name, ...opened };
      sides.push(side);
      return side;
    };
    const target = await open('target', config.target);
    const stacked = config.stack ? await open('stacked', config.target, config.stack) : undefined;
    const baseline = config.baseline ? await open('baseline', config.baseline) : undefined;

    const loadRun = async (side: Side, stack?: readonly Middleware[]): Promise<BenchRunResult> => {
      const load = await runLoad({
        target: { client: side.client, label: side.name },
        ...(rate !== undefined ? { rate } : { concurrency: concurrency! }),
        durationMs,
        ...(maxRequests !== undefined ? { maxRequests } : {}),
        ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
        seed,
        workload,
        ...(config.signal ? { signal: config.signal } : {}),
        ...(config.onProgress
          ? {
              onProgress: (p) =>
                progress(
                  Math.min(1, Math.max(p.elapsedMs / p.durationMs, maxRequests ? p.sent / maxRequests : 0)),
                ),
            }
          : {}),
      });
      const hitRate = cacheHitRate(stack);
      const tokensPerResponse = await sampleTokens(
        side.client,
        workload,
        config.tokenSampleRequests ?? 100,
        seed,
      );
      nextPhase();
      return {
        load,
        errorRate: load.sent === 0 ? 0 : load.failed / load.sent,
        tokensPerResponse,
        cacheHitRate: hitRate,
      };
    };
    const runs: BenchResult['runs'] = { target: await loadRun(target) };
    if (stacked) runs.stacked = await loadRun(stacked, config.stack);
    if (baseline) runs.baseline = await loadRun(baseline);

    /** Runs a comparison; `remeasure` runs it again with twice the rounds. */
    const compare = async (key: ComparisonKey, remeasure = false): Promise<BenchComparison> => {
      const [reference, candidate] = key === 'stacked' ? [target, stacked!] : [baseline!, target];
      const name = remeasure ? `${COMPARISONS[key]} (re-measured)` : COMPARISONS[key];
      const rounds = remeasure ? ab.rounds * 2 : ab.rounds;
      const errors = { reference: { n: 0 }, candidate: { n: 0 } };
      let round = 0;
      const total = rounds + ab.warmupRounds;
      const ref = abVariant(reference.client, workload, seed, errors.reference);
      const cand = abVariant(candidate.client, workload, seed, errors.candidate);
      const ticker = setInterval(() => {
        round = Math.min(total, round + 200 / (2 * ab.timePerRoundMs));
        progress(round / total);
      }, 200);
      let result: CompareResult;
      try {
        result = await compareVariants({
          name,
          baseline: ref,
          candidate: cand,
          rounds,
          warmupRounds: ab.warmupRounds,
          timePerRoundMs: ab.timePerRoundMs,
          gc: false,
        });
      } finally {
        clearInterval(ticker);
      }
      const meanRatios = result.rounds.map((r) => r.meanRatio).sort((a, b) => a - b);
      const mid = meanRatios.length >> 1;
      const meanRatio =
        meanRatios.length % 2 === 1 ? meanRatios[mid]! : (meanRatios[mid - 1]! + meanRatios[mid]!) / 2;
      nextPhase();
      return {
        name,
        compare: result,
        p50Ratio: result.ratio.median,
        meanRatio,
        throughputRatio: result.candidate.opsPerSec / result.baseline.opsPerSec,
        errors: { reference: errors.reference.n, candidate: errors.candidate.n },
      };
    };
    const comparisons: BenchResult['comparisons'] = {};
    if (baseline) comparisons.baseline = await compare('baseline');
    if (stacked) comparisons.stacked = await compare('stacked');

    const first = budgets.map((b) => {
      const run = b.run === 'stacked' ? runs.stacked : runs.target;
      if (b.kind === 'max' || b.kind === 'min')
        return judge(b, loadFigure(run, b.metric), 'no successful answer');
      const comparison = b.run === 'stacked' ? comparisons.stacked : comparisons.baseline;
      const reference = b.run === 'stacked' ? runs.target : runs.baseline;
      if (reference === undefined) {
        return judge(b, null, b.run === 'stacked' ? 'no stacked run' : 'no baseline was given (--baseline)');
      }
      return judge(b, ratioFigure(comparison, run, reference, b.metric), 'not measured');
    });
    // A breached ratio budget read from a comparison: measure that comparison again with
    // twice the rounds and let the re-measurement decide (see ./verdict.ts).
    const breached = (v: BudgetVerdict): ComparisonKey | undefined => {
      const key = v.budget.run === 'stacked' ? 'stacked' : 'baseline';
      return ab.remeasure && v.status === 'fail' && remeasurable(v.budget) && comparisons[key]
        ? key
        : undefined;
    };
    const keys = new Set(first.map(breached));
    const again = (['baseline', 'stacked'] as const).filter((k) => keys.has(k));
    const remeasured: BenchResult['comparisons'] = {};
    if (again.length > 0) {
      phases.push(...again.map((k) => `A/B ${COMPARISONS[k]} again`));
      progress(0);
    }
    for (const key of again) remeasured[key] = await compare(key, true);
    const verdicts = first.map((v) => {
      const key = breached(v);
      return key === undefined ? v : decideRemeasured(v, comparisons[key]!, remeasured[key]!);
    });
    return {
      target: describeBenchTarget(config.target),
      ...(config.baseline ? { baseline: describeBenchTarget(config.baseline) } : {}),
      startedAt,
      environment: { node: process.version, platform: process.platform, arch: process.arch },
      runs,
      comparisons,
      ...(again.length > 0 ? { remeasured } : {}),
      selfCost,
      verdicts,
      passed: verdicts.every((v) => v.status === 'pass' || v.status === 'noisy'),
      elapsedMs: performance.now() - started,
    };
  } finally {
    await Promise.allSettled(sides.map((s) => s.close()));
  }
}
