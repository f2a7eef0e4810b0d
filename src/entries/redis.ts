/**
 * `mcp-perf/redis`: the Redis cache store. A separate entry point so the `redis` package
 * (an optional peer dependency) loads only when this module is imported.
 *
 * @example
 * ```ts
 * import { redisStore } from 'mcp-perf/redis';
 * const store = redisStore({ url: 'redis://127.0.0.1:6379', prefix: 'my-app:', bloom: true });
 * ```
 *
 * @module
 */

export {
  type BloomStats,
  type CircuitState,
  REDIS_STORE_DEFAULTS,
  type RedisBloomOptions,
  type RedisCircuitOptions,
  type RedisClientLike,
  type RedisConnectionOptions,
  RedisStore,
  type RedisStoreOptions,
  type RedisStoreStats,
  redisStore,
} from '../stores/redis/index.js';
