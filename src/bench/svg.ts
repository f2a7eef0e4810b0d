/**
 * Hand-written SVG charts (no chart library): the primitives every chart is drawn with,
 * and the charts `mcp-perf bench` writes — throughput over time of a load run, latency
 * percentiles per run, and the per-round ratios of an interleaved comparison. Each chart
 * function returns a complete, self-contained SVG document.
 */

import type { LoadResult } from '../load/index.js';

/** The font attribute every chart's text uses. */
export const CHART_FONT = 'font-family="Helvetica, Arial, sans-serif"';
/** The charts' palette: baseline and candidate, and lighter shades of each. */
export const CHART_COLORS = {
  /** The reference side. */
  baseline: '#4c78a8',
  /** The side under test. */
  candidate: '#f58518',
  /** The reference side, second series. */
  baseline2: '#9ecae9',
  /** The side under test, second series. */
  candidate2: '#ffbf79',
};

/** Escapes text for SVG/XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A `<text>` element at (x, y) with extra attributes. */
export function svgText(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${CHART_FONT} ${attrs}>${escapeXml(s)}</text>`;
}

/** A complete SVG document of the given size, white background, holding `body`. */
export function svgDoc(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** "Nice" linear ticks covering [0, max]. */
export function linearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

/** A legend row at (x, y): a swatch (or a line when `dash` is set) and a label per item. */
export function svgLegend(
  x: number,
  y: number,
  items: { label: string; color: string; dash?: boolean }[],
): string[] {
  const out: string[] = [];
  let cx = x;
  for (const item of items) {
    out.push(
      item.dash !== undefined
        ? `<line x1="${cx}" y1="${y - 4}" x2="${cx + 18}" y2="${y - 4}" stroke="${item.color}" stroke-width="2.5"${item.dash ? ' stroke-dasharray="5,3"' : ''}/>`
        : `<rect x="${cx}" y="${y - 10}" width="12" height="12" fill="${item.color}"/>`,
      svgText(cx + 22, y, item.label, 'font-size="12" fill="#333"'),
    );
    cx += 40 + item.label.length * 7;
  }
  return out;
}

/**
 * Throughput over time of a load run: requests sent and answered successfully per
 * second (left axis), and the highest number in flight each second (right axis).
 */
export function timelineChart(load: LoadResult, title: string): string {
  const left = 70;
  const right = 70;
  const top = 70;
  const plotH = 280;
  const width = 760;
  const plotW = width - left - right;
  const height = top + plotH + 70;
  const t = load.timeline;
  const n = Math.max(t.length, 2);
  const rateMax = Math.max(1, ...t.map((p) => Math.max(p.sent, p.succeeded)), load.rate ?? 0);
  const inMax = Math.max(1, ...t.map((p) => p.inFlightMax));
  const yTicks = linearTicks(rateMax);
  const y2Ticks = linearTicks(inMax);
  const yTop = yTicks[yTicks.length - 1]!;
  const y2Top = y2Ticks[y2Ticks.length - 1]!;
  // Each point sits in the middle of its one-second bucket.
  const x = (second: number): number => left + ((second + 0.5) / n) * plotW;
  const y = (v: number): number => top + plotH - (v / yTop) * plotH;
  const y2 = (v: number): number => top + plotH - (v / y2Top) * plotH;
  const path = (f: (p: (typeof t)[number]) => number, yy: (v: number) => number): string =>
    t.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.second).toFixed(1)},${yy(f(p)).toFixed(1)}`).join(' ');
  const body: string[] = [
    svgText(width / 2, 24, title, 'font-size="16" font-weight="bold" text-anchor="middle"'),
    ...svgLegend(left, 50, [
      { label: 'sent / s', color: CHART_COLORS.baseline, dash: false },
      { label: 'answered OK / s', color: CHART_COLORS.candidate, dash: false },
      { label: 'max in flight (right axis)', color: '#54a24b', dash: true },
      ...(load.rate !== undefined ? [{ label: `offered ${load.rate}/s`, color: '#999', dash: true }] : []),
    ]),
  ];
  for (const v of yTicks) {
    body.push(
      `<line x1="${left}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="#e3e3e3"/>`,
      svgText(left - 8, y(v) + 4, String(v), 'font-size="11" text-anchor="end"'),
    );
  }
  for (const v of y2Ticks)
    body.push(svgText(left + plotW + 8, y2(v) + 4, String(v), 'font-size="11" fill="#3a7a35"'));
  for (let s = 0; s <= n; s++) {
    const xx = left + (s / n) * plotW;
    body.push(svgText(xx, top + plotH + 16, String(s), 'font-size="11" text-anchor="middle"'));
  }
  body.push(
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
    `<line x1="${left + plotW}" y1="${top}" x2="${left + plotW}" y2="${top + plotH}" stroke="#3a7a35"/>`,
    `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#333"/>`,
    svgText(
      20,
      top + plotH / 2,
      'requests per second',
      `font-size="12" text-anchor="middle" transform="rotate(-90 20 ${top + plotH / 2})"`,
    ),
    svgText(
      width - 18,
      top + plotH / 2,
      'requests in flight',
      `font-size="12" text-anchor="middle" fill="#3a7a35" transform="rotate(90 ${width - 18} ${top + plotH / 2})"`,
    ),
    svgText(left + plotW / 2, height - 20, 'time since start (s)', 'font-size="12" text-anchor="middle"'),
  );
  if (load.rate !== undefined) {
    body.push(
      `<line x1="${left}" y1="${y(load.rate)}" x2="${left + plotW}" y2="${y(load.rate)}" stroke="#999" stroke-dasharray="6,4"/>`,
    );
  }
  body.push(
    `<path d="${path((p) => p.sent, y)}" fill="none" stroke="${CHART_COLORS.baseline}" stroke-width="2.5"/>`,
    `<path d="${path((p) => p.succeeded, y)}" fill="none" stroke="${CHART_COLORS.candidate}" stroke-width="2.5"/>`,
    `<path d="${path((p) => p.inFlightMax, y2)}" fill="none" stroke="#54a24b" stroke-width="2" stroke-dasharray="5,3"/>`,
  );
  return svgDoc(width, height, body);
}
