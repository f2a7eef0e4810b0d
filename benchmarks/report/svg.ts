/**
 * Hand-written SVG charts for benchmark reports (no chart library): grouped latency
 * bars on a log axis, ratio intervals against budgets, a throughput-over-time line
 * chart for load runs, and for experiments their budgeted figures against the limits
 * and their load steps side by side. Each function returns a complete, self-contained SVG document.
 */

import {
  CHART_COLORS as COLORS,
  svgDoc as doc,
  escapeXml as esc,
  svgLegend as legend,
  linearTicks,
  svgText as text,
  timelineChart,
} from 'mcp-perf/bench';
import type { ScenarioRecord } from '../harness/runner.js';
import type { LoadResult } from '../load/index.js';
import { decidingCompare, decidingRun, num } from './format.js';

export { linearTicks, timelineChart };

function fmtUs(v: number): string {
  if (v >= 1000) return `${v / 1000} ms`;
  return `${v} µs`;
}

/** The measurement that decided a scenario (the re-measurement when there was one). */

/**
 * Grouped bars: per comparison scenario, p50 and p99 latency of the baseline and the
 * candidate, on a logarithmic µs axis.
 */
export function latencyChart(
  records: readonly ScenarioRecord[],
  title = 'Latency per operation: baseline vs candidate',
): string {
  const rows = records.filter((r) => decidingCompare(r) !== undefined);
  const groupW = 150;
  const left = 80;
  const top = 70;
  const plotH = 300;
  const width = Math.max(640, left + rows.length * groupW + 30);
  const height = top + plotH + 90;
  const values = rows.flatMap((r) => {
    const m = decidingCompare(r)!;
    return [
      m.baseline.latencyUs.p50,
      m.candidate.latencyUs.p50,
      m.baseline.latencyUs.p99,
      m.candidate.latencyUs.p99,
    ];
  });
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values, 10))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, lo * 10)));
  const y = (v: number): number =>
    top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / Math.log10(hi / lo)) * plotH;
  const body: string[] = [
    text(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    ...legend(left, 50, [
      { label: 'baseline p50', color: COLORS.baseline },
      { label: 'candidate p50', color: COLORS.candidate },
      { label: 'baseline p99', color: COLORS.baseline2 },
      { label: 'candidate p99', color: COLORS.candidate2 },
    ]),
  ];
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const yy = y(d);
    body.push(
      `<line x1="${left}" y1="${yy}" x2="${width - 20}" y2="${yy}" stroke="#ddd"/>`,
      text(left - 8, yy + 4, fmtUs(Number(d.toPrecision(6))), 'font-size="11" text-anchor="end" fill="#333"'),
    );
  }
  body.push(
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${width - 20}" y2="${top + plotH}" stroke="#333"/>`,
    text(
      18,
      top + plotH / 2,
      'latency per operation (log scale)',
      `font-size="12" text-anchor="middle" transform="rotate(-90 18 ${top + plotH / 2})"`,
    ),
  );
  rows.forEach((r, i) => {
    const m = decidingCompare(r)!;
    const x0 = left + i * groupW + 15;
    const bars = [
      [m.baseline.latencyUs.p50, COLORS.baseline],
      [m.candidate.latencyUs.p50, COLORS.candidate],
      [m.baseline.latencyUs.p99, COLORS.baseline2],
      [m.candidate.latencyUs.p99, COLORS.candidate2],
    ] as const;
    bars.forEach(([v, color], j) => {
      const bx = x0 + j * 30 + (j >= 2 ? 8 : 0);
      const by = y(v);
      body.push(
        `<rect x="${bx}" y="${by.toFixed(1)}" width="26" height="${(top + plotH - by).toFixed(1)}" fill="${color}"><title>${esc(`${r.name}: ${v.toFixed(1)} µs`)}</title></rect>`,
        text(
          bx + 13,
          by - 4,
          v >= 100 ? v.toFixed(0) : v.toFixed(1),
          'font-size="9" text-anchor="middle" fill="#333"',
        ),
      );
    });
    const parts = r.name.split('.');
    const line2 = parts.slice(1).join('.');
    body.push(text(x0 + 62, top + plotH + 18, parts[0]!, 'font-size="11" text-anchor="middle"'));
    if (line2) body.push(text(x0 + 62, top + plotH + 32, line2, 'font-size="11" text-anchor="middle"'));
  });
  body.push(
    text(
      width / 2,
      height - 12,
      'scenario (bars: µs per operation, sequential calls)',
      'font-size="12" text-anchor="middle" fill="#333"',
    ),
  );
  return doc(width, height, body);
}

/**
 * Per comparison scenario: the median ratio candidate/baseline (dot), its interquartile
 * range (thick bar) and min–max (thin line), with the budget's limit (red tick).
 */
export function ratioChart(
  records: readonly ScenarioRecord[],
  title = 'Ratio candidate / baseline per round',
): string {
  const rows = records.filter((r) => decidingCompare(r) !== undefined);
  const left = 250;
  const right = 70;
  const top = 70;
  const rowH = 34;
  const width = 820;
  const plotW = width - left - right;
  const height = top + rows.length * rowH + 60;
  const limits = rows.flatMap((r) =>
    r.budgets.map((b) => (b.budget.metric === 'ratio' ? b.budget.limit : 1 / b.budget.limit)),
  );
  // The axis covers the interquartile ranges, the limits and 1.0, plus a margin; whiskers
  // reaching further are clipped and marked with their value, so that one wild round
  // does not squash every other row.
  const core = rows
    .flatMap((r) => [decidingCompare(r)!.ratio.q1, decidingCompare(r)!.ratio.q3])
    .concat(limits, [1]);
  const span = Math.max(...core) - Math.min(...core);
  const lo = Math.max(0, Math.floor((Math.min(...core) - Math.max(0.1, span * 0.25)) * 10) / 10);
  const hi = Math.ceil((Math.max(...core) + Math.max(0.1, span * 0.25)) * 10) / 10;
  const x = (v: number): number => left + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo || 1)) * plotW;
  const body: string[] = [
    text(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    ...legend(left, 50, [
      { label: 'median', color: '#222' },
      { label: 'interquartile range', color: COLORS.candidate },
      { label: 'min–max', color: '#888', dash: false },
      { label: 'budget limit', color: '#d62728', dash: false },
    ]),
  ];
  body.push(text(width - right + 4, top - 8, 'verdict', 'font-size="11" fill="#333"'));
  const step = hi - lo > 2 ? 0.5 : hi - lo > 0.8 ? 0.2 : hi - lo > 0.3 ? 0.1 : 0.05;
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) {
    const xx = x(v);
    body.push(
      `<line x1="${xx}" y1="${top - 5}" x2="${xx}" y2="${top + rows.length * rowH}" stroke="${Math.abs(v - 1) < 1e-9 ? '#555' : '#e3e3e3'}"/>`,
      text(xx, top + rows.length * rowH + 16, v.toFixed(2), 'font-size="11" text-anchor="middle"'),
    );
  }
  rows.forEach((r, i) => {
    const s = decidingCompare(r)!.ratio;
    const cy = top + i * rowH + rowH / 2;
    body.push(
      text(left - 10, cy + 4, r.name, 'font-size="12" text-anchor="end"'),
      `<line x1="${x(s.min)}" y1="${cy}" x2="${x(s.max)}" y2="${cy}" stroke="#888" stroke-width="1.5"/>`,
      ...(s.max > hi
        ? [
            text(
              x(hi) - 3,
              cy - 5,
              `max ${s.max.toFixed(2)} →`,
              'font-size="10" fill="#666" text-anchor="end"',
            ),
          ]
        : []),
      ...(s.min < lo
        ? [text(x(lo) + 3, cy - 5, `← min ${s.min.toFixed(2)}`, 'font-size="10" fill="#666"')]
        : []),
      `<rect x="${x(s.q1)}" y="${cy - 7}" width="${Math.max(1, x(s.q3) - x(s.q1))}" height="14" fill="${COLORS.candidate}" opacity="0.85"/>`,
      `<circle cx="${x(s.median)}" cy="${cy}" r="4.5" fill="#222"><title>${esc(`${r.name}: median ${s.median.toFixed(3)}`)}</title></circle>`,
    );
    for (const b of r.budgets) {
      const lim = b.budget.metric === 'ratio' ? b.budget.limit : 1 / b.budget.limit;
      body.push(
        `<line x1="${x(lim)}" y1="${cy - 12}" x2="${x(lim)}" y2="${cy + 12}" stroke="#d62728" stroke-width="3"/>`,
      );
      body.push(
        text(
          width - right + 4,
          cy + 4,
          b.status,
          `font-size="11" fill="${b.status === 'fail' ? '#d62728' : '#2a7a2a'}"`,
        ),
      );
    }
  });
  body.push(
    text(
      left + plotW / 2,
      height - 12,
      'time per operation, candidate ÷ baseline (1.0 = no difference; right = slower)',
      'font-size="12" text-anchor="middle" fill="#333"',
    ),
  );
  return doc(width, height, body);
}

/**
 * An experiment's budgeted figures, one row each on its own scale: the deciding run's
 * value (bar), the first run's (hollow dot, when a breach re-ran the experiment), the
 * limit (red tick) and the side of it that passes (shaded).
 */
export function figureChart(record: ScenarioRecord, title = `Budgeted figures: ${record.name}`): string {
  const run = decidingRun(record);
  const rows = record.budgets.flatMap((b) =>
    'figure' in b.budget && run?.figures[b.budget.figure] !== undefined
      ? [{ record: b, budget: b.budget }]
      : [],
  );
  const left = 230;
  const right = 130;
  const top = 60;
  const rowH = 64;
  const width = 820;
  const plotW = width - left - right;
  const height = top + Math.max(1, rows.length) * rowH + 30;
  const body: string[] = [
    text(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    ...legend(left, 46, [
      { label: record.rerun ? 'value (re-run)' : 'value', color: COLORS.candidate },
      ...(record.rerun ? [{ label: 'first run', color: '#888', dash: false }] : []),
      { label: 'limit', color: '#d62728', dash: false },
      { label: 'passes', color: '#dcefd9' },
    ]),
  ];
  rows.forEach(({ record: b, budget }, i) => {
    const value = run!.figures[budget.figure]!;
    const first = record.rerun ? record.experiment?.figures[budget.figure] : undefined;
    const ticks = linearTicks(Math.max(value, first ?? 0, budget.limit) * 1.1, 4);
    const hi = ticks[ticks.length - 1]!;
    const x = (v: number): number => left + (Math.min(hi, Math.max(0, v)) / hi) * plotW;
    const y0 = top + i * rowH + 8;
    const barH = 22;
    const max = budget.metric === 'max';
    const [okFrom, okTo] = max ? [0, budget.limit] : [budget.limit, hi];
    body.push(
      text(left - 10, y0 + 12, budget.figure, 'font-size="12" text-anchor="end"'),
      text(
        left - 10,
        y0 + 27,
        `${max ? '<=' : '>='} ${budget.limit}${budget.gating === false ? ' (info)' : ''}`,
        'font-size="11" text-anchor="end" fill="#666"',
      ),
      `<rect x="${x(okFrom)}" y="${y0 - 4}" width="${x(okTo) - x(okFrom)}" height="${barH + 8}" fill="#dcefd9"/>`,
      `<rect x="${left}" y="${y0}" width="${Math.max(1, x(value) - left).toFixed(1)}" height="${barH}" fill="${COLORS.candidate}"><title>${esc(`${budget.figure}: ${value}`)}</title></rect>`,
      text(
        Math.max(x(value), x(first ?? 0), x(budget.limit)) + 8,
        y0 + 15,
        value.toPrecision(3),
        'font-size="11" fill="#333"',
      ),
      `<line x1="${x(budget.limit)}" y1="${y0 - 6}" x2="${x(budget.limit)}" y2="${y0 + barH + 6}" stroke="#d62728" stroke-width="3"/>`,
      `<line x1="${left}" y1="${y0 + barH + 8}" x2="${left + plotW}" y2="${y0 + barH + 8}" stroke="#333"/>`,
      text(
        width - right + 10,
        y0 + 15,
        `${b.status}${b.remeasured ? ' (re-run)' : ''}`,
        `font-size="12" fill="${b.status === 'fail' ? '#d62728' : b.status === 'warn' ? '#b36b00' : '#2a7a2a'}"`,
      ),
    );
    if (first !== undefined) {
      body.push(
        `<circle cx="${x(first)}" cy="${y0 + barH / 2}" r="5" fill="none" stroke="#555" stroke-width="2"><title>${esc(`first run: ${first}`)}</title></circle>`,
      );
    }
    for (const t of ticks) {
      body.push(text(x(t), y0 + barH + 21, String(t), 'font-size="10" text-anchor="middle" fill="#555"'));
    }
  });
  if (rows.length === 0) body.push(text(width / 2, top + 30, 'no budgeted figures', 'text-anchor="middle"'));
  return doc(width, height, body);
}

/**
 * An experiment's load runs side by side: ok/s per step (left, with the offered rate of
 * open-loop steps) and p50 / p99 latency per step (right, log scale).
 */
export function loadStepsChart(loads: Record<string, LoadResult>, title: string): string {
  const steps = Object.entries(loads);
  const top = 70;
  const plotH = 260;
  const panelW = 340;
  const gap = 90;
  const left = 70;
  const width = left + 2 * panelW + gap + 30;
  const height = top + plotH + 60;
  const slot = panelW / Math.max(1, steps.length);
  const body: string[] = [
    text(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    ...legend(left, 50, [
      { label: 'ok/s', color: COLORS.baseline },
      { label: 'offered/s', color: '#999', dash: true },
      { label: 'p50', color: COLORS.candidate },
      { label: 'p99', color: COLORS.candidate2 },
    ]),
  ];
  const axes = (x0: number, label: string): void => {
    body.push(
      `<line x1="${x0}" y1="${top}" x2="${x0}" y2="${top + plotH}" stroke="#333"/>`,
      `<line x1="${x0}" y1="${top + plotH}" x2="${x0 + panelW}" y2="${top + plotH}" stroke="#333"/>`,
      text(
        x0 - 48,
        top + plotH / 2,
        label,
        `font-size="12" text-anchor="middle" transform="rotate(-90 ${x0 - 48} ${top + plotH / 2})"`,
      ),
    );
    steps.forEach(([step], i) => {
      body.push(text(x0 + (i + 0.5) * slot, top + plotH + 16, step, 'font-size="11" text-anchor="middle"'));
    });
  };

  // Left panel: throughput, linear.
  const rateTicks = linearTicks(Math.max(1, ...steps.map(([, l]) => Math.max(l.throughput, l.rate ?? 0))));
  const rateTop = rateTicks[rateTicks.length - 1]!;
  const yRate = (v: number): number => top + plotH - (v / rateTop) * plotH;
  for (const v of rateTicks) {
    body.push(
      `<line x1="${left}" y1="${yRate(v)}" x2="${left + panelW}" y2="${yRate(v)}" stroke="#e3e3e3"/>`,
      text(left - 6, yRate(v) + 4, String(v), 'font-size="11" text-anchor="end"'),
    );
  }
  axes(left, 'answered OK per second');
  steps.forEach(([step, l], i) => {
    const bx = left + i * slot + slot * 0.25;
    const by = yRate(l.throughput);
    body.push(
      `<rect x="${bx}" y="${by.toFixed(1)}" width="${slot * 0.5}" height="${(top + plotH - by).toFixed(1)}" fill="${COLORS.baseline}"><title>${esc(`${step}: ${l.throughput.toFixed(1)} ok/s`)}</title></rect>`,
      text(bx + slot * 0.25, by - 4, l.throughput.toFixed(0), 'font-size="10" text-anchor="middle"'),
    );
    if (l.rate !== undefined) {
      const ry = yRate(l.rate);
      body.push(
        `<line x1="${bx - 6}" y1="${ry}" x2="${bx + slot * 0.5 + 6}" y2="${ry}" stroke="#999" stroke-width="2" stroke-dasharray="5,3"/>`,
        text(bx + slot * 0.25, ry - 4, `${l.rate}/s`, 'font-size="10" text-anchor="middle" fill="#666"'),
      );
    }
  });

  // Right panel: latency, log scale.
  const x1 = left + panelW + gap;
  const latencies = steps.flatMap(([, l]) => [l.latencyMs.p50, l.latencyMs.p99]).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...latencies, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...latencies, lo * 10)));
  const yLat = (v: number): number =>
    top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / Math.log10(hi / lo)) * plotH;
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    body.push(
      `<line x1="${x1}" y1="${yLat(d)}" x2="${x1 + panelW}" y2="${yLat(d)}" stroke="#e3e3e3"/>`,
      text(x1 - 6, yLat(d) + 4, fmtUs(Number((d * 1000).toPrecision(6))), 'font-size="11" text-anchor="end"'),
    );
  }
  axes(x1, 'latency (log scale)');
  steps.forEach(([step, l], i) => {
    const bars = [
      [l.latencyMs.p50, COLORS.candidate, 'p50'],
      [l.latencyMs.p99, COLORS.candidate2, 'p99'],
    ] as const;
    bars.forEach(([v, color, label], j) => {
      const bx = x1 + i * slot + slot * 0.15 + j * slot * 0.36;
      const by = yLat(v);
      body.push(
        `<rect x="${bx}" y="${by.toFixed(1)}" width="${slot * 0.33}" height="${(top + plotH - by).toFixed(1)}" fill="${color}"><title>${esc(`${step} ${label}: ${v.toFixed(2)} ms`)}</title></rect>`,
        text(bx + slot * 0.165, by - 4, num(v), 'font-size="9" text-anchor="middle"'),
      );
    });
  });
  return doc(width, height, body);
}

/** One row of {@link historyChart}: a figure's value in each run (`undefined` where a run lacks it). */
export interface HistorySeries {
  /** The row's label, e.g. the scenario name. */
  label: string;
  /** One value per run, oldest first. */
  values: readonly (number | undefined)[];
  /** A budget limit to draw across the row, when the figure has one. */
  limit?: number;
}

/**
 * A figure over time: one row per series, a line through its value in each run (runs
 * evenly spaced, oldest at the left), each row scaled to its own range (shown at the
 * left) with its latest value at the right, and the budget limit as a dashed red line
 * when it falls within the row's range.
 */
export function historyChart(
  series: readonly HistorySeries[],
  runLabels: readonly string[],
  title = 'Headline figures over time',
): string {
  const left = 290;
  const right = 90;
  const top = 60;
  const rowH = 38;
  const width = 900;
  const plotW = width - left - right;
  const height = top + series.length * rowH + 70;
  const n = runLabels.length;
  const x = (i: number): number => left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const body: string[] = [
    text(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    ...legend(left, 46, [
      { label: 'value per run', color: COLORS.baseline, dash: false },
      { label: 'budget limit', color: '#d62728', dash: true },
    ]),
  ];
  series.forEach((s, row) => {
    const y0 = top + row * rowH;
    const known = s.values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    body.push(
      `<line x1="${left}" y1="${y0 + rowH}" x2="${left + plotW}" y2="${y0 + rowH}" stroke="#eee"/>`,
      text(left - 60, y0 + rowH / 2 + 4, s.label, 'font-size="11" text-anchor="end"'),
    );
    if (known.length === 0) return;
    let lo = Math.min(...known);
    let hi = Math.max(...known);
    if (hi - lo < Math.abs(hi) * 0.02) {
      const pad = Math.max(Math.abs(hi) * 0.01, 1e-6);
      lo -= pad;
      hi += pad;
    }
    const y = (v: number): number => y0 + rowH - 6 - ((v - lo) / (hi - lo)) * (rowH - 12);
    body.push(
      text(left - 8, y0 + 12, num(hi), 'font-size="9" fill="#888" text-anchor="end"'),
      text(left - 8, y0 + rowH - 4, num(lo), 'font-size="9" fill="#888" text-anchor="end"'),
    );
    if (s.limit !== undefined && s.limit >= lo && s.limit <= hi) {
      body.push(
        `<line x1="${left}" y1="${y(s.limit)}" x2="${left + plotW}" y2="${y(s.limit)}" stroke="#d62728" stroke-width="1.2" stroke-dasharray="5,3"/>`,
      );
    }
    const segments: string[][] = [[]];
    s.values.forEach((v, i) => {
      if (v === undefined || !Number.isFinite(v)) {
        segments.push([]);
        return;
      }
      segments[segments.length - 1]!.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      body.push(
        `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${COLORS.baseline}"><title>${esc(`${s.label}, ${runLabels[i] ?? ''}: ${num(v)}`)}</title></circle>`,
      );
    });
    for (const points of segments.filter((p) => p.length > 1)) {
      body.push(
        `<polyline points="${points.join(' ')}" fill="none" stroke="${COLORS.baseline}" stroke-width="1.8"/>`,
      );
    }
    body.push(text(left + plotW + 8, y0 + rowH / 2 + 4, num(known[known.length - 1]!), 'font-size="11"'));
  });
  const labelY = top + series.length * rowH + 16;
  const every = Math.max(1, Math.ceil(n / 8));
  runLabels.forEach((label, i) => {
    if (i % every === 0 || i === n - 1) {
      body.push(text(x(i), labelY, label, 'font-size="10" text-anchor="middle" fill="#333"'));
    }
  });
  body.push(
    text(
      left + plotW / 2,
      height - 12,
      'run (oldest left); each row on its own scale',
      'font-size="12" text-anchor="middle" fill="#333"',
    ),
  );
  return doc(width, height, body);
}
