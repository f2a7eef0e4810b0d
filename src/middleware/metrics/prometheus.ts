/**
 * Prometheus export of a metrics middleware through `prom-client`. Reached only from the
 * `mcp-perf/prometheus` entry.
 *
 * @module
 */

import type { Metric, Registry } from 'prom-client';
import type { Side } from '../../core/types.js';
import { InvalidOptionError } from '../../errors/index.js';
import { cumulativeCounts, summarize } from './histogram.js';
import { type MetricsMiddleware, numericStats } from './index.js';
import { internalsOf } from './internals.js';
import { CACHE_STATUSES, type OperationStats, OUTCOMES } from './stats.js';

/**
 * The OpenTelemetry MCP conventions' advised bucket boundaries for
 * `mcp.{server,client}.operation.duration`, in seconds.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300,
]);

/** Quantiles exported from the HDR histograms. */
const QUANTILES: readonly (readonly [string, 'p50Ms' | 'p90Ms' | 'p95Ms' | 'p99Ms' | 'p999Ms'])[] = [
  ['0.5', 'p50Ms'],
  ['0.9', 'p90Ms'],
  ['0.95', 'p95Ms'],
  ['0.99', 'p99Ms'],
  ['0.999', 'p999Ms'],
];

/** Options of {@link prometheusExporter}. */
export interface PrometheusExporterOptions {
  /** The `prom-client` registry to register in, e.g. its global `register`. Required. */
  registry: Registry;
  /** Prepended to every metric name, e.g. `myapp_`. Default `''`. */
  prefix?: string;
  /**
   * Upper bounds (seconds, ascending) of the duration histogram's buckets. Default
   * {@link DEFAULT_DURATION_BUCKETS}, the OpenTelemetry MCP conventions' advice.
   */
  buckets?: readonly number[];
}

/** What {@link prometheusExporter} returns. */
export interface PrometheusExporter {
  /** The names of the metrics it registered. */
  readonly names: readonly string[];
  /** Removes its metrics from the registry. */
  unregister(): void;
}

/** Labels of one sample. */
export type Labels = Record<string, string | number>;
/** One sample of a {@link LazyMetric}. */
export interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** A metric whose values are computed when the registry is scraped, never before. */
export class LazyMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => Value[],
  ) {}

  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.read(),
    };
  }

  reset(): void {}
}

/** Proxies measure as the receiving side, like servers. */
function sideName(side: Side): 'server' | 'client' {
  return side === 'client' ? 'client' : 'server';
}

function baseLabels(op: OperationStats): Labels {
  return op.tool === undefined
    ? { mcp_method_name: op.method }
    : { mcp_method_name: op.method, gen_ai_tool_name: op.tool };
}

/**
 * Exposes a {@link MetricsMiddleware}'s figures in an existing `prom-client` registry, so
 * they appear on the application's own `/metrics`. Every value is computed when the
 * registry is scraped; the request path never touches `prom-client`.
 *
 * Names mirror the OpenTelemetry MCP conventions (`mcp.server.operation.duration` →
 * `mcp_server_operation_duration_seconds`; labels `mcp_method_name`, `gen_ai_tool_name`,
 * `error_type`). For each side (`server`, which includes proxies, and `client`):
 *
 * - `mcp_{side}_operation_duration_seconds` (histogram; `error_type` = the outcome for
 *   failed requests, absent for `ok`), derived from the HDR histograms;
 * - `mcp_{side}_operation_duration_quantile_seconds` (gauge; `quantile`, `window` =
 *   `cumulative` | `recent`);
 * - `mcp_{side}_requests_total` (counter; `outcome`), `mcp_{side}_errors_total`
 *   (counter; `error_type` = JSON-RPC code, `tool_error`, `timeout`, `cancelled`);
 * - `mcp_{side}_requests_in_flight` (gauge);
 * - `mcp_{side}_cache_requests_total` (counter; `cache_status`);
 * - `mcp_{side}_tokens_total` (counter; `direction` = `input` | `output`) and
 *   `mcp_{side}_token_counted_requests_total`, when token counting is on;
 * - `mcp_{side}_bytes_total` (counter; `direction`), when `bytes` is on;
 *
 * and `mcp_recent_requests_per_second` (gauge), and for the middleware's sources
 * (labelled `source`, plus `scope` for nested figures such as a limiter's
 * `scopes.tool.queued`): `mcp_source_queue_depth`, `mcp_source_running` (gauges),
 * `mcp_source_shed_total` (counter) and `mcp_source_stat` (gauge; `stat` = the dotted
 * field name).
 *
 * @param metrics - a middleware made by `metrics()`
 * @param options - the registry, an optional name prefix and buckets
 * @throws InvalidOptionError when `metrics` is not a metrics middleware or an option is invalid.
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { prometheusExporter } from 'mcp-perf/prometheus';
 *
 * const m = metrics();
 * withMetrics(server, m);
 * prometheusExporter(m, { registry: register });
 * // GET /metrics → res.end(await register.metrics())
 * ```
 */
export function prometheusExporter(
  metrics: MetricsMiddleware,
  options: PrometheusExporterOptions,
): PrometheusExporter {
  const where = 'prometheusExporter';
  const state = internalsOf(metrics);
  if (state === undefined)
    throw new InvalidOptionError(where, '(metrics)', 'a middleware made by metrics()', metrics);
  const prefix = checkRegistry(where, options);
  const registry = options.registry;
  const buckets = options.buckets ?? DEFAULT_DURATION_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some(
      (b, i) => typeof b !== 'number' || !(b > 0) || !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!),
    )
  ) {
    throw new InvalidOptionError(
      where,
      'buckets',
      'a non-empty ascending array of positive numbers',
      buckets,
    );
  }
  const boundsUs = buckets.map((b) => b * 1e6);
  const counts: number[] = new Array(buckets.length).fill(0);
  const { registry: stats, clock, sources } = state;

  const perSide = (side: 'server' | 'client', each: (op: OperationStats, out: Value[]) => void) => () => {
    const out: Value[] = [];
    for (const op of stats.operations()) if (sideName(op.side) === side) each(op, out);
    return out;
  };

  const defs: LazyMetric[] = [];
  for (const side of ['server', 'client'] as const) {
    const name = `${prefix}mcp_${side}_operation_duration_seconds`;
    defs.push(
      new LazyMetric(
        name,
        `Duration of MCP requests as observed on the ${side === 'server' ? 'receiver' : 'sender'}, in seconds.`,
        'histogram',
        perSide(side, (op, out) => {
          const base = baseLabels(op);
          op.latency.forEach((h, i) => {
            if (h === undefined || h.totalCount === 0) return;
            const labels = i === 0 ? base : { ...base, error_type: OUTCOMES[i]! };
            cumulativeCounts(h, boundsUs, counts);
            buckets.forEach((b, j) => {
              out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: b }, value: counts[j]! });
            });
            out.push({
              metricName: `${name}_bucket`,
              labels: { ...labels, le: '+Inf' },
              value: h.totalCount,
            });
            out.push({ metricName: `${name}_sum`, labels, value: (h.mean * h.totalCount) / 1e6 });
            out.push({ metricName: `${name}_count`, labels, value: h.totalCount });
          });
        }),
      ),
      new LazyMetric(
        `${prefix}mcp_${side}_operation_duration_quantile_seconds`,
        `Quantiles of MCP request duration (${side}) from HDR histograms, since start and over the recent window, in seconds.`,
        'gauge',
        perSide(side, (op, out) => {
          const base = baseLabels(op);
          const now = clock();
          const windows = [
            ['cumulative', summarize(stats.cumulativeHistogram(op))],
            ['recent', summarize(stats.recentHistogram(op, now))],
          ] as const;
          for (const [window, summary] of windows) {
            if (summary.count === 0) continue;
            for (const [quantile, key] of QUANTILES) {
              out.push({ labels: { ...base, window, quantile }, value: summary[key] / 1000 });
            }
          }
        }),
      ),
      new LazyMetric(
        `${prefix}mcp_${side}_requests_total`,
        `MCP requests completed (${side}), by outcome: ok, tool_error, protocol_error, shed, cancelled, timeout.`,
        'counter',
        perSide(side, (op, out) => {
          const base = baseLabels(op);
          op.outcomes.forEach((n, i) => {
            if (n > 0) out.push({ labels: { ...base, outcome: OUTCOMES[i]! }, value: n });
          });
        }),
      ),
      new LazyMetric(
        `${prefix}mcp_${side}_errors_total`,
        `Failed MCP requests (${side}), by error.type: JSON-RPC code, tool_error, timeout or cancelled.`,
        'counter',
        perSide(side, (op, out) => {
          if (op.errorTypes === undefined) return;
          const base = baseLabels(op);
          for (const [type, n] of op.errorTypes)
            out.push({ labels: { ...base, error_type: type }, value: n });
        }),
      ),
      new LazyMetric(
        `${prefix}mcp_${side}_requests_in_flight`,
        `MCP requests in flight (${side}).`,
        'gauge',
        () => {
          let n = 0;
          for (const [s, count] of stats.inFlight()) if (sideName(s) === side) n += count;
          return [{ labels: {}, value: n }];
        },
      ),
      new LazyMetric(
        `${prefix}mcp_${side}_cache_requests_total`,
        `MCP requests (${side}) by the cache's verdict: hit, miss, stale, coalesced, bypass.`,
        'counter',
        perSide(side, (op, out) => {
          const base = baseLabels(op);
          op.cache.forEach((n, i) => {
            if (n > 0) out.push({ labels: { ...base, cache_status: CACHE_STATUSES[i]! }, value: n });
          });
        }),
      ),
    );
    if (state.counter !== undefined) {
      defs.push(
        new LazyMetric(
          `${prefix}mcp_${side}_tokens_total`,
          `Tokens (${state.counter.name}) the model wrote (input: tool name and arguments) and reads (output: visible result text, tool definitions), over the counted requests.`,
          'counter',
          perSide(side, (op, out) => {
            if (op.tokenSamples === 0) return;
            const base = baseLabels(op);
            out.push({ labels: { ...base, direction: 'input' }, value: op.tokensIn });
            out.push({ labels: { ...base, direction: 'output' }, value: op.tokensOut });
          }),
        ),
        new LazyMetric(
          `${prefix}mcp_${side}_token_counted_requests_total`,
          `MCP requests (${side}) whose tokens were counted (see tokenSampleRate).`,
          'counter',
          perSide(side, (op, out) => {
            if (op.tokenSamples > 0) out.push({ labels: baseLabels(op), value: op.tokenSamples });
          }),
        ),
      );
    }
    if (state.bytes) {
      defs.push(
        new LazyMetric(
          `${prefix}mcp_${side}_bytes_total`,
          `UTF-8 bytes of MCP request params (input) and replies (output) as JSON (${side}).`,
          'counter',
          perSide(side, (op, out) => {
            if (op.byteSamples === 0) return;
            const base = baseLabels(op);
            out.push({ labels: { ...base, direction: 'input' }, value: op.bytesIn });
            out.push({ labels: { ...base, direction: 'output' }, value: op.bytesOut });
          }),
        ),
      );
    }
  }
  defs.push(
    new LazyMetric(
      `${prefix}mcp_recent_requests_per_second`,
      'MCP requests completed per second over the recent window, all operations.',
      'gauge',
      () => {
        const now = clock();
        const covered = stats.windowCoverageMs(now);
        return [{ labels: {}, value: covered > 0 ? (stats.recentCount(now) * 1000) / covered : 0 }];
      },
    ),
  );
  if (sources.length > 0) {
    const field = (name: string) => () => {
      const out: Value[] = [];
      for (const source of sources) {
        for (const [path, value] of Object.entries(numericStats(source))) {
          const last = path.lastIndexOf('.');
          if ((last === -1 ? path : path.slice(last + 1)) !== name) continue;
          const scope = last === -1 ? '' : path.slice(0, last).replace(/^scopes\./, '');
          out.push({
            labels: scope === '' ? { source: source.name } : { source: source.name, scope },
            value,
          });
        }
      }
      return out;
    };
    defs.push(
      new LazyMetric(
        `${prefix}mcp_source_queue_depth`,
        'Requests waiting in a queue.',
        'gauge',
        field('queued'),
      ),
      new LazyMetric(`${prefix}mcp_source_running`, 'Requests holding a slot.', 'gauge', field('running')),
      new LazyMetric(
        `${prefix}mcp_source_shed_total`,
        'Requests refused since start.',
        'counter',
        field('shed'),
      ),
      new LazyMetric(`${prefix}mcp_source_stat`, 'Every numeric figure of each source.', 'gauge', () => {
        const out: Value[] = [];
        for (const source of sources) {
          for (const [stat, value] of Object.entries(numericStats(source))) {
            out.push({ labels: { source: source.name, stat }, value });
          }
        }
        return out;
      }),
    );
  }
  return registerAll(registry, defs, where);
}

/** Registers `defs` in `registry`, none of them if one of their names is taken. */
export function registerAll(
  registry: Registry,
  defs: readonly LazyMetric[],
  where: string,
): PrometheusExporter {
  for (const def of defs) {
    if (registry.getSingleMetric(def.name) !== undefined) {
      throw new InvalidOptionError(
        where,
        'registry',
        `a registry without a metric named ${def.name}`,
        registry,
      );
    }
  }
  for (const def of defs) registry.registerMetric(def as unknown as Metric);
  const names = defs.map((d) => d.name);
  return {
    names,
    unregister() {
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

/** Checks the `registry` and `prefix` options of an exporter; returns the prefix. */
export function checkRegistry(
  where: string,
  options: { registry?: unknown; prefix?: unknown } | undefined,
): string {
  const registry = options?.registry as Registry | undefined;
  if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function') {
    throw new InvalidOptionError(where, 'registry', 'a prom-client Registry', registry);
  }
  const prefix = options!.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix))) {
    throw new InvalidOptionError(where, 'prefix', 'a valid Prometheus metric name prefix', prefix);
  }
  return prefix;
}
