/**
 * Renders a results file as a markdown report with SVG charts.
 *
 *   tsx benchmarks/report.ts benchmarks/results/<file>.json [--out <dir>]
 *
 * Writes into <dir> (default: beside the results file, `<name>-report/`):
 * `report.md` (environment, comparison and load tables), `latency.svg` (p50/p99 per
 * scenario, baseline vs candidate, log axis), `ratios.svg` (median ratio, IQR, min–max
 * against each budget), and `timeline-<scenario>.svg` per load scenario (throughput and
 * in-flight over time). Prints the markdown on stdout.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import {
  COMPARISON_HEADER,
  comparisonRows,
  environmentLine,
  LOAD_HEADER,
  loadRows,
  markdownTable,
} from './report/format.js';
import { readResults } from './report/results.js';
import { latencyChart, ratioChart, timelineChart } from './report/svg.js';

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
  const compared = results.scenarios.filter((r) => (r.remeasure ?? r.compare) !== undefined);
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
  const loads = results.scenarios.filter((r) => r.load !== undefined);
  if (loads.length > 0) {
    md.push('## Load runs', '', markdownTable([LOAD_HEADER, ...loadRows(loads)]), '');
    for (const r of loads) {
      const name = `timeline-${r.name.replace(/[^a-z0-9.-]+/gi, '_')}.svg`;
      await writeFile(join(dir, name), timelineChart(r.load!, `Throughput over time: ${r.name}`));
      md.push(`${r.description}`, '', `![throughput over time, ${r.name}](${name})`, '');
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
