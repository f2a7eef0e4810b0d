/**
 * Renders a results file as a markdown report with SVG charts.
 *
 *   tsx benchmarks/report.ts benchmarks/results/<file>.json [--out <dir>]
 *
 * Writes into <dir> (default: beside the results file, `<name>-report/`):
 * `report.md` (environment, comparison, experiment and load tables), `latency.svg`
 * (p50/p99 per scenario, baseline vs candidate, log axis), `ratios.svg` (median ratio,
 * IQR, min–max against each budget), per experiment `figures-<scenario>.svg` (budgeted
 * figures against their limits) and `steps-<scenario>.svg` (ok/s and latency of each
 * load step), and `timeline-<run>.svg` per load run, an experiment's steps included
 * (throughput and in-flight over time). Prints the markdown on stdout.
 *
 *   tsx benchmarks/report.ts --history [history.jsonl] [--out <dir>]
 *
 * Charts the compact history (default benchmarks/results/history.jsonl, one line per
 * run; see report/history.ts) into <dir> (default `benchmarks/results/history-report/`):
 * `history.md` (the latest runs' figures side by side) and `history.svg` (every headline
 * figure over time, against its budget).
 *
 *   tsx benchmarks/report.ts --add-history <results.json>... [--history-file <file>]
 *
 * Appends the history lines of saved results files (oldest first, skipping runs the
 * history already has), e.g. before deleting their raw files.
 */

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadBudgets } from './harness/budgets.js';
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
  loadRuns,
  markdownTable,
  num,
} from './report/format.js';
import { appendHistory, historySeries, readHistory, runLabel } from './report/history.js';
import { readResults } from './report/results.js';
import {
  figureChart,
  historyChart,
  latencyChart,
  loadStepsChart,
  ratioChart,
  timelineChart,
} from './report/svg.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const HISTORY = join(HERE, 'results', 'history.jsonl');
/** Runs shown side by side in `history.md` (the chart shows every run). */
const HISTORY_TABLE_RUNS = 8;

/** A file name for a chart of `name`. */
function chartFile(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^a-z0-9.-]+/gi, '_')}.svg`;
}

async function historyReport(file: string, out: string | undefined): Promise<void> {
  const lines = await readHistory(file);
  if (lines.length === 0) throw new Error(`${file}: no runs yet`);
  const dir = out ?? join(dirname(file), 'history-report');
  await mkdir(dir, { recursive: true });
  const series = historySeries(lines, await loadBudgets(join(HERE, 'budgets.json')));
  await writeFile(join(dir, 'history.svg'), historyChart(series, lines.map(runLabel)));
  const shown = lines.slice(-HISTORY_TABLE_RUNS);
  const offset = lines.length - shown.length;
  const rows = series.map((s) => [
    s.label,
    ...shown.map((_, i) => {
      const v = s.values[offset + i];
      return v === undefined ? '—' : num(v);
    }),
    s.limit === undefined ? '' : num(s.limit),
  ]);
  const md = [
    `# Benchmark history: ${basename(file)}`,
    '',
    `${lines.length} runs, ${lines[0]!.startedAt.slice(0, 10)} to ${lines[lines.length - 1]!.startedAt.slice(0, 10)}.`,
    'Comparisons: median ratio candidate ÷ baseline; experiments: their figures; load runs: ok/s.',
    '',
    markdownTable([['figure', ...shown.map(runLabel), 'budget'], ...rows]),
    '',
    '![headline figures over time](history.svg)',
    '',
  ].join('\n');
  await writeFile(join(dir, 'history.md'), md);
  process.stdout.write(`${md}\nwritten to ${relative(process.cwd(), dir) || '.'}\n`);
}

async function addHistory(files: readonly string[], history: string): Promise<void> {
  const known = new Set(
    existsSync(history) ? (await readHistory(history)).map((l) => `${l.startedAt} ${l.commit}`) : [],
  );
  const runs = await Promise.all(files.map((f) => readResults(f)));
  runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  for (const results of runs) {
    const key = `${results.startedAt} ${results.environment.commit.slice(0, 12)}`;
    if (known.has(key)) continue;
    await appendHistory(history, results);
    known.add(key);
    process.stdout.write(`added ${key}\n`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      out: { type: 'string' },
      history: { type: 'boolean', default: false },
      'add-history': { type: 'boolean', default: false },
      'history-file': { type: 'string', default: HISTORY },
    },
    allowPositionals: true,
  });
  if (values['add-history']) return addHistory(positionals, values['history-file']!);
  if (values.history) return historyReport(positionals[0] ?? values['history-file']!, values.out);
  if (positionals.length !== 1)
    throw new Error(
      'usage: tsx benchmarks/report.ts <results.json> [--out <dir>] | --history [history.jsonl] | --add-history <results.json>...',
    );
  const file = positionals[0]!;
  const results = await readResults(file);
  const dir = values.out ?? file.replace(/\.json$/, '-report');
  await mkdir(dir, { recursive: true });

  const md: string[] = [
    `# Benchmark report: ${basename(file)}`,
    '',
    environmentLine(results),
    '',
    `Mode \`${results.mode}\`, ${(results.durationMs / 1000).toFixed(1)} s, verdict **${results.ok ? 'OK' : 'FAILED'}**.`,
    '',
  ];
  const compared = results.scenarios.filter((r) => decidingCompare(r) !== undefined);
  if (compared.length > 0) {
    await writeFile(join(dir, 'latency.svg'), latencyChart(compared));
    await writeFile(join(dir, 'ratios.svg'), ratioChart(compared));
    md.push(
      '## Comparisons',
      '',
      'A = baseline, B = candidate. Ratio = B/A per-operation time, one value per interleaved round;',
      'the figures shown are those of the re-measurement when a budget breach triggered one.',
      '',
      markdownTable([COMPARISON_HEADER, ...comparisonRows(compared)]),
      '',
      '![ratio per round against budgets](ratios.svg)',
      '',
      '![latency percentiles](latency.svg)',
      '',
    );
  }
  const experiments = results.scenarios.filter((r) => decidingRun(r) !== undefined);
  if (experiments.length > 0) {
    md.push(
      '## Experiments',
      '',
      'Each experiment runs once and yields named figures; a budget breach runs it again, and the',
      're-run decides (`value`; `first run` is then the first). The load runs behind the figures are',
      'under "Load runs".',
      '',
      markdownTable([EXPERIMENT_HEADER, ...experimentRows(experiments)], EXPERIMENT_LEFT),
      '',
    );
    for (const r of experiments) {
      const run = decidingRun(r)!;
      const figures = chartFile('figures', r.name);
      await writeFile(join(dir, figures), figureChart(r));
      md.push(`### ${r.name}`, '', r.description, '', `![budgeted figures, ${r.name}](${figures})`, '');
      if (run.loads !== undefined) {
        const steps = chartFile('steps', r.name);
        await writeFile(join(dir, steps), loadStepsChart(run.loads, `Load steps: ${r.name}`));
        md.push(`![ok/s and latency per step, ${r.name}](${steps})`, '');
      }
      if (run.details !== undefined) {
        md.push('Settings:', '', '```json', JSON.stringify(run.details, null, 2), '```', '');
      }
    }
  }
  const runs = results.scenarios.flatMap((r) => loadRuns(r).map(([name, load]) => ({ r, name, load })));
  if (runs.length > 0) {
    md.push('## Load runs', '', markdownTable([LOAD_HEADER, ...loadRows(results.scenarios)]), '');
    for (const { r, name, load } of runs) {
      const file = chartFile('timeline', name);
      await writeFile(join(dir, file), timelineChart(load, `Throughput over time: ${name}`));
      md.push(r.load !== undefined ? r.description : `${name}: ${load.target}`, '');
      md.push(`![throughput over time, ${name}](${file})`, '');
    }
  }
  const failures = results.scenarios.filter((r) => r.error !== undefined);
  if (failures.length > 0 || results.problems.length > 0) {
    md.push('## Problems', '', ...results.problems.map((p) => `- ${p}`));
    md.push(...failures.map((r) => `- ${r.name}: ${r.error!.split('\n')[0]}`), '');
  }
  const text = md.join('\n');
  await writeFile(join(dir, 'report.md'), text);
  process.stdout.write(`${text}\nwritten to ${relative(process.cwd(), dir) || '.'}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`report: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
