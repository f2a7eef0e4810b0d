/**
 * Text formatting shared by the runner, the report and the comparison: aligned text
 * tables, markdown tables, numbers.
 */

import type { BenchResults, BudgetRecord, ScenarioRecord } from '../harness/runner.js';

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

/** Aligns rows into columns (first column left-aligned, others right-aligned). */
export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A GitHub-flavoured markdown table (first column left-aligned, others right-aligned). */
export function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows;
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [
    `| ${head!.map(esc).join(' | ')} |`,
    `|${head!.map((_, c) => (c === 0 ? ':---' : '---:')).join('|')}|`,
    ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function budgetCells(b: BudgetRecord | undefined): string[] {
  if (b === undefined) return ['-', '-'];
  const op = b.budget.metric === 'ratio' ? '<=' : '>=';
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
    const m = r.remeasure ?? r.compare;
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

/** One row per load scenario. */
export function loadRows(records: readonly ScenarioRecord[]): string[][] {
  return records
    .filter((r) => r.load !== undefined)
    .map((r) => {
      const l = r.load!;
      return [
        r.name,
        l.mode === 'open' ? `open ${l.rate}/s` : `closed ×${l.concurrency}`,
        String(l.sent),
        String(l.succeeded),
        String(l.failed),
        num(l.throughput),
        num(l.latencyMs.p50),
        num(l.latencyMs.p99),
        String(l.maxInFlight),
      ];
    });
}

/** One line describing where a results file was measured. */
export function environmentLine(results: BenchResults): string {
  const e = results.environment;
  return `node ${e.node} · ${e.cpu} × ${e.cpus} · commit ${e.commit.slice(0, 10)}${e.dirty ? ' (dirty)' : ''} · load ${e.loadavg1.toFixed(2)} · ${results.startedAt}`;
}
