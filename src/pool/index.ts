/**
 * The upstream pool: several MCP servers used as one, with load balancing, failover,
 * retries within a budget, timeouts, outlier ejection, circuit breaking and hedging.
 *
 * @module
 */

export type { BreakerState } from './breaker.js';
export {
  type BreakerEvent,
  type BreakerOptions,
  type EjectEvent,
  type HashKey,
  type HealthEvent,
  type HealthOptions,
  type HedgeEvent,
  type HedgeOptions,
  POOL_DEFAULTS,
  type PoolDefaults,
  type PoolEvent,
  type PoolStrategy,
  type ReadmitEvent,
  type RetryDeniedEvent,
  type RetryEvent,
  type RetryOptions,
  type TimeoutOptions,
  type UpstreamPoolOptions,
  type UpstreamSpec,
} from './options.js';
export {
  createUpstreamPool,
  type PoolChanges,
  PoolErrorCodes,
  type PoolStats,
  type PoolTransportOptions,
  type UpstreamPool,
  type UpstreamStats,
} from './pool.js';
