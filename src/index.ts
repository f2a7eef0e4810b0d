/**
 * mcp-perf: composable performance middleware for Model Context Protocol servers,
 * clients and proxies built on the official TypeScript SDK.
 *
 * This entry holds what an application or a middleware author needs: installing a stack
 * (`withMiddleware`, `wrapTransport`, `createProxy`), the `withX` contract
 * (`defineWith`, `brandMiddleware`), every middleware and its defaults, the memory stores,
 * the approximate token counter, the errors, and the types of the request context.
 * The pipeline itself (`Pipeline`, `compose`, `passesThrough` …) is in `mcp-perf/core`;
 * optional integrations are in `mcp-perf/redis`, `mcp-perf/tokens`,
 * `mcp-perf/prometheus` and `mcp-perf/otel`.
 *
 * @packageDocumentation
 */

// Installing a stack: on an SDK server or client, a bare transport, or a proxy.

export { createProxy, type McpProxy, type ProxyOptions } from './adapters/proxy.js';
export {
  type Connectable,
  type ConnectTarget,
  type McpServerLike,
  withMiddleware,
} from './adapters/targets.js';
export {
  isMiddlewareTransport,
  type McpTransport,
  MiddlewareTransport,
  type WrapTransportOptions,
  wrapTransport,
} from './adapters/transport.js';
// The withX contract, for middleware authors who give their middleware a helper.
export {
  brandMiddleware,
  defineWith,
  isMiddlewareOfKind,
  middlewareKind,
  type WithHelper,
} from './adapters/with.js';
// The request context, replies and messages a middleware sees, and protocol constants.
export type { SendOptions } from './core/context.js';
export {
  CACHE_HINT_METHODS,
  CONTROL_METHODS,
  eraOf,
  LIST_METHODS,
  META_CLIENT_CAPABILITIES,
  META_CLIENT_INFO,
  META_PROTOCOL_VERSION,
  MODERN_PROTOCOL_VERSION,
} from './core/messages.js';
export type * from './core/types.js';
// Errors: one base class with a stable code, guards that work across installed copies.
export * from './errors/index.js';
export {
  BATCH_CAPABILITY,
  BATCH_METHOD,
  BATCHING_DEFAULTS,
  type BatchCapability,
  type BatchEvent,
  type BatchHandlerOptions,
  type BatchItem,
  type BatchingMiddleware,
  type BatchingOptions,
  type BatchingStats,
  batching,
  coalesceWrites,
  type RequestBatchingOptions,
  type ResourceBatchHandler,
  type ToolBatchHandler,
  withBatching,
} from './middleware/batching/index.js';
// The middlewares: a factory, its options and defaults, its withX helper.
export {
  CACHE_DEFAULTS,
  CACHE_META_KEY,
  type CacheEvent,
  type CacheEvictEvent,
  type CacheInvalidateEvent,
  type CacheMiddleware,
  type CacheOptions,
  type CacheOutcome,
  type CachePolicy,
  type CacheStats,
  cache,
  isCacheMiddleware,
  withCache,
} from './middleware/cache/index.js';
export {
  type AdaptiveLimitOptions,
  type CancelEvent,
  CONCURRENCY_DEFAULTS,
  type ConcurrencyLimiter,
  type ConcurrencyLimitOptions,
  type ConcurrencyListeners,
  type ConcurrencyScope,
  type ConcurrencyScopeStats,
  type ConcurrencyStats,
  concurrencyLimit,
  type DequeueEvent,
  type GraceExpiredEvent,
  type LimitChangeEvent,
  methodKey,
  type Priority,
  principalKey,
  type QueueEvent,
  type SemaphoreGrant,
  SHARED_CONCURRENCY_DEFAULTS,
  type SharedConcurrencyOptions,
  type SharedConcurrencyStats,
  type SharedSemaphore,
  type ShedAs,
  type ShedEvent,
  type ShedReason,
  toolKey,
  withConcurrencyLimit,
} from './middleware/concurrency/index.js';
export {
  type ByteFigures,
  type CacheStatus,
  type LatencySummary,
  METRICS_DEFAULTS,
  type MetricsMiddleware,
  type MetricsOptions,
  type MetricsSnapshot,
  type MetricsSource,
  metrics,
  numericStats,
  type OperationSnapshot,
  type Outcome,
  type SlowRequestEvent,
  type TokenFigures,
  withMetrics,
} from './middleware/metrics/index.js';
export {
  CONDITIONAL_CAPABILITY,
  NOT_MODIFIED_DEFAULTS,
  type NotModifiedEvent,
  type NotModifiedMiddleware,
  type NotModifiedOptions,
  type NotModifiedStats,
  notModified,
  withNotModified,
} from './middleware/not-modified/index.js';
export {
  MEMORY_RATE_LIMIT_STORE_DEFAULTS,
  MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  RATE_LIMIT_DEFAULTS,
  type RateLimitedEvent,
  type RateLimiter,
  type RateLimitOptions,
  type RateLimitStats,
  type RateLimitStore,
  rateLimit,
  type TakeResult,
  type TokenBucket,
  withRateLimit,
} from './middleware/rate-limit/index.js';
// Cache stores: the interface and the memory store (Redis: mcp-perf/redis).
export {
  CALLER_LIMIT_META,
  type CumulativeBudget,
  PAGE_URI_PREFIX,
  TOKEN_BUDGET_DEFAULTS,
  TOKEN_BUDGET_META,
  type TokenBudget,
  type TokenBudgetCutEvent,
  type TokenBudgetOptions,
  type TokenBudgetPageEvent,
  type TokenBudgetRefusedEvent,
  type TokenBudgetStats,
  type ToolTokenStats,
  tokenBudget,
  withTokenBudget,
} from './middleware/token-budget/index.js';
export {
  BM25_DEFAULTS,
  type Bm25Options,
  bm25Ranker,
  HINT_DEFAULTS,
  SEARCH_TOOL_DESCRIPTION,
  TOOL_FILTER_DEFAULTS,
  TOOL_QUERY_META_KEY,
  TOOL_SYNONYMS,
  type ToolDefinition,
  type ToolFilterCallerStats,
  type ToolFilterMiddleware,
  type ToolFilterOptions,
  type ToolFilterStats,
  type ToolHint,
  type ToolIndex,
  type ToolListEvent,
  type ToolPattern,
  type ToolRanker,
  type ToolRejectEvent,
  type ToolRules,
  type ToolSearchEvent,
  tokenizeToolText,
  toolFilter,
  withToolFilter,
} from './middleware/tool-filter/index.js';
export {
  MEMORY_STORE_DEFAULTS,
  MemoryStore,
  type MemoryStoreOptions,
  type MemoryStoreStats,
  memoryStore,
} from './stores/memory.js';
export type {
  CacheEntry,
  CacheStore,
  CacheStoreStats,
  EvictionReason,
  MaybePromise,
} from './stores/types.js';
// Token counting (the exact counter: mcp-perf/tokens).
export {
  type ApproximateTokenCounter,
  approximateTokenCounter,
  estimateTokens,
} from './tokens/approximate.js';
export {
  BOUNDED_COUNT_DEFAULTS,
  countTokensBounded,
  countTokensSliced,
} from './tokens/bounded.js';
export type { TokenCounter } from './tokens/types.js';
export {
  countRequestTokens,
  countResultTokens,
  countToolTokens,
  visibleRequestText,
  visibleResultText,
} from './tokens/visible.js';
