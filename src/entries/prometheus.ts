/**
 * Prometheus export of the metrics middleware, kept out of the main entry so that
 * `prom-client` (an optional peer dependency) loads only for applications that import
 * `mcp-perf/prometheus`.
 *
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { metrics, withMetrics } from 'mcp-perf';
 * import { prometheusExporter } from 'mcp-perf/prometheus';
 *
 * const m = metrics();
 * withMetrics(server, m);
 * prometheusExporter(m, { registry: register });
 * ```
 *
 * @module
 */

export {
  DEFAULT_DURATION_BUCKETS,
  type PrometheusExporter,
  type PrometheusExporterOptions,
  prometheusExporter,
} from '../middleware/metrics/prometheus.js';
export {
  type PoolPrometheusExporterOptions,
  poolPrometheusExporter,
} from '../pool/prometheus.js';
