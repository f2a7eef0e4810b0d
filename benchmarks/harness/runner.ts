/**
 * Runs scenarios, applies budgets with the verdict rule, and collects everything into
 * one results object (what `benchmarks/run.ts` prints and saves). Printing is the
 * caller's business: progress is reported through `onEvent`.
 */

import type { LoadResult } from '../load/index.js';
import type { Budget, FigureBudget } from './budgets.js';
import { type CompareResult, compareVariants } from './compare.js';
import { describeEnvironment, type Environment } from './env.js';
import { getGc } from './gc.js';
import type { Spread } from './stats.js';
import type {
  CompareScenario,
  ExperimentResult,
  ExperimentScenario,
  Scenario,
  ScenarioSet,
} from './types.js';
import { decide, type Status } from './verdict.js';

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** The scenario registry. */
  scenarios: ScenarioSet;
  /** The budgets to apply. */
  budgets: Budget[];
  /** Only scenarios whose name contains this substring. */
  filter?: string;
  /**
   * Check mode: run only scenarios some gating budget refers to (a scenario with reported
   * figures only is for full runs, where the machine's time is not a CI job's), and set `ok` to false on a
   * failed gating budget, a scenario error or a budget naming an unknown scenario.
   * Default false (run every scenario; `ok` still reflects the budgets).
   */
  check?: boolean;
  /** Multiplies every scenario's rounds (at least 2 are kept). Default 1. */
  roundsScale?: number;
  /** Rounds of a re-measurement, as a multiple of the scenario's rounds. Default 2. */
  remeasureFactor?: number;
  /** Directory whose git state is recorded. Default `process.cwd()`. */
  cwd?: string;
  /** Progress callback (a scenario starts, a measurement ends). */
  onEvent?: (event: BenchEvent) => void;
}

/** Progress of a run. */
export type BenchEvent =
  | { type: 'start'; scenario: string; kind: Scenario['kind'] }
  | { type: 'remeasure'; scenario: string; kind: Scenario['kind']; budgets: string[] }
  | { type: 'done'; record: ScenarioRecord };

/** One budget's outcome. */
export interface BudgetRecord {
  /** The budget. */
  budget: Budget;
  /** The verdict (`remeasure` never appears here: it is resolved by the runner). */
  status: Exclude<Status, 'remeasure'>;
  /**
   * The deciding figure's spread, in the budget's metric: of the per-round values for a
   * comparison, of the one value (`n` = 1) for an experiment's figure.
   */
  value: Spread;
  /** True when a re-measurement decided. */
  remeasured: boolean;
}

/** One scenario's results. */
export interface ScenarioRecord {
  /** Scenario name. */
  name: string;
  /** Scenario kind. */
  kind: Scenario['kind'];
  /** Scenario description. */
  description: string;
  /** The comparison (compare scenarios). */
  compare?: CompareResult;
  /** The re-measurement, when a budget breached on the first one. */
  remeasure?: CompareResult;
  /** The load run (load scenarios). */
  load?: LoadResult;
  /** The experiment's run (experiment scenarios). */
  experiment?: ExperimentResult;
  /** The experiment's second run, when a budget breached on the first; it decides. */
  rerun?: ExperimentResult;
  /** What each of the experiment's figures is, with its unit (experiment scenarios). */
  figureNotes?: Record<string, string>;
  /** Budgets applied to this scenario. */
  budgets: BudgetRecord[];
  /** The error message, if the scenario failed to run. */
  error?: string;
}

/** Everything a run produced; saved as JSON. */
export interface BenchResults {
  /** Format version of this object. */
  schema: 1;
  /** `bench` (everything) or `check` (budgets only). */
  mode: 'bench' | 'check';
  /** ISO time the run started. */
  startedAt: string;
  /** Wall time of the whole run, in ms. */
  durationMs: number;
  /** Where it ran. */
  environment: Environment;
  /** False when a gating budget failed or something could not be measured. */
  ok: boolean;
  /** Scenario results, in run order. */
  scenarios: ScenarioRecord[];
  /**
   * Problems that are not a scenario's own: a budget naming an unknown scenario, or one
   * that does not fit its scenario (a figure the experiment does not yield).
   */
  problems: string[];
}

function scaled(rounds: number, scale: number): number {
  return Math.max(2, Math.round(rounds * scale));
}

async function measure(name: string, s: CompareScenario, rounds: number): Promise<CompareResult> {
  return compareVariants({
    name,
    baseline: s.baseline,
    candidate: s.candidate,
    rounds,
    ...(s.warmupRounds !== undefined ? { warmupRounds: s.warmupRounds } : {}),
    ...(s.timePerRoundMs !== undefined ? { timePerRoundMs: s.timePerRoundMs } : {}),
    ...(s.itersPerRound !== undefined ? { itersPerRound: s.itersPerRound } : {}),
    ...(s.statistic !== undefined ? { statistic: s.statistic } : {}),
    ...(s.gc !== undefined ? { gc: s.gc } : {}),
  });
}

/**
 * Judges `budgets` on a first measurement by the verdict rule; when one breaches, takes a
 * second measurement (`again`) and lets it decide. `valuesOf` reads a budget's values
 * from a measurement. Returns the budgets' records and the second measurement, if any.
 */
async function judgeBudgets<M>(
  name: string,
  kind: Scenario['kind'],
  budgets: readonly Budget[],
  options: BenchOptions,
  first: M,
  again: () => Promise<M>,
  valuesOf: (budget: Budget, measurement: M) => readonly number[],
): Promise<{ records: BudgetRecord[]; second?: M }> {
  const verdicts = budgets.map((b) => ({ budget: b, verdict: decide(b, valuesOf(b, first)) }));
  const breached = verdicts.filter((v) => v.verdict.status === 'remeasure');
  let second: M | undefined;
  if (breached.length > 0) {
    options.onEvent?.({
      type: 'remeasure',
      scenario: name,
      kind,
      budgets: breached.map((v) => v.budget.id),
    });
    second = await again();
  }
  const records = verdicts.map(({ budget, verdict }): BudgetRecord => {
    const final =
      verdict.status === 'remeasure' && second !== undefined
        ? decide(budget, valuesOf(budget, first), valuesOf(budget, second))
        : verdict;
    return {
      budget,
      status: final.status as Exclude<Status, 'remeasure'>,
      value: final.judgement.value,
      remeasured: verdict.status === 'remeasure',
    };
  });
  return second === undefined ? { records } : { records, second };
}

async function runCompare(
  name: string,
  s: CompareScenario,
  budgets: Budget[],
  options: BenchOptions,
  record: ScenarioRecord,
): Promise<void> {
  const rounds = scaled(s.rounds, options.roundsScale ?? 1);
  record.compare = await measure(name, s, rounds);
  const judged = await judgeBudgets(
    name,
    'compare',
    budgets,
    options,
    record.compare,
    () => measure(name, s, scaled(rounds * (options.remeasureFactor ?? 2), 1)),
    (_, m) => m.rounds.map((r) => r.ratio),
  );
  if (judged.second !== undefined) record.remeasure = judged.second;
  record.budgets.push(...judged.records);
}

/** Runs an experiment once and checks that it yields exactly the figures it declares, as finite numbers. */
async function runOnce(name: string, s: ExperimentScenario): Promise<ExperimentResult> {
  const result = await s.run();
  for (const figure of Object.keys(s.figures)) {
    const value = result.figures[figure];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new Error(`experiment ${name}: figure ${figure} must be a finite number (got ${String(value)})`);
    }
  }
  const undeclared = Object.keys(result.figures).filter((f) => !Object.hasOwn(s.figures, f));
  if (undeclared.length > 0) {
    throw new Error(
      `experiment ${name}: undeclared figures ${undeclared.join(', ')} (declare them in figures)`,
    );
  }
  return result;
}

async function runExperiment(
  name: string,
  s: ExperimentScenario,
  budgets: Budget[],
  options: BenchOptions,
  record: ScenarioRecord,
): Promise<void> {
  record.figureNotes = { ...s.figures };
  record.experiment = await runOnce(name, s);
  const judged = await judgeBudgets(
    name,
    'experiment',
    budgets,
    options,
    record.experiment,
    () => runOnce(name, s),
    // misfit() lets only figure budgets through to an experiment
    (b, m) => [m.figures[(b as FigureBudget).figure]!],
  );
  if (judged.second !== undefined) record.rerun = judged.second;
  record.budgets.push(...judged.records);
}

/**
 * Why `budget` cannot be judged on `scenario`, or `undefined` when it can. Budgets on a
 * load scenario are refused when it runs (a load run is report only).
 */
function misfit(budget: Budget, scenario: Scenario): string | undefined {
  if (scenario.kind === 'load') return undefined;
  const target = JSON.stringify(budget.scenario);
  if (budget.metric === 'max' || budget.metric === 'min') {
    if (scenario.kind !== 'experiment') {
      return `metric "${budget.metric}" limits an experiment's figure, but ${target} is a ${scenario.kind} scenario`;
    }
    if (!Object.hasOwn(scenario.figures, budget.figure)) {
      return `experiment ${target} yields no figure ${JSON.stringify(budget.figure)} (it yields ${Object.keys(scenario.figures).join(', ')})`;
    }
    return undefined;
  }
  if (scenario.kind !== 'compare') {
    return `metric "${budget.metric}" limits a comparison's ratio, but ${target} is an experiment (limit one of its figures with "max" or "min")`;
  }
  return undefined;
}

/**
 * Runs the selected scenarios one after another and applies their budgets.
 *
 * @example
 * const results = await runBench({ scenarios, budgets, check: true });
 * process.exitCode = results.ok ? 0 : 1;
 */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const started = Date.now();
  const check = options.check === true;
  const problems: string[] = [];
  const byScenario = new Map<string, Budget[]>();
  for (const b of options.budgets) {
    const scenario = Object.hasOwn(options.scenarios, b.scenario) ? options.scenarios[b.scenario] : undefined;
    if (scenario === undefined) {
      problems.push(`budget ${b.id}: unknown scenario ${JSON.stringify(b.scenario)}`);
      continue;
    }
    const problem = misfit(b, scenario);
    if (problem !== undefined) {
      problems.push(`budget ${b.id}: ${problem}`);
      continue;
    }
    const list = byScenario.get(b.scenario) ?? [];
    list.push(b);
    byScenario.set(b.scenario, list);
  }
  const gates = (n: string) => byScenario.get(n)?.some((b) => b.gating !== false) === true;
  const names = Object.keys(options.scenarios).filter(
    (n) => (options.filter === undefined || n.includes(options.filter)) && (!check || gates(n)),
  );
  const environment = describeEnvironment(options.cwd ?? process.cwd(), getGc() !== null);
  const records: ScenarioRecord[] = [];
  for (const name of names) {
    const s = options.scenarios[name]!;
    const budgets = byScenario.get(name) ?? [];
    const record: ScenarioRecord = { name, kind: s.kind, description: s.description, budgets: [] };
    options.onEvent?.({ type: 'start', scenario: name, kind: s.kind });
    try {
      if (s.kind === 'compare') {
        await runCompare(name, s, budgets, options, record);
      } else if (s.kind === 'experiment') {
        await runExperiment(name, s, budgets, options, record);
      } else {
        if (budgets.length > 0)
          throw new Error(`budgets ${budgets.map((b) => b.id).join(', ')} target a load scenario`);
        record.load = await s.run();
      }
    } catch (error) {
      record.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    }
    records.push(record);
    options.onEvent?.({ type: 'done', record });
  }
  const failed = records.some(
    (r) =>
      (r.error !== undefined && (check || byScenario.has(r.name))) ||
      r.budgets.some((b) => b.status === 'fail'),
  );
  return {
    schema: 1,
    mode: check ? 'check' : 'bench',
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    environment,
    ok: !failed && !(check && problems.length > 0),
    scenarios: records,
    problems,
  };
}
