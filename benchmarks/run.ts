/**
 * The benchmark runner.
 *
 *   npm run bench                       every scenario, results saved under benchmarks/results/
 *   npm run bench -- --filter stdio     scenarios whose name contains "stdio"
 *   npm run bench:check                 budgeted scenarios only; exits 1 on a breach
 *
 * Options: --check, --filter <substr>, --budgets <file> (default benchmarks/budgets.json),
 * --out <file> (default benchmarks/results/<date>-<commit>.json; in --check mode
 * <date>-<commit>.tmp.json, which git ignores, so CI never dirties the tree),
 * --no-save, --rounds-scale <x> (multiply every scenario's rounds, e.g. 0.5 for a quick look),
 * --history <file> (default benchmarks/results/history.jsonl: a saved run outside --check
 * mode appends one line of headline figures to it; see report/history.ts).
 *
 * The verdict rule (re-measurement, spread) is documented in harness/verdict.ts.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadBudgets } from './harness/budgets.js';
import { type BenchEvent, type BenchResults, runBench } from './harness/runner.js';
import {
  COMPARISON_HEADER,
  comparisonRows,
  decidingCompare,
  decidingRun,
  EXPERIMENT_HEADER,
  EXPERIMENT_LEFT,
  environmentLine,
  experimentRows,
  LOAD_HEADER,
  loadRows,
  num,
  ratio,
  textTable,
} from './report/format.js';
import { appendHistory } from './report/history.js';
import { serializeResults } from './report/results.js';
import { scenarios } from './scenarios/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));

function onEvent(event: BenchEvent): void {
  if (event.type === 'start') process.stderr.write(`▶ ${event.scenario} (${event.kind})\n`);
  else if (event.type === 'remeasure') {
    const how = event.kind === 'experiment' ? 'running it again' : 're-measuring with more rounds';
    process.stderr.write(`  breach of ${event.budgets.join(', ')} — ${how}\n`);
  } else {
    const r = event.record;
    if (r.error !== undefined) process.stderr.write(`  error: ${r.error}\n`);
    else if (r.compare) {
      const m = decidingCompare(r)!;
      process.stderr.write(
        `  median ratio ${ratio(m.ratio.median)} (IQR ${ratio(m.ratio.q1)}–${ratio(m.ratio.q3)}) ${r.budgets.map((b) => `${b.budget.id}: ${b.status}`).join(', ')}\n`,
      );
    } else if (r.experiment) {
      const figures = decidingRun(r)!.figures;
      process.stderr.write(
        `  ${r.budgets.map((b) => `${b.budget.id}: ${'figure' in b.budget ? `${b.budget.figure} ${num(figures[b.budget.figure]!)} ` : ''}${b.status}`).join(', ') || 'no budgets'}\n`,
      );
    }
  }
}

function resultsName(results: BenchResults, check: boolean): string {
  const date = results.startedAt.slice(0, 19).replace(/[:T]/g, '-');
  const commit = results.environment.commit.slice(0, 7);
  return `${date}-${commit}${check ? '.tmp' : ''}.json`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      filter: { type: 'string' },
      budgets: { type: 'string', default: join(HERE, 'budgets.json') },
      out: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      'rounds-scale': { type: 'string' },
      history: { type: 'string', default: join(HERE, 'results', 'history.jsonl') },
    },
    allowPositionals: false,
  });
  const roundsScale = values['rounds-scale'] === undefined ? 1 : Number(values['rounds-scale']);
  if (!(roundsScale > 0))
    throw new TypeError(`--rounds-scale must be a positive number (got ${values['rounds-scale']})`);
  const budgets = await loadBudgets(values.budgets!);
  const results = await runBench({
    scenarios,
    budgets,
    check: values.check,
    roundsScale,
    cwd: HERE,
    onEvent,
    ...(values.filter !== undefined ? { filter: values.filter } : {}),
  });

  const out: string[] = ['', environmentLine(results), ''];
  const compareRows = comparisonRows(results.scenarios);
  if (compareRows.length > 0) out.push(textTable([COMPARISON_HEADER, ...compareRows]), '');
  const experiments = experimentRows(results.scenarios);
  if (experiments.length > 0) out.push(textTable([EXPERIMENT_HEADER, ...experiments], EXPERIMENT_LEFT), '');
  const load = loadRows(results.scenarios);
  if (load.length > 0) out.push(textTable([LOAD_HEADER, ...load]), '');
  for (const p of results.problems) out.push(`problem: ${p}`);
  for (const r of results.scenarios)
    if (r.error !== undefined) out.push(`error in ${r.name}: ${r.error.split('\n')[0]}`);
  out.push(
    `${results.ok ? 'OK' : 'FAILED'} in ${(results.durationMs / 1000).toFixed(1)} s (A = baseline, B = candidate; ratio = B/A time per op)`,
  );
  if (!values['no-save']) {
    const file = values.out ?? join(HERE, 'results', resultsName(results, values.check!));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, serializeResults(results));
    out.push(`results: ${relative(process.cwd(), file)}`);
    if (!values.check) {
      await appendHistory(values.history!, results);
      out.push(`history: one line appended to ${relative(process.cwd(), values.history!)}`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return results.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 2;
  },
);
