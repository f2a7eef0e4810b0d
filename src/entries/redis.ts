/**
 * `mcp-perf/redis`: the Redis stores shared by replicas — the cache store, the
 * tiered store (memory in front of it) and the rate-limit store. A separate entry point so the `redis` package (an optional peer
 * dependency) loads only when this module is imported.
 *
 * @example
 * ```ts
 * import { redisRateLimitStore, redisStore } from 'mcp-perf/redis';
 * const store = redisStore({ url: 'redis://127.0.0.1:6379', prefix: 'my-app:', bloom: true });
 * const buckets = redisRateLimitStore({ url: 'redis://127.0.0.1:6379', prefix: 'my-app:' });
 * ```
 *
 * @module
 */

export {
  type BloomStats,
  type CircuitState,
  isRedisCluster,
  REDIS_RATE_LIMIT_STORE_DEFAULTS,
  REDIS_STORE_DEFAULTS,
  type RedisArgument,
  type RedisBloomOptions,
  type RedisCircuitOptions,
  type RedisClientLike,
  type RedisClusterLike,
  type RedisCoalesceOptions,
  type RedisCoalesceStats,
  type RedisCommandOptions,
  type RedisConnectionOptions,
  type RedisEncodingOptions,
  RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
  type RedisRateLimitStoreStats,
  RedisSemaphore,
  type RedisSemaphoreOptions,
  type RedisSemaphoreStats,
  RedisStore,
  type RedisStoreOptions,
  type RedisStoreStats,
  redisRateLimitStore,
  redisSemaphore,
  redisStore,
  TieredStore,
  type TieredStoreOptions,
  type TieredStoreStats,
  tieredStore,
} from '../stores/redis/index.js';
