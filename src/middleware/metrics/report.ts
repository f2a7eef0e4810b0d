/**
 * The human-readable report: a compact fixed-width table of a metrics snapshot.
 *
 * @module
 */

import type { MetricsSnapshot } from './types.js';

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Renders `s` as text: a summary line, one row per operation, then cache, tokens and sources. */
export function renderReport(s: MetricsSnapshot): string {
  const t = s.totals;
  const lines: string[] = [];
  lines.push(
    `requests ${t.requests} (ok ${t.outcomes.ok}, tool_error ${t.outcomes.tool_error}, protocol_error ` +
      `${t.outcomes.protocol_error}, shed ${t.outcomes.shed}, cancelled ${t.outcomes.cancelled}, timeout ` +
      `${t.outcomes.timeout}); in flight ${t.inFlight}; ${fmt(t.recentPerSecond)} req/s over the last ` +
      `${fmt(s.window.coveredMs / 1000)} s; uptime ${fmt(s.uptimeMs / 1000)} s`,
  );
  if (s.operations.length > 0) {
    const rows: string[][] = [
      [
        'side',
        'method',
        'tool',
        'requests',
        'errors',
        'p50 ms',
        'p90',
        'p99',
        'p99.9',
        'max',
        'recent p99',
        'req/s',
      ],
    ];
    for (const op of s.operations) {
      const l = op.latency;
      rows.push([
        op.side,
        op.method,
        op.tool ?? '-',
        String(op.requests),
        String(op.requests - op.outcomes.ok),
        fmt(l.p50Ms),
        fmt(l.p90Ms),
        fmt(l.p99Ms),
        fmt(l.p999Ms),
        fmt(l.maxMs),
        fmt(op.recent.p99Ms),
        fmt(op.recent.perSecond),
      ]);
    }
    lines.push(table(rows));
  }
  const c = t.cache;
  if (c.hit + c.miss + c.stale + c.coalesced + c.bypass > 0) {
    lines.push(
      `cache: hit ${c.hit}, miss ${c.miss}, stale ${c.stale}, coalesced ${c.coalesced}, bypass ${c.bypass}`,
    );
  }
  if (s.tokens !== null) {
    let sampled = 0;
    let tin = 0;
    let tout = 0;
    for (const op of s.operations) {
      sampled += op.tokens?.sampledRequests ?? 0;
      tin += op.tokens?.in ?? 0;
      tout += op.tokens?.out ?? 0;
    }
    lines.push(`tokens (${s.tokens.counter}): in ${tin}, out ${tout} over ${sampled} counted requests`);
  }
  for (const [name, figures] of Object.entries(s.sources)) {
    const parts = Object.entries(figures).map(([k, v]) => `${k} ${fmt(v)}`);
    lines.push(`${name}: ${parts.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
