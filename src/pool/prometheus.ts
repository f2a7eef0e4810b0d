/**
 * Prometheus export of an upstream pool's state through `prom-client`, beside the
 * metrics middleware's series. Reached only from the `mcp-perf/prometheus` entry.
 *
 * @module
 */

import type { Registry } from 'prom-client';
import { InvalidOptionError } from '../errors/index.js';
import {
  checkRegistry,
  LazyMetric,
  type PrometheusExporter,
  registerAll,
  type Value,
} from '../middleware/metrics/prometheus.js';
import type { BreakerState } from './breaker.js';
import type { PoolStats, UpstreamPool, UpstreamStats } from './pool.js';

/** Options of {@link poolPrometheusExporter}. */
export interface PoolPrometheusExporterOptions {
  /** The `prom-client` registry to register in, e.g. its global `register`. Required. */
  registry: Registry;
  /** Prepended to every metric name, e.g. `myapp_`. Default `''`. */
  prefix?: string;
}

const STATES: readonly UpstreamStats['state'][] = ['up', 'ejected', 'down'];
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const DENIED: readonly (keyof PoolStats['retriesDenied'])[] = ['budget', 'unsafe', 'attempts'];

/**
 * Exposes an upstream pool's state in a `prom-client` registry, computed from
 * {@link UpstreamPool.stats} when the registry is scraped (one `stats()` per scrape).
 * Every per-upstream series has an `upstream` label (the upstream's name), so the
 * cardinality is bounded by the pool's size; an upstream removed by `reconfigure()`
 * leaves the series once its last request has ended.
 *
 * Per upstream:
 * - `mcp_perf_pool_upstream_state` (gauge; `state` = `up` | `ejected` | `down`, 1 for the
 *   current state and 0 for the others; `up` means admitted);
 * - `mcp_perf_pool_breaker_state` (gauge; `state` = `closed` | `open` | `half-open`, 1 for
 *   the current state);
 * - `mcp_perf_pool_requests_in_flight` (gauge), and
 *   `mcp_perf_pool_draining_requests_in_flight` (gauge) for an upstream removed or
 *   replaced by `reconfigure()` that is still finishing requests;
 * - `mcp_perf_pool_requests_total`, `mcp_perf_pool_failures_total`,
 *   `mcp_perf_pool_retries_total` (failed attempts retried elsewhere),
 *   `mcp_perf_pool_hedges_total` (hedged copies sent to it) (counters);
 * - `mcp_perf_pool_ejections_total` (counter; `reason` = `failures` | `latency`);
 * - `mcp_perf_pool_breaker_transitions_total` (counter; `to` = the state entered);
 * - `mcp_perf_pool_latency_p50_seconds` (gauge; after its first answer).
 *
 * For the pool: `mcp_perf_pool_retry_budget_requests`, `mcp_perf_pool_retry_budget_retries`
 * and `mcp_perf_pool_retry_budget_allowed` (gauges, over the budget's window),
 * `mcp_perf_pool_retries_denied_total` (counter; `reason` = `budget` | `unsafe` |
 * `attempts`) and `mcp_perf_pool_reconfigurations_total` (counter).
 *
 * @param pool - a pool made by `createUpstreamPool`
 * @param options - the registry and an optional name prefix
 * @throws InvalidOptionError when `pool` has no `stats()`, an option is invalid, or a name is taken.
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { poolPrometheusExporter } from 'mcp-perf/prometheus';
 *
 * poolPrometheusExporter(pool, { registry: register });
 * ```
 */
export function poolPrometheusExporter(
  pool: Pick<UpstreamPool, 'stats'>,
  options: PoolPrometheusExporterOptions,
): PrometheusExporter {
  const where = 'poolPrometheusExporter';
  if (typeof pool?.stats !== 'function') {
    throw new InvalidOptionError(where, '(pool)', 'a pool made by createUpstreamPool()', pool);
  }
  const prefix = checkRegistry(where, options);
  // The registry reads every metric in one pass: one stats() serves them all.
  let cached: PoolStats | undefined;
  const stats = (): PoolStats => {
    if (cached === undefined) {
      cached = pool.stats();
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached;
  };
  const perUpstream =
    (each: (u: UpstreamStats, out: Value[]) => void): (() => Value[]) =>
    () => {
      const out: Value[] = [];
      for (const u of stats().upstreams) each(u, out);
      return out;
    };
  /** 1 under the label of each upstream's current state, 0 under the others. */
  const oneHot = <S extends string>(states: readonly S[], of: (u: UpstreamStats) => S) =>
    perUpstream((u, out) => {
      for (const state of states)
        out.push({ labels: { upstream: u.name, state }, value: of(u) === state ? 1 : 0 });
    });
  const counter = (field: 'requests' | 'failures' | 'retries' | 'hedges') =>
    perUpstream((u, out) => void out.push({ labels: { upstream: u.name }, value: u[field] }));
  const name = (n: string) => `${prefix}mcp_perf_pool_${n}`;
  const defs: LazyMetric[] = [
    new LazyMetric(
      name('upstream_state'),
      'Upstream health: 1 for its current state (up: admitted, ejected: cooling off after failures or latency, down: failed its active checks), 0 for the others.',
      'gauge',
      oneHot(STATES, (u) => u.state),
    ),
    new LazyMetric(
      name('breaker_state'),
      'Upstream circuit breaker: 1 for its current state (closed, open, half-open), 0 for the others.',
      'gauge',
      oneHot(BREAKER_STATES, (u) => u.breaker),
    ),
    new LazyMetric(
      name('requests_in_flight'),
      'Requests sent to the upstream and not answered yet.',
      'gauge',
      perUpstream((u, out) => void out.push({ labels: { upstream: u.name }, value: u.inFlight })),
    ),
    new LazyMetric(
      name('draining_requests_in_flight'),
      'Requests still running on an upstream removed or replaced by a reload; its connections close when they end.',
      'gauge',
      () => stats().draining.map((d) => ({ labels: { upstream: d.name }, value: d.inFlight })),
    ),
    new LazyMetric(
      name('requests_total'),
      'Attempts sent to the upstream: first attempts, retries and hedged copies.',
      'counter',
      counter('requests'),
    ),
    new LazyMetric(
      name('failures_total'),
      'Attempts that failed on the upstream: transport error, closed connection or timeout.',
      'counter',
      counter('failures'),
    ),
    new LazyMetric(
      name('retries_total'),
      'Failed attempts on the upstream that were retried on another one.',
      'counter',
      counter('retries'),
    ),
    new LazyMetric(
      name('hedges_total'),
      'Hedged copies of slow safe requests sent to the upstream.',
      'counter',
      counter('hedges'),
    ),
    new LazyMetric(
      name('ejections_total'),
      'Times the upstream was ejected, by reason: failures in a row, or latency far above the pool median.',
      'counter',
      perUpstream((u, out) => {
        out.push({ labels: { upstream: u.name, reason: 'failures' }, value: u.ejections.failures });
        out.push({ labels: { upstream: u.name, reason: 'latency' }, value: u.ejections.latency });
      }),
    ),
    new LazyMetric(
      name('breaker_transitions_total'),
      "Transitions of the upstream's circuit breaker, by the state entered.",
      'counter',
      perUpstream((u, out) => {
        for (const to of BREAKER_STATES)
          out.push({ labels: { upstream: u.name, to }, value: u.breakerTransitions[to] });
      }),
    ),
    new LazyMetric(
      name('latency_p50_seconds'),
      'Median of the recent latencies of the upstream, in seconds (the figure outlier ejection judges).',
      'gauge',
      perUpstream((u, out) => {
        if (!Number.isNaN(u.p50Ms)) out.push({ labels: { upstream: u.name }, value: u.p50Ms / 1000 });
      }),
    ),
    new LazyMetric(
      name('retry_budget_requests'),
      "Requests first sent within the retry budget's window.",
      'gauge',
      () => [{ labels: {}, value: stats().budget.requests }],
    ),
    new LazyMetric(
      name('retry_budget_retries'),
      "Retries and hedges taken within the retry budget's window.",
      'gauge',
      () => [{ labels: {}, value: stats().budget.retries }],
    ),
    new LazyMetric(
      name('retry_budget_allowed'),
      'Retries and hedges the budget allows within its window (budget × requests + minPerSecond × window).',
      'gauge',
      () => [{ labels: {}, value: stats().budget.allowed }],
    ),
    new LazyMetric(
      name('retries_denied_total'),
      'Failed requests and hedges not retried, by reason: budget spent, unsafe to run twice, attempts used up.',
      'counter',
      () => {
        const denied = stats().retriesDenied;
        return DENIED.map((reason) => ({ labels: { reason }, value: denied[reason] }));
      },
    ),
    new LazyMetric(
      name('reconfigurations_total'),
      'Options applied to the running pool (config reloads).',
      'counter',
      () => [{ labels: {}, value: stats().reconfigurations }],
    ),
  ];
  return registerAll(options.registry, defs, where);
}
