/**
 * The middlewares a config can name. Each entry is one schema fragment (the options as
 * they appear in a config file) and one factory call; adding a middleware to the config
 * is adding an entry here.
 */

import type { Middleware, RequestContext } from '../core/types.js';
import { BATCHING_DEFAULTS, type BatchingOptions, batching } from '../middleware/batching/index.js';
import { CACHE_DEFAULTS, type CacheOptions, type CachePolicy, cache } from '../middleware/cache/index.js';
import {
  CONCURRENCY_DEFAULTS,
  type ConcurrencyLimitOptions,
  type ConcurrencyScope,
  concurrencyLimit,
  methodKey,
  principalKey,
  SHARED_CONCURRENCY_DEFAULTS,
  type SharedConcurrencyOptions,
  toolKey,
} from '../middleware/concurrency/index.js';
import { METRICS_DEFAULTS, type MetricsOptions, metrics } from '../middleware/metrics/index.js';
import { NOT_MODIFIED_DEFAULTS, notModified } from '../middleware/not-modified/index.js';
import { RATE_LIMIT_DEFAULTS, type RateLimitOptions, rateLimit } from '../middleware/rate-limit/index.js';
import {
  TOKEN_BUDGET_DEFAULTS,
  type TokenBudgetOptions,
  tokenBudget,
} from '../middleware/token-budget/index.js';
import {
  SEARCH_TOOL_DESCRIPTION,
  TOOL_FILTER_DEFAULTS,
  type ToolFilterOptions,
  toolFilter,
} from '../middleware/tool-filter/index.js';
import { MEMORY_STORE_DEFAULTS, memoryStore } from '../stores/memory.js';
import type { CacheStore } from '../stores/types.js';
import { approximateTokenCounter } from '../tokens/approximate.js';
import { exactTokenCounter } from '../tokens/exact.js';
import { openUnder } from './errors.js';
import {
  memoryTier,
  REDIS_ENCODING,
  REMOTE_COALESCE,
  type RedisConnectionConfig,
  redisBlock,
} from './redis-schema.js';
import {
  duration,
  flag,
  integer,
  type JsonSchema,
  object,
  oneOfStrings,
  REQUEST_KEY,
  size,
} from './schema-parts.js';

/** What a middleware's factory receives besides its options. */
export interface StackContext {
  /** Registers something to close when the stack is closed (a store's connection). */
  onClose(close: () => unknown): void;
  /** Reports a problem that does not stop the stack from working (a store not reachable yet). */
  warn(message: string): void;
  /** Longest wait for a Redis URL to connect while the stack is built, ms. Default {@link REDIS_CONNECT_WAIT_MS}. */
  readonly redisConnectWaitMs?: number;
}

/** How long building a stack waits for a Redis URL to connect before going on without it (it keeps trying). */
export const REDIS_CONNECT_WAIT_MS = 5000;

/** One middleware a config can name: its schema fragment and how to build it. */
export interface MiddlewareDefinition {
  /** JSON Schema of its options, as written in a config file (durations and sizes as strings allowed). */
  readonly schema: JsonSchema;
  /**
   * Builds the middleware from options that passed the schema, with durations already
   * in milliseconds and sizes in bytes.
   */
  create(options: Record<string, unknown>, context: StackContext): Middleware | Promise<Middleware>;
}

/** How a config names the request keys of the concurrency and rate limits. */
const REQUEST_KEYS: Readonly<Record<string, (ctx: RequestContext) => string | undefined>> = Object.freeze({
  tool: toolKey,
  method: methodKey,
  principal: principalKey,
});

const SHED_AS = oneOfStrings(
  'How refused requests are answered: a JSON-RPC "error", or a "tool-result" with isError for tool calls.',
  ['error', 'tool-result'],
  'error',
);

const ADAPTIVE = {
  description: 'Let the limit adjust itself from observed latency; true takes every default.',
  anyOf: [
    { type: 'boolean' },
    object('Adaptive limit settings.', {
      min: integer('The floor of the limit.', 1, { default: CONCURRENCY_DEFAULTS.adaptive.min }),
      max: integer('The ceiling of the limit.', 1, { default: CONCURRENCY_DEFAULTS.adaptive.max }),
      tolerance: {
        description:
          'How much slower than the long-term average recent latency may be before the limit shrinks.',
        type: 'number',
        minimum: 1,
        default: CONCURRENCY_DEFAULTS.adaptive.tolerance,
      },
      windowMs: duration('A window closes after at least this long.', CONCURRENCY_DEFAULTS.adaptive.windowMs),
    }),
  ],
};

const METRICS: MiddlewareDefinition = {
  schema: object('Latency histograms, outcomes, cache statuses and token counts per method and tool.', {
    maxTools: integer('Distinct tool names tracked; further names fold into "other".', 1, {
      default: METRICS_DEFAULTS.maxTools,
    }),
    maxMethods: integer('Distinct methods tracked; further ones fold into "other".', 1, {
      default: METRICS_DEFAULTS.maxMethods,
    }),
    significantDigits: integer('Significant decimal digits of the cumulative histograms.', 1, {
      maximum: 5,
      default: METRICS_DEFAULTS.significantDigits,
    }),
    maxLatencyMs: duration('The largest latency the histograms resolve.', METRICS_DEFAULTS.maxLatencyMs),
    windowMs: duration('Length of the recent window.', METRICS_DEFAULTS.windowMs),
    windowSlots: integer('Sub-histograms the recent window rotates through.', 2, {
      maximum: 60,
      default: METRICS_DEFAULTS.windowSlots,
    }),
    tokens: {
      description:
        'Token counting of what the model reads and writes: false, "approximate" (fast estimate) or "exact" (needs the tiktoken package).',
      enum: [false, 'approximate', 'exact'],
      default: METRICS_DEFAULTS.tokens,
    },
    tokenSampleRate: {
      description: 'Fraction of requests whose tokens are counted, 0–1.',
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: METRICS_DEFAULTS.tokenSampleRate,
    },
    bytes: flag('Measure request and reply sizes.', METRICS_DEFAULTS.bytes),
    slowThresholdMs: duration(
      'Requests at least this slow are reported as slow.',
      METRICS_DEFAULTS.slowThresholdMs,
    ),
  }),
  create: (options) => metrics(options as MetricsOptions),
};

const SCOPE = object(
  'One scope of a concurrency limit, with its own limit and queue.',
  {
    name: {
      description: 'The scope name, unique, used in messages and stats.',
      type: 'string',
      minLength: 1,
    },
    key: { ...REQUEST_KEY, description: 'Split the scope by key (each key gets its own limit and queue).' },
    limit: integer('Requests allowed to run at once (per key).', 1, { default: CONCURRENCY_DEFAULTS.limit }),
    maxQueue: integer('Requests allowed to wait (per key); 0 sheds at once when full.', 0),
    maxQueueWaitMs: duration('Longest wait in the queue before the request is shed.'),
    adaptive: ADAPTIVE,
  },
  ['name'],
);

const SHARED_LIMIT = object(
  'A limit shared by every replica (needs the redis package): once a request holds its local slots it takes a lease of a semaphore in Redis, waiting while the fleet is full and shed after maxWaitMs. A replica that stops frees its leases after leaseMs.',
  {
    redis: redisBlock('Where the semaphore lives.', 'the call fails and onStoreError applies'),
    limit: integer('Requests running at once across every replica (per key).', 1),
    name: {
      description:
        'The semaphore name: limits with the same Redis prefix and name are one limit, whatever their replica.',
      type: 'string',
      minLength: 1,
      default: SHARED_CONCURRENCY_DEFAULTS.key,
    },
    key: {
      ...REQUEST_KEY,
      description:
        'Split the shared limit by key (a semaphore per tool, method or principal); requests without one skip it. Default: one semaphore for all.',
    },
    leaseMs: duration(
      'Lifetime of a lease, renewed every third of it while the request runs (at least 30 ms).',
      SHARED_CONCURRENCY_DEFAULTS.leaseMs,
    ),
    retryMs: duration(
      'While the fleet is full, how often a waiting request asks again (jittered ±50%).',
      SHARED_CONCURRENCY_DEFAULTS.retryMs,
    ),
    maxWaitMs: duration(
      'Longest wait for a shared slot before the request is shed. Default: maxQueueWaitMs.',
    ),
    onStoreError: oneOfStrings(
      'When Redis cannot be reached: "allow" runs the request without a shared slot (fail-open), "reject" sheds it (fail-closed).',
      ['allow', 'reject'],
      SHARED_CONCURRENCY_DEFAULTS.onStoreError,
    ),
  },
  ['redis', 'limit'],
);

/** `concurrencyLimit.shared` as a config gives it, durations in milliseconds. */
interface SharedLimitConfig {
  redis: RedisConnectionConfig;
  limit: number;
  name?: string;
  key?: string;
  leaseMs?: number;
  retryMs?: number;
  maxWaitMs?: number;
  onStoreError?: 'allow' | 'reject';
}

/** The library's `shared` options from a config's, with the semaphore opened on the stack's Redis. */
async function openSharedLimit(
  config: SharedLimitConfig,
  context: StackContext,
): Promise<SharedConcurrencyOptions> {
  const { redis, name = SHARED_CONCURRENCY_DEFAULTS.key, key, ...rest } = config;
  const onStoreError = rest.onStoreError ?? SHARED_CONCURRENCY_DEFAULTS.onStoreError;
  const semaphore = await openUnder('shared.redis', async () =>
    (await redisOf(context)).semaphore('concurrencyLimit', onStoreError, redis),
  );
  const requestKey = key === undefined ? undefined : REQUEST_KEYS[key]!;
  return {
    ...rest,
    semaphore,
    key:
      requestKey === undefined
        ? name
        : (ctx) => {
            const k = requestKey(ctx);
            return k === undefined ? undefined : `${name}:${k}`;
          },
  };
}

const CONCURRENCY: MiddlewareDefinition = {
  schema: object('Caps requests running at once; queues and then sheds the rest.', {
    limit: integer('Requests allowed at once (one global scope). Not with "scopes".', 1, {
      default: CONCURRENCY_DEFAULTS.limit,
    }),
    adaptive: ADAPTIVE,
    scopes: {
      description: 'Scopes, each with its own limit and queue, acquired in order.',
      type: 'array',
      items: SCOPE,
    },
    maxQueue: integer('Default queue length of each scope.', 0, { default: CONCURRENCY_DEFAULTS.maxQueue }),
    maxQueueWaitMs: duration(
      'Default longest queue wait of each scope.',
      CONCURRENCY_DEFAULTS.maxQueueWaitMs,
    ),
    shedAs: SHED_AS,
    maxRetryAfterMs: duration(
      'Upper bound of the retryAfterMs sent with a shed request.',
      CONCURRENCY_DEFAULTS.maxRetryAfterMs,
    ),
    shared: SHARED_LIMIT,
  }),
  async create(options, context) {
    const { scopes, shared, ...rest } = options as {
      scopes?: (Record<string, unknown> & { key?: string })[];
      shared?: SharedLimitConfig;
    } & Record<string, unknown>;
    const resolved: ConcurrencyLimitOptions = {
      ...(rest as ConcurrencyLimitOptions),
      ...(shared === undefined ? {} : { shared: await openSharedLimit(shared, context) }),
      ...(scopes === undefined
        ? {}
        : {
            scopes: scopes.map(
              (scope): ConcurrencyScope => ({
                ...(scope as unknown as ConcurrencyScope),
                key: scope.key === undefined ? undefined : REQUEST_KEYS[scope.key],
              }),
            ),
          }),
    };
    return concurrencyLimit(resolved);
  },
};

const RATE_LIMIT: MiddlewareDefinition = {
  schema: object('A token bucket per key: refuses requests beyond a rate.', {
    limit: {
      description: 'Requests allowed per window, per key.',
      type: 'number',
      exclusiveMinimum: 0,
      default: RATE_LIMIT_DEFAULTS.limit,
    },
    windowMs: duration('The window the limit is counted over.', RATE_LIMIT_DEFAULTS.windowMs),
    burst: {
      description: 'Requests a full bucket holds. Default: limit.',
      type: 'number',
      exclusiveMinimum: 0,
    },
    name: {
      description: 'The limit name, used in messages.',
      type: 'string',
      minLength: 1,
      default: RATE_LIMIT_DEFAULTS.name,
    },
    key: { ...REQUEST_KEY, description: 'The bucket a request draws from. Default: one bucket for all.' },
    maxKeys: integer('Buckets kept in memory (without a Redis store).', 1, {
      default: RATE_LIMIT_DEFAULTS.maxKeys,
    }),
    shedAs: SHED_AS,
    onStoreError: oneOfStrings(
      'When the store fails (Redis down or late): "allow" the request (fail-open) or "deny" it (fail-closed).',
      ['allow', 'deny'],
      RATE_LIMIT_DEFAULTS.onStoreError,
    ),
    store: object(
      'Where the buckets live. Default: memory, private to this process (maxKeys).',
      {
        redis: redisBlock(
          'Buckets in Redis, one bucket space shared by every replica with the same prefix and limit name (needs the redis package); buckets live at `<prefix><name>:rl:<key>`.',
          'onStoreError applies',
        ),
      },
      ['redis'],
    ),
  }),
  async create(options, context) {
    const { key, store, ...rest } = options as {
      key?: string;
      store?: { redis: RedisConnectionConfig };
    } & Record<string, unknown>;
    const resolved = {
      ...(rest as RateLimitOptions),
      key: key === undefined ? undefined : REQUEST_KEYS[key],
    };
    if (store === undefined) return rateLimit(resolved);
    const name = resolved.name ?? RATE_LIMIT_DEFAULTS.name;
    const onStoreError = resolved.onStoreError ?? RATE_LIMIT_DEFAULTS.onStoreError;
    const buckets = await openUnder('store.redis', async () =>
      (await redisOf(context)).rateLimitStore('rateLimit', name, onStoreError, store.redis),
    );
    return rateLimit({ ...resolved, store: buckets });
  },
};

const GLOBS = { type: 'array', items: { type: 'string' } };

function policy(kind: string, include: readonly string[]): JsonSchema {
  return object(`Caching policy of ${kind}.`, {
    enabled: flag('Whether this kind is cached at all.', true),
    ttlMs: duration('How long an entry is fresh. Default: the cache ttlMs.'),
    staleMs: duration('Stale-while-revalidate window after ttlMs. Default: the cache staleMs.'),
    include: { ...GLOBS, description: 'Globs of what is cached.', default: include },
    exclude: { ...GLOBS, description: 'Globs of what is never cached, checked first.', default: [] },
    hints: oneOfStrings(
      'Use ("respect") or "ignore" the protocol cache hints of modern results.',
      ['respect', 'ignore'],
      'respect',
    ),
  });
}

/**
 * The store a config names for `owner`, whose memory store defaults to `memoryDefaults`;
 * `redisExtra` are options only this owner's Redis store takes.
 */
function storeSchema(
  owner: string,
  memoryDefaults: { maxEntries: number; maxBytes: number; maxEntrySize: number },
  redisExtra: Record<string, JsonSchema> = {},
): JsonSchema {
  return {
    description: `Where entries live. Default: a bounded memory store private to this ${owner}.`,
    oneOf: [
      object(
        'An in-process store.',
        {
          memory: object('Memory store settings.', {
            maxEntries: integer('Most entries kept.', 1, { default: memoryDefaults.maxEntries }),
            maxBytes: size('Most bytes kept.', memoryDefaults.maxBytes),
            maxEntrySize: size('Larger entries are refused.', memoryDefaults.maxEntrySize),
          }),
        },
        ['memory'],
      ),
      object(
        'A Redis store shared between replicas (needs the redis package).',
        {
          redis: redisBlock('Redis store settings.', 'the lookup is a miss', {
            maxEntrySize: size('Larger entries are refused. Default 1MiB.'),
            bloom: {
              description: 'Keep a bloom filter of the keys in Redis to answer sure misses locally.',
              type: 'boolean',
            },
            encoding: REDIS_ENCODING,
            ...redisExtra,
          }),
        },
        ['redis'],
      ),
    ],
  };
}

/**
 * Opens the store a config names (see {@link storeSchema}), or returns undefined for the
 * owner's default. A Redis store is closed with the stack.
 */
async function openStore(
  owner: string,
  config: { memory?: object; redis?: RedisConnectionConfig } | undefined,
  context: StackContext,
): Promise<CacheStore | undefined> {
  const memory = config?.memory;
  if (memory !== undefined) return openUnder('store.memory', () => memoryStore(memory));
  const redis = config?.redis;
  if (redis === undefined) return undefined;
  return openUnder('store.redis', async () => (await redisOf(context)).cacheStore(owner, redis));
}

/** The Redis connections of the stack being built (loading the redis package on first use). */
async function redisOf(context: StackContext) {
  const { stackRedis } = await import('./redis-open.js');
  return stackRedis(context, context.redisConnectWaitMs ?? REDIS_CONNECT_WAIT_MS);
}

const CACHE: MiddlewareDefinition = {
  schema: object('Caches lists, resource reads, prompts and opted-in tool calls.', {
    store: storeSchema('cache', MEMORY_STORE_DEFAULTS, {
      coalesce: REMOTE_COALESCE,
      l1: memoryTier(MEMORY_STORE_DEFAULTS),
    }),
    ttlMs: duration('Default freshness of an entry.', CACHE_DEFAULTS.ttlMs),
    staleMs: duration('Default stale-while-revalidate window after ttlMs; 0 is off.', CACHE_DEFAULTS.staleMs),
    maxEntryBytes: size('Larger results are not cached.', CACHE_DEFAULTS.maxEntryBytes),
    lists: policy(
      'tools/list, prompts/list, resources/list and resources/templates/list',
      CACHE_DEFAULTS.lists.include,
    ),
    resources: policy('resources/read (globs over URIs)', CACHE_DEFAULTS.resources.include),
    prompts: policy('prompts/get (globs over prompt names)', CACHE_DEFAULTS.prompts.include),
    tools: policy('tools/call (globs over tool names; opt-in)', CACHE_DEFAULTS.tools.include),
    readOnlyTools: flag(
      'Also cache tools annotated readOnlyHint: true (trusted servers only).',
      CACHE_DEFAULTS.readOnlyTools,
    ),
    coalesce: flag('Identical requests in flight make one call.', CACHE_DEFAULTS.coalesce),
    markHits: flag('Mark results served from the cache in _meta.', CACHE_DEFAULTS.markHits),
    admission: oneOfStrings(
      'Store every result ("always") or only repeated ones ("repeat").',
      ['always', 'repeat'],
      CACHE_DEFAULTS.admission,
    ),
    admissionWindow: integer('Distinct keys "repeat" admission remembers.', 1, {
      default: CACHE_DEFAULTS.admissionWindow,
    }),
    conditional: flag(
      'Revalidate expired entries with conditional "not modified" answers from a server running notModified.',
      CACHE_DEFAULTS.conditional,
    ),
    conditionalKeepMs: duration(
      'With conditional: how long past its TTL an entry is kept as the copy to revalidate.',
      CACHE_DEFAULTS.conditionalKeepMs,
    ),
  }),
  async create(options, context) {
    const { store: storeConfig, ...rest } = options as {
      store?: { memory?: object; redis?: RedisConnectionConfig };
    } & Record<string, unknown>;
    const store = await openStore('cache', storeConfig, context);
    const resolved = rest as CacheOptions & Record<string, CachePolicy | undefined>;
    return cache(store === undefined ? resolved : { ...resolved, store });
  },
};

const NOT_MODIFIED: MiddlewareDefinition = {
  schema: object(
    'Answers a conditional revalidation from a cache with conditional: true in a few bytes when the result has not changed. Put it first.',
    {
      enabled: flag('Accept offers and answer revalidations.', NOT_MODIFIED_DEFAULTS.enabled),
    },
  ),
  create(options) {
    return notModified(options as { enabled?: boolean });
  },
};

const TOOL_NAMES = {
  type: 'array',
  items: { type: 'string', minLength: 1 },
};

const TOOL_RULES = object(
  'Which tools are visible; every part given must agree, and deny wins over allow. Names are exact names or globs (`*` any run except "/", `**` any run, `?` one character); regular expressions cannot be written in a config file.',
  {
    allow: { ...TOOL_NAMES, description: 'Only tools whose name matches one of these are visible.' },
    deny: {
      ...TOOL_NAMES,
      description: 'Tools whose name matches one of these are hidden, even if allowed.',
    },
    annotations: object(
      'Hints a visible tool must have, e.g. { destructiveHint: false }; an undeclared hint takes the specification default.',
      {
        readOnlyHint: { description: 'true: only read-only tools.', type: 'boolean' },
        destructiveHint: {
          description: 'false: hide tools that may destroy data (undeclared counts as destructive).',
          type: 'boolean',
        },
        idempotentHint: { description: 'true: only idempotent tools.', type: 'boolean' },
        openWorldHint: {
          description: 'false: hide tools that reach outside systems (undeclared counts as open-world).',
          type: 'boolean',
        },
      },
    ),
    tags: object("Tags read from the tool's _meta.tags.", {
      allow: { ...TOOL_NAMES, description: 'A visible tool has at least one of these tags.' },
      deny: { ...TOOL_NAMES, description: 'A tool with any of these tags is hidden.' },
    }),
  },
);

const TOOL_FILTER: MiddlewareDefinition = {
  schema: object(
    'Decides which tools a caller sees (allow/deny rules, ranking, search mode) and refuses calls to hidden tools as unknown. Per-caller rules need code: use the toolFilter factory.',
    {
      rules: TOOL_RULES,
      pinned: {
        ...TOOL_NAMES,
        description: 'Tools always shown when visible, whatever the query or mode (names or globs).',
      },
      topK: integer('Tools a ranked tools/list shows (pinned tools come on top).', 1, {
        default: TOOL_FILTER_DEFAULTS.topK,
      }),
      mode: oneOfStrings(
        'tools/list shows the visible tools ("list") or only the search tool and the pinned tools ("search").',
        ['list', 'search'],
        TOOL_FILTER_DEFAULTS.mode,
      ),
      searchTool: object('The search tool of search mode.', {
        name: {
          description: 'Its name (it hides a server tool of the same name).',
          type: 'string',
          minLength: 1,
          default: TOOL_FILTER_DEFAULTS.searchToolName,
        },
        description: {
          description: 'Its description.',
          type: 'string',
          minLength: 1,
          default: SEARCH_TOOL_DESCRIPTION,
        },
        limit: integer('Tools a search returns when the caller gives no limit.', 1, {
          default: TOOL_FILTER_DEFAULTS.searchLimit,
        }),
        maxLimit: integer('The largest limit a caller may ask for.', 1, {
          default: TOOL_FILTER_DEFAULTS.searchMaxLimit,
        }),
      }),
      listChanged: {
        description:
          'Advertise tools.listChanged in the handshake when the server does not. Default: true when rules, pinned or search mode are configured.',
        type: 'boolean',
      },
      tokens: oneOfStrings(
        'Count definition tokens before and after filtering: "approximate" (fast estimate) or "exact" (needs the tiktoken package). Default: no counting.',
        ['approximate', 'exact'],
      ),
      maxCallers: integer('Callers remembered per connection.', 1, {
        default: TOOL_FILTER_DEFAULTS.maxCallers,
      }),
      maxPages: integer(
        'Pages followed when a filtered page comes out empty or a full list is gathered.',
        1,
        {
          default: TOOL_FILTER_DEFAULTS.maxPages,
        },
      ),
    },
  ),
  create(options) {
    const { tokens, ...rest } = options as { tokens?: 'approximate' | 'exact' } & Record<string, unknown>;
    const resolved = rest as ToolFilterOptions;
    if (tokens === undefined) return toolFilter(resolved);
    return toolFilter({
      ...resolved,
      tokens: tokens === 'exact' ? exactTokenCounter() : approximateTokenCounter(),
    });
  },
};

function cumulativeBudget(whose: string, windowMs: JsonSchema): JsonSchema {
  return object(
    `A token budget per ${whose}, over the results delivered.`,
    {
      tokens: integer('Tokens allowed per window.', 1),
      windowMs,
      policy: oneOfStrings(
        'When it is used up: "refuse" calls, or "tighten" the per-call limit to what is left.',
        ['refuse', 'tighten'],
        TOKEN_BUDGET_DEFAULTS.policy,
      ),
      tightenTo: integer('The smallest per-call limit "tighten" applies.', 1, {
        default: TOKEN_BUDGET_DEFAULTS.tightenTo,
      }),
    },
    ['tokens'],
  );
}

const TOKEN_BUDGET: MiddlewareDefinition = {
  schema: object(
    'Cuts tool results over a token limit, keeping the rest readable as pages; optional budgets per session and principal.',
    {
      maxTokens: integer(
        "The per-call limit of a tools/call result's model-visible text, in tokens.",
        TOKEN_BUDGET_DEFAULTS.minTokens,
        {
          default: TOKEN_BUDGET_DEFAULTS.maxTokens,
        },
      ),
      tools: {
        description:
          'Per-tool limits by tool name or glob: a number of tokens, or false for no limit. An exact name wins over globs.',
        type: 'object',
        additionalProperties: {
          anyOf: [{ type: 'integer', minimum: TOKEN_BUDGET_DEFAULTS.minTokens }, { const: false }],
        },
      },
      callerLimit: flag(
        'Honour a lower limit the caller asks for in _meta["mcp-perf/maxTokens"].',
        TOKEN_BUDGET_DEFAULTS.callerLimit,
      ),
      counter: oneOfStrings(
        'How tokens are counted: "approximate" (fast estimate) or "exact" (needs the tiktoken package).',
        ['approximate', 'exact'],
        TOKEN_BUDGET_DEFAULTS.counter,
      ),
      compact: flag(
        'Minify JSON and trim blank runs of a result over its limit before cutting.',
        TOKEN_BUDGET_DEFAULTS.compact,
      ),
      tabular: flag(
        'Rewrite a JSON array of uniform flat objects as a header and rows when over the limit.',
        TOKEN_BUDGET_DEFAULTS.tabular,
      ),
      tabularMinSaving: {
        description: 'The least fraction of tokens the tabular form must save to be used, 0–1.',
        type: 'number',
        minimum: 0,
        maximum: 1,
        default: TOKEN_BUDGET_DEFAULTS.tabularMinSaving,
      },
      store: storeSchema('token budget', TOKEN_BUDGET_DEFAULTS.store),
      pageTtlMs: duration('How long a cut remainder stays readable.', TOKEN_BUDGET_DEFAULTS.pageTtlMs),
      continuationTool: {
        description:
          'The continuation tool: listed "after-cut" (once a result was cut), "always", or never (false). It is callable in every mode.',
        enum: ['after-cut', 'always', false],
        default: TOKEN_BUDGET_DEFAULTS.continuationTool,
      },
      continuationToolName: {
        description: "The continuation tool's name.",
        type: 'string',
        minLength: 1,
        default: TOKEN_BUDGET_DEFAULTS.continuationToolName,
      },
      addResourcesCapability: flag(
        "Add resources: {} to the server's capabilities when it has none, so clients read pages with resources/read.",
        TOKEN_BUDGET_DEFAULTS.addResourcesCapability,
      ),
      session: cumulativeBudget(
        'session (per connection without a session id)',
        duration('The window; the budget resets when it ends. Default: never resets.'),
      ),
      principal: cumulativeBudget(
        'authenticated principal',
        duration('The window; the budget resets when it ends.', TOKEN_BUDGET_DEFAULTS.principalWindowMs),
      ),
      maxKeys: integer('Most sessions and principals whose cumulative use is held.', 1, {
        default: TOKEN_BUDGET_DEFAULTS.maxKeys,
      }),
    },
  ),
  async create(options, context) {
    const { store: storeConfig, ...rest } = options as {
      store?: { memory?: object; redis?: RedisConnectionConfig };
    } & Record<string, unknown>;
    const store = await openStore('tokenBudget', storeConfig, context);
    const resolved = rest as TokenBudgetOptions;
    return tokenBudget(store === undefined ? resolved : { ...resolved, store });
  },
};

const BATCHING: MiddlewareDefinition = {
  schema: object(
    'Request batching with another mcp-perf peer: a client sends the requests of one turn as one batch request, a server accepts such batches and runs each request through its stack. Batch handlers for tools and resources need code: use the batching factory.',
    {
      requests: {
        description:
          'Offer (client) and accept (server) request batching; false does neither, true takes every default.',
        anyOf: [
          { type: 'boolean' },
          object('Request batching settings.', {
            maxBatchSize: integer('Most requests in one batch (sent or accepted).', 1, {
              default: BATCHING_DEFAULTS.requestMaxBatchSize,
            }),
            maxWaitMs: duration(
              'How long a client waits for more requests after the first; 0 waits for nothing: the first request of a turn of the event loop goes at once and those issued while it is awaited leave together at the end of the turn.',
              BATCHING_DEFAULTS.requestMaxWaitMs,
            ),
            maxIncoming: integer('Server: batched requests running at once on one connection.', 1, {
              default: BATCHING_DEFAULTS.maxIncoming,
            }),
          }),
        ],
        default: true,
      },
    },
  ),
  create: (options) => batching(options as BatchingOptions),
};

/**
 * The middlewares a config names, by the key used in a config file. Their order in a
 * config's `middleware` list is the stack's order, outermost first.
 */
export const MIDDLEWARE_REGISTRY: Readonly<Record<string, MiddlewareDefinition>> = Object.freeze({
  metrics: METRICS,
  concurrencyLimit: CONCURRENCY,
  rateLimit: RATE_LIMIT,
  cache: CACHE,
  toolFilter: TOOL_FILTER,
  tokenBudget: TOKEN_BUDGET,
  batching: BATCHING,
  notModified: NOT_MODIFIED,
});
