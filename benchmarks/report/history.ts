/**
 * The compact history of benchmark runs: one JSON line of headline figures per run, in
 * `benchmarks/results/history.jsonl`. `npm run bench` appends to it; the raw results
 * file of a run may then be deleted (the repository keeps only the latest full run's),
 * and `npm run bench:report -- --history` charts the lines over time.
 *
 * A line keeps, per scenario, what a budget or a reader looks at: a comparison's median
 * ratio and interquartile range (of the re-measurement, when one decided), an
 * experiment's figures (of the re-run, when one decided), a load run's throughput and
 * latency percentiles.
 */

import { appendFile, readFile } from 'node:fs/promises';
import type { Budget } from '../harness/budgets.js';
import type { BenchResults, BudgetRecord } from '../harness/runner.js';
import { decidingCompare, decidingRun } from './format.js';
import type { HistorySeries } from './svg.js';

/** Version of the line format. */
export const HISTORY_SCHEMA = 1;

/** The headline figures of one scenario in one run. */
export interface HistoryFigures {
  /** Comparisons: median ratio candidate/baseline, and its quartiles. */
  ratio?: { median: number; q1: number; q3: number };
  /** Experiments: the named figures. */
  figures?: Record<string, number>;
  /** Load runs: successful answers per second, and latency percentiles in ms. */
  load?: { throughput: number; p50Ms: number; p99Ms: number };
  /** The verdicts of the scenario's budgets, by budget id. */
  budgets?: Record<string, BudgetRecord['status']>;
  /** The error, when the scenario failed to run (first line). */
  error?: string;
}

/** One run, as one line of the history. */
export interface HistoryLine {
  /** {@link HISTORY_SCHEMA}. */
  schema: number;
  /** When the run started (ISO 8601). */
  startedAt: string;
  /** The commit measured, and whether the tree had uncommitted changes. */
  commit: string;
  /** True when the tree had uncommitted changes. */
  dirty: boolean;
  /** `bench` or `check`. */
  mode: string;
  /** The run's verdict. */
  ok: boolean;
  /** How long the run took, in ms. */
  durationMs: number;
  /** Node version, CPU count and the 1-minute load average when the run started. */
  environment: { node: string; cpus: number; loadavg1: number };
  /** Figures by scenario name (only the scenarios the run included). */
  scenarios: Record<string, HistoryFigures>;
}

const DIGITS = 4;

function short(n: number): number {
  return Number.isInteger(n) ? n : Number(n.toPrecision(DIGITS));
}

/** The history line of a run's results. */
export function historyLine(results: BenchResults): HistoryLine {
  const scenarios: Record<string, HistoryFigures> = {};
  for (const r of results.scenarios) {
    const f: HistoryFigures = {};
    const compare = decidingCompare(r);
    if (compare !== undefined) {
      const { median, q1, q3 } = compare.ratio;
      f.ratio = { median: short(median), q1: short(q1), q3: short(q3) };
    }
    const run = decidingRun(r);
    if (run !== undefined) {
      f.figures = Object.fromEntries(Object.entries(run.figures).map(([k, v]) => [k, short(v)]));
    }
    if (r.load !== undefined) {
      f.load = {
        throughput: short(r.load.throughput),
        p50Ms: short(r.load.latencyMs.p50),
        p99Ms: short(r.load.latencyMs.p99),
      };
    }
    if (r.budgets.length > 0) f.budgets = Object.fromEntries(r.budgets.map((b) => [b.budget.id, b.status]));
    if (r.error !== undefined) f.error = r.error.split('\n')[0]!;
    scenarios[r.name] = f;
  }
  const env = results.environment;
  return {
    schema: HISTORY_SCHEMA,
    startedAt: results.startedAt,
    commit: env.commit.slice(0, 12),
    dirty: env.dirty,
    mode: results.mode,
    ok: results.ok,
    durationMs: Math.round(results.durationMs),
    environment: { node: env.node, cpus: env.cpus, loadavg1: short(env.loadavg1) },
    scenarios,
  };
}

/** Appends the line of `results` to the history at `path` (created when missing). */
export async function appendHistory(path: string, results: BenchResults): Promise<HistoryLine> {
  const line = historyLine(results);
  await appendFile(path, `${JSON.stringify(line)}\n`);
  return line;
}

/** The lines of the history at `path`, oldest first; a line that is not one is an error naming it. */
export async function readHistory(path: string): Promise<HistoryLine[]> {
  const text = await readFile(path, 'utf8');
  const lines: HistoryLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let line: Partial<HistoryLine>;
    try {
      line = JSON.parse(raw) as Partial<HistoryLine>;
    } catch (error) {
      throw new Error(`${path}:${i + 1}: not JSON (${(error as Error).message})`);
    }
    if (
      line.schema !== HISTORY_SCHEMA ||
      typeof line.startedAt !== 'string' ||
      typeof line.scenarios !== 'object'
    ) {
      throw new Error(`${path}:${i + 1}: not a history line (schema ${HISTORY_SCHEMA})`);
    }
    lines.push(line as HistoryLine);
  });
  return lines.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** A short label of a run: its date and commit, e.g. `11-30 13:51 861d677`. */
export function runLabel(line: HistoryLine): string {
  return `${line.startedAt.slice(5, 10)} ${line.startedAt.slice(11, 16)} ${line.commit.slice(0, 7)}`;
}

/**
 * The series to chart from history lines, oldest first: a comparison's median ratio, each
 * figure of an experiment, a load run's throughput. Scenarios are in the order of the
 * latest run, then those only older runs had. A budget on a series' figure gives its
 * limit (a `speedup` budget as the ratio it allows).
 */
export function historySeries(
  lines: readonly HistoryLine[],
  budgets: readonly Budget[] = [],
): HistorySeries[] {
  const names: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    for (const name of Object.keys(lines[i]!.scenarios)) if (!names.includes(name)) names.push(name);
  }
  const series: HistorySeries[] = [];
  for (const name of names) {
    const of = (line: HistoryLine): HistoryFigures | undefined => line.scenarios[name];
    if (lines.some((l) => of(l)?.ratio !== undefined)) {
      const budget = budgets.find(
        (b) => b.scenario === name && (b.metric === 'ratio' || b.metric === 'speedup'),
      );
      series.push({
        label: `${name} (ratio)`,
        values: lines.map((l) => of(l)?.ratio?.median),
        ...(budget !== undefined
          ? { limit: budget.metric === 'ratio' ? budget.limit : 1 / budget.limit }
          : {}),
      });
    }
    const figureNames = [...new Set(lines.flatMap((l) => Object.keys(of(l)?.figures ?? {})))];
    for (const figure of figureNames) {
      const budget = budgets.find((b) => b.scenario === name && 'figure' in b && b.figure === figure);
      series.push({
        label: `${name} · ${figure}`,
        values: lines.map((l) => of(l)?.figures?.[figure]),
        ...(budget !== undefined ? { limit: budget.limit } : {}),
      });
    }
    if (lines.some((l) => of(l)?.load !== undefined)) {
      series.push({ label: `${name} (ok/s)`, values: lines.map((l) => of(l)?.load?.throughput) });
    }
  }
  return series;
}
