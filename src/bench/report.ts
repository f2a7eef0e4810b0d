/**
 * What `mcp-perf bench` writes for CI: JSON, JUnit XML (one test case per budget), a
 * Markdown summary for a pull-request comment, and SVG charts.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BudgetVerdict } from './budgets.js';
import type { BenchComparison, BenchResult, BenchRunResult } from './run.js';
import { CHART_COLORS, escapeXml, svgDoc, svgLegend, svgText, timelineChart } from './svg.js';

function ms(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function fixed(n: number | null | undefined, digits = 2): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

function runsOf(result: BenchResult): [string, BenchRunResult][] {
  return Object.entries(result.runs).filter((e): e is [string, BenchRunResult] => e[1] !== undefined);
}

/** The A/B comparisons of a result, the re-measured ones after the first. */
export function comparisonsOf(result: BenchResult): BenchComparison[] {
  return [...Object.values(result.comparisons), ...Object.values(result.remeasured ?? {})].filter(
    (c) => c !== undefined,
  );
}

/** The result as JSON (pretty-printed, newline-terminated). */
export function benchJson(result: BenchResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

/**
 * The verdicts as JUnit XML: one `<testsuite name="mcp-perf bench">`, one `<testcase>`
 * per budget (its id as the name), a `<failure>` naming the budget and the figure for
 * each breach.
 */
export function benchJunit(result: BenchResult): string {
  const failures = result.verdicts.filter((v) => !passes(v)).length;
  const seconds = (result.elapsedMs / 1000).toFixed(3);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mcp-perf bench" tests="${result.verdicts.length}" failures="${failures}" time="${seconds}">`,
    `  <testsuite name="mcp-perf bench" tests="${result.verdicts.length}" failures="${failures}" errors="0" skipped="0" time="${seconds}" timestamp="${escapeXml(result.startedAt)}">`,
    '    <properties>',
    `      <property name="target" value="${escapeXml(result.target)}"/>`,
    ...(result.baseline ? [`      <property name="baseline" value="${escapeXml(result.baseline)}"/>`] : []),
    `      <property name="node" value="${escapeXml(result.environment.node)}"/>`,
    '    </properties>',
  ];
  for (const v of result.verdicts) {
    const name = escapeXml(v.budget.id);
    const classname = escapeXml(`budget.${v.budget.run}.${v.budget.metric}`);
    if (v.status === 'pass') {
      lines.push(`    <testcase name="${name}" classname="${classname}" time="0"/>`);
    } else if (v.status === 'noisy') {
      lines.push(
        `    <testcase name="${name}" classname="${classname}" time="0">`,
        `      <system-out>${escapeXml(`noisy: ${v.message}`)}</system-out>`,
        '    </testcase>',
      );
    } else {
      const message = escapeXml(`budget breached: ${v.budget.id}: ${v.message}`);
      lines.push(
        `    <testcase name="${name}" classname="${classname}" time="0">`,
        `      <failure message="${message}" type="${v.status === 'missing' ? 'NotMeasured' : 'BudgetBreached'}">${message}</failure>`,
        '    </testcase>',
      );
    }
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** A verdict that does not fail the run: `pass`, or `noisy` (passed on re-measurement). */
function passes(v: BudgetVerdict): boolean {
  return v.status === 'pass' || v.status === 'noisy';
}

function table(rows: string[][]): string[] {
  const [head, ...body] = rows;
  return [
    `| ${head!.join(' | ')} |`,
    `|${head!.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** A Markdown summary: verdict, budgets, runs, A/B ratios, the tool's own cost. */
export function benchMarkdown(result: BenchResult): string {
  const breached = result.verdicts.filter((v) => !passes(v));
  const lines = [
    `## mcp-perf bench: ${result.passed ? 'passed' : `${breached.length} budget${breached.length === 1 ? '' : 's'} breached`}`,
    '',
    `Target: \`${result.target}\`${result.baseline ? ` — baseline: \`${result.baseline}\`` : ''}`,
    '',
  ];
  if (result.verdicts.length > 0) {
    lines.push(
      ...table([
        ['budget', 'status', 'measured'],
        ...result.verdicts.map((v) => [
          v.budget.id.replace(/\|/g, '\\|'),
          passes(v) ? v.status : `**${v.status === 'fail' ? 'BREACHED' : 'NOT MEASURED'}**`,
          v.message.replace(/\|/g, '\\|'),
        ]),
      ]),
      '',
    );
  }
  lines.push(
    ...table([
      [
        'run',
        'sent',
        'ok/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        'mean ms',
        'error rate',
        'tokens/response',
        'cache hit rate',
      ],
      ...runsOf(result).map(([name, r]) => [
        name,
        String(r.load.sent),
        fixed(r.load.throughput, 1),
        ms(r.load.latencyMs.p50),
        ms(r.load.latencyMs.p90),
        ms(r.load.latencyMs.p99),
        ms(r.load.latencyMs.mean),
        fixed(r.errorRate, 4),
        fixed(r.tokensPerResponse, 1),
        fixed(r.cacheHitRate, 3),
      ]),
    ]),
    '',
  );
  const comparisons = comparisonsOf(result);
  if (comparisons.length > 0) {
    lines.push(
      'Interleaved A/B (ratio candidate ÷ reference; above 1 = slower):',
      '',
      ...table([
        ['comparison', 'rounds', 'p50 ratio', 'IQR', 'mean ratio', 'throughput ratio'],
        ...comparisons.map((c) => [
          c.name,
          String(c.compare.rounds.length),
          fixed(c.p50Ratio, 3),
          `${fixed(c.compare.ratio.q1, 3)}–${fixed(c.compare.ratio.q3, 3)}`,
          fixed(c.meanRatio, 3),
          fixed(c.throughputRatio, 3),
        ]),
      ]),
      '',
    );
  }
  if (result.selfCost) {
    const s = result.selfCost;
    lines.push(
      `The bench tool's own cost per request (against an instant in-process server): p50 ${fixed(s.p50Us, 1)} µs, mean ${fixed(s.meanUs, 1)} µs, CPU ${fixed(s.cpuUsPerRequest, 1)} µs.`,
      '',
    );
  }
  lines.push(
    `Node ${result.environment.node} on ${result.environment.platform}/${result.environment.arch}, ${fixed(result.elapsedMs / 1000, 1)} s.`,
    '',
  );
  return lines.join('\n');
}

/** Grouped bars: p50, p90 and p99 latency of each run, on a linear ms axis. */
export function runLatencyChart(result: BenchResult, title = 'Latency per run'): string {
  const runs = runsOf(result);
  const left = 70;
  const top = 70;
  const plotH = 260;
  const groupW = 140;
  const width = Math.max(520, left + runs.length * groupW + 40);
  const height = top + plotH + 60;
  const max = Math.max(0.001, ...runs.flatMap(([, r]) => [r.load.latencyMs.p99]));
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const colors = [CHART_COLORS.baseline, CHART_COLORS.candidate, CHART_COLORS.candidate2];
  const body = [
    svgText(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    ...svgLegend(left, 50, [
      { label: 'p50', color: colors[0]! },
      { label: 'p90', color: colors[1]! },
      { label: 'p99', color: colors[2]! },
    ]),
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 20}" y2="${top + plotH}" stroke="#333"/>`,
    svgText(18, top + plotH / 2, 'ms', `font-size="12" text-anchor="middle"`),
  ];
  runs.forEach(([name, r], i) => {
    const x0 = left + i * groupW + 20;
    [r.load.latencyMs.p50, r.load.latencyMs.p90, r.load.latencyMs.p99].forEach((v, j) => {
      const by = y(v);
      body.push(
        `<rect x="${x0 + j * 32}" y="${by.toFixed(1)}" width="28" height="${(top + plotH - by).toFixed(1)}" fill="${colors[j]}"/>`,
        svgText(x0 + j * 32 + 14, by - 4, ms(v), 'font-size="10" text-anchor="middle"'),
      );
    });
    body.push(svgText(x0 + 46, top + plotH + 18, name, 'font-size="12" text-anchor="middle"'));
  });
  return svgDoc(width, height, body);
}

/** Per A/B comparison: each round's median-latency ratio as a dot, the median as a bar, 1.0 as a line. */
export function comparisonChart(result: BenchResult, title = 'Interleaved A/B: ratio per round'): string {
  const comparisons = comparisonsOf(result);
  const left = 170;
  const right = 40;
  const top = 70;
  const rowH = 40;
  const width = 720;
  const plotW = width - left - right;
  const height = top + comparisons.length * rowH + 50;
  const ratios = comparisons.flatMap((c) => c.compare.rounds.map((r) => r.ratio)).concat([1]);
  const lo = Math.max(0, Math.min(...ratios) - 0.05);
  const hi = Math.max(...ratios) + 0.05;
  const x = (v: number): number => left + ((v - lo) / (hi - lo)) * plotW;
  const body = [
    svgText(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    `<line x1="${x(1)}" y1="${top - 10}" x2="${x(1)}" y2="${top + comparisons.length * rowH}" stroke="#555"/>`,
    svgText(x(lo), top + comparisons.length * rowH + 18, lo.toFixed(2), 'font-size="11"'),
    svgText(x(hi), top + comparisons.length * rowH + 18, hi.toFixed(2), 'font-size="11" text-anchor="end"'),
    svgText(x(1), top + comparisons.length * rowH + 18, '1.00', 'font-size="11" text-anchor="middle"'),
  ];
  comparisons.forEach((c, i) => {
    const cy = top + i * rowH + rowH / 2;
    body.push(svgText(left - 10, cy + 4, c.name, 'font-size="12" text-anchor="end"'));
    for (const r of c.compare.rounds) {
      body.push(
        `<circle cx="${x(r.ratio).toFixed(1)}" cy="${cy}" r="3" fill="${CHART_COLORS.candidate}" opacity="0.6"/>`,
      );
    }
    body.push(
      `<line x1="${x(c.p50Ratio).toFixed(1)}" y1="${cy - 10}" x2="${x(c.p50Ratio).toFixed(1)}" y2="${cy + 10}" stroke="#222" stroke-width="3"><title>${escapeXml(`median ${c.p50Ratio.toFixed(3)}`)}</title></line>`,
    );
  });
  return svgDoc(width, height, body);
}

/** Every chart for a result, by file name. */
export function benchCharts(result: BenchResult): Record<string, string> {
  const charts: Record<string, string> = { 'latency.svg': runLatencyChart(result) };
  for (const [name, r] of runsOf(result))
    charts[`timeline-${name}.svg`] = timelineChart(r.load, `Throughput over time: ${name}`);
  if (Object.values(result.comparisons).some((c) => c !== undefined))
    charts['ab.svg'] = comparisonChart(result);
  return charts;
}

/** Where {@link writeBenchReports} writes; each is optional. */
export interface BenchOutputs {
  /** The JSON result. */
  json?: string;
  /** JUnit XML. */
  junit?: string;
  /** The Markdown summary. */
  markdown?: string;
  /** A directory for the SVG charts. */
  svgDir?: string;
}

/** Writes the reports asked for (creating directories); resolves with the paths written. */
export async function writeBenchReports(result: BenchResult, outputs: BenchOutputs): Promise<string[]> {
  const written: string[] = [];
  const put = async (path: string, text: string) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    written.push(path);
  };
  if (outputs.json) await put(outputs.json, benchJson(result));
  if (outputs.junit) await put(outputs.junit, benchJunit(result));
  if (outputs.markdown) await put(outputs.markdown, benchMarkdown(result));
  if (outputs.svgDir) {
    for (const [file, svg] of Object.entries(benchCharts(result))) await put(join(outputs.svgDir, file), svg);
  }
  return written;
}
