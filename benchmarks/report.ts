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
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
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
} from './report/format.js';
import { readResults } from './report/results.js';
import { figureChart, latencyChart, loadStepsChart, ratioChart, timelineChart } from './report/svg.js';

/** A file name for a chart of `name`. */
function chartFile(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^a-z0-9.-]+/gi, '_')}.svg`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1)
    throw new Error('usage: tsx benchmarks/report.ts <results.json> [--out <dir>]');
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
