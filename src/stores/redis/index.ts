/**
 * The Redis stores, reached through `mcp-perf/redis`: `options.ts` (options, defaults,
 * validation), `guarded.ts` (the timeout and circuit breaker every store sends through),
 * `scripts.ts` (Lua), `values.ts` (entries as JSON or msgpackr), `bloom-sync.ts` (the bloom filter kept in step across replicas),
 * `store.ts` (the cache store), `rate-limit.ts` (the rate-limit store), `tiered.ts` (memory in front of Redis).
 *
 * @module
 */

export type { BloomStats } from './bloom-sync.js';
export { isRedisCluster, type RedisClusterLike } from './cluster.js';
export type { RedisCoalesceOptions, RedisCoalesceStats } from './coalesce.js';
export type { CircuitState } from './guarded.js';
export {
  REDIS_STORE_DEFAULTS,
  type RedisArgument,
  type RedisBloomOptions,
  type RedisCircuitOptions,
  type RedisClientLike,
  type RedisCommandOptions,
  type RedisConnectionOptions,
  type RedisEncodingOptions,
  type RedisStoreOptions,
} from './options.js';
export {
  REDIS_RATE_LIMIT_STORE_DEFAULTS,
  RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
  type RedisRateLimitStoreStats,
  redisRateLimitStore,
} from './rate-limit.js';
export {
  RedisSemaphore,
  type RedisSemaphoreOptions,
  type RedisSemaphoreStats,
  redisSemaphore,
} from './semaphore.js';
export { RedisStore, type RedisStoreStats, redisStore } from './store.js';
export { TieredStore, type TieredStoreOptions, type TieredStoreStats, tieredStore } from './tiered.js';
