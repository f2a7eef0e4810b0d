/**
 * OpenTelemetry instrumentation, kept out of the main entry so that
 * `@opentelemetry/api` (an optional peer dependency) loads only for applications that
 * import `mcp-perf/otel`. No SDK is bundled: bring your own `MeterProvider` /
 * `TracerProvider`, or pass a `meter` and `tracer`.
 *
 * @example
 * ```ts
 * import { withMiddleware } from 'mcp-perf';
 * import { otel } from 'mcp-perf/otel';
 *
 * withMiddleware(server, [otel()]);
 * ```
 *
 * @module
 */

export { MCP_DURATION_BUCKETS, OTEL_DEFAULTS, type OtelOptions, otel } from '../middleware/metrics/otel.js';
export { type ObservePoolOptions, observePool, type PoolObservation } from '../pool/otel.js';
