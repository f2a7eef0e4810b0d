/**
 * Compares two results files scenario by scenario.
 *
 *   tsx benchmarks/compare.ts <before.json> <after.json> [--threshold 0.02]
 *
 * For each comparison scenario present in both: the median ratio before and after, the
 * change, and the candidate's p50. A change is flagged REGRESSION when the median ratio
 * grew by more than the threshold (default 0.02) **and** the interquartile ranges do not
 * overlap (after's lower quartile above before's upper quartile) — a shift bigger than
 * the rounds' own spread; IMPROVED is the mirror image. Load scenarios show throughput
 * and p99 latency before and after, experiments their figures (informational: one run
 * each has no spread to judge a change by). Exits 1 when anything regressed.
 * Both files should come from the same machine: ratios travel better than absolute
 * times, but not across very different hardware.
 */

import { parseArgs } from 'node:util';
import { decidingCompare, decidingRun, environmentLine, num, ratio, textTable } from './report/format.js';
import { readResults } from './report/results.js';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { threshold: { type: 'string', default: '0.02' } },
    allowPositionals: true,
  });
  if (positionals.length !== 2)
    throw new Error('usage: tsx benchmarks/compare.ts <before.json> <after.json> [--threshold 0.02]');
  const threshold = Number(values.threshold);
  if (!(threshold >= 0))
    throw new Error(`--threshold must be a non-negative number (got ${values.threshold})`);
  const [a, b] = await Promise.all(positionals.map(readResults));
  const before = new Map(a!.scenarios.map((r) => [r.name, r]));
  const rows: string[][] = [
    ['scenario', 'ratio before', 'ratio after', 'change', 'B p50 µs before → after', 'flag'],
  ];
  const loadRows: string[][] = [['load scenario', 'ok/s before → after', 'p99 ms before → after']];
  const figureRows: string[][] = [['experiment', 'figure', 'before → after']];
  let regressions = 0;
  for (const r of b!.scenarios) {
    const prev = before.get(r.name);
    if (prev === undefined) continue;
    const m1 = decidingCompare(prev);
    const m2 = decidingCompare(r);
    if (m1 && m2) {
      const delta = m2.ratio.median - m1.ratio.median;
      let flag = '';
      if (delta > threshold && m2.ratio.q1 > m1.ratio.q3) {
        flag = 'REGRESSION';
        regressions++;
      } else if (-delta > threshold && m2.ratio.q3 < m1.ratio.q1) {
        flag = 'IMPROVED';
      }
      rows.push([
        r.name,
        `${ratio(m1.ratio.median)} (${ratio(m1.ratio.q1)}–${ratio(m1.ratio.q3)})`,
        `${ratio(m2.ratio.median)} (${ratio(m2.ratio.q1)}–${ratio(m2.ratio.q3)})`,
        `${delta >= 0 ? '+' : ''}${delta.toFixed(3)}`,
        `${num(m1.candidate.latencyUs.p50)} → ${num(m2.candidate.latencyUs.p50)}`,
        flag,
      ]);
    } else if (prev.load && r.load) {
      loadRows.push([
        r.name,
        `${num(prev.load.throughput)} → ${num(r.load.throughput)}`,
        `${num(prev.load.latencyMs.p99)} → ${num(r.load.latencyMs.p99)}`,
      ]);
    } else {
      const f1 = decidingRun(prev)?.figures;
      const f2 = decidingRun(r)?.figures;
      for (const [figure, after] of Object.entries(f2 ?? {})) {
        const was = f1?.[figure];
        if (was !== undefined) figureRows.push([r.name, figure, `${num(was)} → ${num(after)}`]);
      }
    }
  }
  const out = [`before: ${environmentLine(a!)}`, `after:  ${environmentLine(b!)}`, '', textTable(rows)];
  if (loadRows.length > 1) out.push('', textTable(loadRows));
  if (figureRows.length > 1) out.push('', textTable(figureRows));
  out.push('', regressions > 0 ? `${regressions} regression(s)` : 'no regressions');
  process.stdout.write(`${out.join('\n')}\n`);
  return regressions > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`compare: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
