/**
 * Text formatting shared by the runner, the report and the comparison: aligned text
 * tables, markdown tables, numbers.
 */

import { lowerIsBetter } from '../harness/budgets.js';
import type { CompareResult } from '../harness/compare.js';
import type { BenchResults, BudgetRecord, ScenarioRecord } from '../harness/runner.js';
import type { ExperimentResult } from '../harness/types.js';
import type { LoadResult } from '../load/index.js';

/** Formats a number with a precision that suits its size (3 significant digits, at least integers). */
export function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** A ratio as `1.012`. */
export function ratio(n: number): string {
  return n.toFixed(3);
}

/** Aligns rows into columns: the columns in `left` (default the first) left-aligned, others right-aligned. */
export function textTable(rows: string[][], left: readonly number[] = [0]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A GitHub-flavoured markdown table (the columns in `left`, default the first, left-aligned; others right-aligned). */
export function markdownTable(rows: string[][], left: readonly number[] = [0]): string {
  const [head, ...body] = rows;
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${head!.map(esc).join(' | ')} |`,
    `|${head!.map((_, c) => (left.includes(c) ? ':---' : '---:')).join('|')}|`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function budgetCells(b: BudgetRecord | undefined): string[] {
  if (b === undefined) return ['-', '-'];
  const op = lowerIsBetter(b.budget.metric) ? '<=' : '>=';
  const label = `${b.budget.metric} ${op} ${b.budget.limit}${b.budget.gating === false ? ' (info)' : ''}`;
  return [label, `${b.status}${b.remeasured ? ' (re-measured)' : ''}`];
}

/** Header of {@link comparisonRows}. */
export const COMPARISON_HEADER = [
  'scenario',
  'median ratio',
  'IQR',
  'min–max',
  'rounds',
  'p50 µs A/B',
  'p99 µs A/B',
  'ops/s A/B',
  'budget',
  'status',
];

/**
 * One row per budget (or one row when a scenario has none) of a comparison scenario.
 * The ratio columns show the deciding measurement (the re-measurement when there was one).
 */
export function comparisonRows(records: readonly ScenarioRecord[]): string[][] {
  const rows: string[][] = [];
  for (const r of records) {
    if (r.kind !== 'compare') continue;
    const m = decidingCompare(r);
    if (m === undefined) {
      rows.push([r.name, 'error', '', '', '', '', '', '', ...budgetCells(undefined)]);
      continue;
    }
    const s = m.ratio;
    const cells = [
      r.name,
      ratio(s.median),
      `${ratio(s.q1)}–${ratio(s.q3)}`,
      `${ratio(s.min)}–${ratio(s.max)}`,
      String(s.n),
      `${num(m.baseline.latencyUs.p50)} / ${num(m.candidate.latencyUs.p50)}`,
      `${num(m.baseline.latencyUs.p99)} / ${num(m.candidate.latencyUs.p99)}`,
      `${num(m.baseline.opsPerSec)} / ${num(m.candidate.opsPerSec)}`,
    ];
    if (r.budgets.length === 0) rows.push([...cells, ...budgetCells(undefined)]);
    for (const b of r.budgets) rows.push([...cells, ...budgetCells(b)]);
  }
  return rows;
}

/** The comparison that decided a record's budgets (the re-measurement when there was one). */
export function decidingCompare(r: ScenarioRecord): CompareResult | undefined {
  return r.remeasure ?? r.compare;
}

/** The experiment run that decided a record's budgets (the re-run when there was one). */
export function decidingRun(r: ScenarioRecord): ExperimentResult | undefined {
  return r.rerun ?? r.experiment;
}

/** Header of {@link experimentRows}. */
export const EXPERIMENT_HEADER = ['scenario', 'figure', 'value', 'first run', 'budget', 'status', 'what'];
/** The text columns of {@link experimentRows}, left-aligned (scenario, figure, what). */
export const EXPERIMENT_LEFT: readonly number[] = [0, 1, 6];

/**
 * One row per figure of each experiment scenario (the scenario named on its first row),
 * in the order the scenario declares them. `value` is the deciding run's (the re-run when
 * a breach triggered one); `first run` is then the first run's.
 */
export function experimentRows(records: readonly ScenarioRecord[]): string[][] {
  const rows: string[][] = [];
  for (const r of records) {
    if (r.kind !== 'experiment') continue;
    const run = decidingRun(r);
    if (run === undefined) {
      rows.push([r.name, 'error', '', '', ...budgetCells(undefined), '']);
      continue;
    }
    const names = Object.keys(r.figureNotes ?? run.figures);
    names.forEach((figure, i) => {
      const value = run.figures[figure];
      const first = r.rerun === undefined ? undefined : r.experiment?.figures[figure];
      const budget = r.budgets.find((b) => 'figure' in b.budget && b.budget.figure === figure);
      rows.push([
        i === 0 ? r.name : '',
        figure,
        value === undefined ? '-' : num(value),
        first === undefined ? '' : num(first),
        ...budgetCells(budget),
        r.figureNotes?.[figure] ?? '',
      ]);
    });
  }
  return rows;
}

/** Header of {@link loadRows}. */
export const LOAD_HEADER = [
  'scenario',
  'mode',
  'sent',
  'ok',
  'failed',
  'ok/s',
  'p50 ms',
  'p99 ms',
  'max in flight',
];

/** A record's load runs by row name: a load scenario's one run, an experiment's steps (deciding run). */
export function loadRuns(r: ScenarioRecord): [string, LoadResult][] {
  if (r.load !== undefined) return [[r.name, r.load]];
  return Object.entries(decidingRun(r)?.loads ?? {}).map(([step, l]) => [`${r.name}: ${step}`, l]);
}

/** One row per load run: load scenarios, and each step of an experiment. */
export function loadRows(records: readonly ScenarioRecord[]): string[][] {
  return records
    .flatMap(loadRuns)
    .map(([name, l]) => [
      name,
      l.mode === 'open' ? `open ${l.rate}/s` : `closed ×${l.concurrency}`,
      String(l.sent),
      String(l.succeeded),
      String(l.failed),
      num(l.throughput),
      num(l.latencyMs.p50),
      num(l.latencyMs.p99),
      String(l.maxInFlight),
    ]);
}

/** One line describing where a results file was measured. */
export function environmentLine(results: BenchResults): string {
  const e = results.environment;
  return `node ${e.node} · ${e.cpu} × ${e.cpus} · commit ${e.commit.slice(0, 10)}${e.dirty ? ' (dirty)' : ''} · load ${e.loadavg1.toFixed(2)} · ${results.startedAt}`;
}
