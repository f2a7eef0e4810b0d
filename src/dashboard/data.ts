/**
 * The dashboard's data endpoint: a small JSON picture of the metrics snapshot and the
 * limits' stats, computed on the server so the page only draws.
 */

import { middlewareKind } from '../adapters/with.js';
import type { Middleware } from '../core/types.js';
import { ErrorCodes } from '../errors/index.js';
import type { ConcurrencyLimiter } from '../middleware/concurrency/index.js';
import type { MetricsMiddleware } from '../middleware/metrics/index.js';
import type { RateLimiter } from '../middleware/rate-limit/index.js';
import type { PoolStats, UpstreamPool } from '../pool/index.js';

/** What the dashboard polls. */
export interface DashboardData {
  /** `Date.now()` when taken. */
  takenAt: number;
  /** False when the config has no metrics entry (the page says so). */
  metrics: boolean;
  /** Requests completed since start. */
  requests: number;
  /** Requests per second over the metrics' recent window. */
  recentPerSecond: number;
  /** Recent latency percentiles, in ms, averaged over operations weighted by their recent requests. */
  latency: { p50: number; p90: number; p99: number };
  /** Cache statuses since start: hits (fresh and stale) and misses. */
  cache: { hits: number; misses: number; hitRate: number | null };
  /** Requests refused by a concurrency limit (shed) and by a rate limit, since start. */
  shed: number;
  rateLimited: number;
  /** Tokens per counted request (in + out), or null when token counting is off. */
  tokensPerRequest: number | null;
  /** The slowest tools by recent p99 (or overall p99 when idle), at most 5. */
  slowestTools: { tool: string; p99Ms: number; meanMs: number; requests: number }[];
  /** The upstream pool's stats, or null when the proxy has no pool. */
  pool: PoolStats | null;
}

/** Builds the dashboard data from the current metrics middleware (if any). */
export function dashboardData(
  metrics: MetricsMiddleware | undefined,
  stack: readonly Middleware[],
  pool?: UpstreamPool,
): DashboardData {
  const empty: DashboardData = {
    takenAt: Date.now(),
    metrics: false,
    requests: 0,
    recentPerSecond: 0,
    latency: { p50: 0, p90: 0, p99: 0 },
    cache: { hits: 0, misses: 0, hitRate: null },
    shed: 0,
    rateLimited: 0,
    tokensPerRequest: null,
    slowestTools: [],
    pool: pool?.stats() ?? null,
  };
  if (metrics === undefined) return empty;
  const snap = metrics.snapshot();
  let weight = 0;
  let p50 = 0;
  let p90 = 0;
  let p99 = 0;
  let shed = 0;
  let rateLimited = 0;
  let tokens = 0;
  let counted = 0;
  const tools: DashboardData['slowestTools'] = [];
  for (const op of snap.operations) {
    const n = op.recent.count;
    weight += n;
    p50 += op.recent.p50Ms * n;
    p90 += op.recent.p90Ms * n;
    p99 += op.recent.p99Ms * n;
    rateLimited += op.errorTypes[String(ErrorCodes.RateLimited)] ?? 0;
    shed += op.errorTypes[String(ErrorCodes.Overloaded)] ?? 0;
    if (op.tokens !== null) {
      tokens += op.tokens.in + op.tokens.out;
      counted += op.tokens.sampledRequests;
    }
    if (op.tool !== null && op.requests !== 0) {
      const s = op.recent.count !== 0 ? op.recent : op.latency;
      tools.push({ tool: op.tool, p99Ms: s.p99Ms, meanMs: s.meanMs, requests: op.requests });
    }
  }
  // The limits' own counters are authoritative (they also count refusals answered as tool results).
  const limits = limitCounts(stack);
  if (limits.shed !== undefined) shed = limits.shed;
  if (limits.rateLimited !== undefined) rateLimited = limits.rateLimited;
  const hits = snap.totals.cache.hit + snap.totals.cache.stale;
  const misses = snap.totals.cache.miss;
  tools.sort((a, b) => b.p99Ms - a.p99Ms);
  return {
    takenAt: snap.takenAt,
    metrics: true,
    requests: snap.totals.requests,
    recentPerSecond: snap.totals.recentPerSecond,
    latency: weight === 0 ? empty.latency : { p50: p50 / weight, p90: p90 / weight, p99: p99 / weight },
    cache: { hits, misses, hitRate: hits + misses === 0 ? null : hits / (hits + misses) },
    shed,
    rateLimited,
    tokensPerRequest: snap.tokens === null || counted === 0 ? null : tokens / counted,
    slowestTools: tools.slice(0, 5),
    pool: empty.pool,
  };
}

function limitCounts(stack: readonly Middleware[]): { shed?: number; rateLimited?: number } {
  const out: { shed?: number; rateLimited?: number } = {};
  for (const m of stack) {
    const kind = middlewareKind(m);
    if (kind === 'concurrencyLimit') {
      const scopes = Object.values((m as ConcurrencyLimiter).stats().scopes);
      out.shed = (out.shed ?? 0) + scopes.reduce((sum, s) => sum + s.shed, 0);
    } else if (kind === 'rateLimit') {
      out.rateLimited = (out.rateLimited ?? 0) + (m as RateLimiter).stats().limited;
    }
  }
  return out;
}
