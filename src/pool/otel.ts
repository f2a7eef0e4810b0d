/**
 * OpenTelemetry export of an upstream pool's state: observable instruments read from
 * `stats()` when the SDK collects. Reached only from the `mcp-perf/otel` entry.
 *
 * @module
 */

import {
  type Attributes,
  type BatchObservableResult,
  type Meter,
  metrics,
  type Observable,
  type ObservableCounter,
  type ObservableGauge,
} from '@opentelemetry/api';
import { InvalidOptionError } from '../errors/index.js';
import type { BreakerState } from './breaker.js';
import type { PoolStats, UpstreamPool, UpstreamStats } from './pool.js';

/** Options of {@link observePool}. */
export interface ObservePoolOptions {
  /** The meter to create the instruments on. Default: `metrics.getMeter('mcp-perf')` from the global provider. */
  meter?: Meter;
}

/** What {@link observePool} returns. */
export interface PoolObservation {
  /** Stops reporting: the instruments' callback is removed. */
  close(): void;
}

const STATES: readonly UpstreamStats['state'][] = ['up', 'ejected', 'down'];
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const DENIED: readonly (keyof PoolStats['retriesDenied'])[] = ['budget', 'unsafe', 'attempts'];

/**
 * Reports an upstream pool's state through OpenTelemetry observable instruments, the
 * counterparts of the `mcp_perf_pool_*` Prometheus series (see `poolPrometheusExporter`
 * in `mcp-perf/prometheus`), read from one `stats()` per collection. Per upstream
 * (attribute `upstream`):
 *
 * - gauges `mcp_perf.pool.upstream.state` and `mcp_perf.pool.breaker.state` (attribute
 *   `state`; 1 for the current state, 0 for the others), `mcp_perf.pool.requests.in_flight`,
 *   `mcp_perf.pool.requests.draining` (upstreams removed by a reload, still finishing),
 *   `mcp_perf.pool.latency.p50` (seconds);
 * - counters `mcp_perf.pool.requests`, `mcp_perf.pool.failures`, `mcp_perf.pool.retries`,
 *   `mcp_perf.pool.hedges`, `mcp_perf.pool.ejections` (attribute `reason`) and
 *   `mcp_perf.pool.breaker.transitions` (attribute `to`);
 *
 * and for the pool: gauges `mcp_perf.pool.retry_budget.requests`, `.retries` and
 * `.allowed`, counters `mcp_perf.pool.retries.denied` (attribute `reason`) and
 * `mcp_perf.pool.reconfigurations`.
 *
 * @param pool - a pool made by `createUpstreamPool`
 * @param options - the meter
 * @throws InvalidOptionError when `pool` has no `stats()` or the meter is not one.
 * @example
 * ```ts
 * import { observePool } from 'mcp-perf/otel';
 *
 * const observation = observePool(pool, { meter: meterProvider.getMeter('app') });
 * ```
 */
export function observePool(
  pool: Pick<UpstreamPool, 'stats'>,
  options: ObservePoolOptions = {},
): PoolObservation {
  const where = 'observePool';
  if (typeof pool?.stats !== 'function') {
    throw new InvalidOptionError(where, '(pool)', 'a pool made by createUpstreamPool()', pool);
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(where, '(options)', 'an object', options);
  }
  if (options.meter !== undefined && typeof options.meter?.addBatchObservableCallback !== 'function') {
    throw new InvalidOptionError(where, 'meter', 'an OpenTelemetry Meter', options.meter);
  }
  const meter = options.meter ?? metrics.getMeter('mcp-perf');
  const all: Observable[] = [];
  const gauge = (name: string, description: string, unit = '1'): ObservableGauge => {
    const instrument = meter.createObservableGauge(`mcp_perf.pool.${name}`, { description, unit });
    all.push(instrument);
    return instrument;
  };
  const counter = (name: string, description: string, unit = '{request}'): ObservableCounter => {
    const instrument = meter.createObservableCounter(`mcp_perf.pool.${name}`, { description, unit });
    all.push(instrument);
    return instrument;
  };

  const state = gauge('upstream.state', 'Upstream health: 1 for its current state (up, ejected, down).');
  const breaker = gauge('breaker.state', 'Upstream circuit breaker: 1 for its current state.');
  const inFlight = gauge(
    'requests.in_flight',
    'Requests sent to the upstream, not answered yet.',
    '{request}',
  );
  const draining = gauge(
    'requests.draining',
    'Requests still running on an upstream removed or replaced by a reload.',
    '{request}',
  );
  const p50 = gauge('latency.p50', 'Median of the upstream’s recent latencies.', 's');
  const requests = counter('requests', 'Attempts sent to the upstream.');
  const failures = counter('failures', 'Attempts that failed on the upstream.');
  const retries = counter('retries', 'Failed attempts on the upstream retried on another.');
  const hedges = counter('hedges', 'Hedged copies sent to the upstream.');
  const ejections = counter('ejections', 'Times the upstream was ejected, by reason.', '{ejection}');
  const transitions = counter(
    'breaker.transitions',
    "Transitions of the upstream's breaker, by the state entered.",
    '{transition}',
  );
  const budgetRequests = gauge(
    'retry_budget.requests',
    "Requests in the retry budget's window.",
    '{request}',
  );
  const budgetRetries = gauge('retry_budget.retries', 'Retries and hedges taken in the window.', '{request}');
  const budgetAllowed = gauge('retry_budget.allowed', 'Retries and hedges the budget allows.', '{request}');
  const denied = counter('retries.denied', 'Failed requests and hedges not retried, by reason.');
  const reconfigurations = counter(
    'reconfigurations',
    'Options applied to the running pool.',
    '{reconfiguration}',
  );
  const callback = (result: BatchObservableResult) => {
    const stats = pool.stats();
    for (const u of stats.upstreams) {
      const upstream: Attributes = { upstream: u.name };
      for (const s of STATES) result.observe(state, u.state === s ? 1 : 0, { upstream: u.name, state: s });
      for (const s of BREAKER_STATES) {
        result.observe(breaker, u.breaker === s ? 1 : 0, { upstream: u.name, state: s });
        result.observe(transitions, u.breakerTransitions[s], { upstream: u.name, to: s });
      }
      result.observe(inFlight, u.inFlight, upstream);
      if (!Number.isNaN(u.p50Ms)) result.observe(p50, u.p50Ms / 1000, upstream);
      result.observe(requests, u.requests, upstream);
      result.observe(failures, u.failures, upstream);
      result.observe(retries, u.retries, upstream);
      result.observe(hedges, u.hedges, upstream);
      result.observe(ejections, u.ejections.failures, { upstream: u.name, reason: 'failures' });
      result.observe(ejections, u.ejections.latency, { upstream: u.name, reason: 'latency' });
    }
    for (const d of stats.draining) result.observe(draining, d.inFlight, { upstream: d.name });
    result.observe(budgetRequests, stats.budget.requests);
    result.observe(budgetRetries, stats.budget.retries);
    result.observe(budgetAllowed, stats.budget.allowed);
    for (const reason of DENIED) result.observe(denied, stats.retriesDenied[reason], { reason });
    result.observe(reconfigurations, stats.reconfigurations);
  };
  meter.addBatchObservableCallback(callback, all);
  return {
    close() {
      meter.removeBatchObservableCallback(callback, all);
    },
  };
}
