/**
 * The schema fragments of the Redis settings a config can give: how a middleware reaches
 * Redis (shared by the cache store, the rate-limit store and the shared concurrency limit)
 * and the cache store's extras. Only data here: the `redis` package is loaded when a
 * stack is built from a config that asks for it (see `redis-open.ts`).
 */

import { REDIS_STORE_DEFAULTS } from '../stores/redis/options.js';
import { duration, integer, type JsonSchema, object, size } from './schema-parts.js';

/** The connection settings every Redis block of a config takes, as written in the file. */
export interface RedisConnectionConfig {
  /** A `redis://` or `rediss://` URL; or else `cluster`. */
  readonly url?: string;
  /** A Redis Cluster, by the URLs of some of its nodes; or else `url`. */
  readonly cluster?: { readonly rootNodes: readonly string[] };
  readonly prefix?: string;
  readonly timeoutMs?: number;
  readonly circuit?: false | { failureThreshold?: number; cooldownMs?: number };
}

const REDIS_URL: JsonSchema = { type: 'string', pattern: '^rediss?://' };

/**
 * A Redis block: `url` or `cluster`, `prefix`, `timeoutMs`, `circuit`, then `extra`.
 * `missIs` says what a failed or late reply means for its owner (in the descriptions).
 */
export function redisBlock(
  description: string,
  missIs: string,
  extra: Record<string, JsonSchema> = {},
): JsonSchema {
  return {
    ...object(description, {
      url: {
        ...REDIS_URL,
        description:
          'A redis:// or rediss:// URL, e.g. "${REDIS_URL}". Give url or cluster. Entries of one stack naming the same URL share one connection.',
      },
      cluster: object(
        'A Redis Cluster instead of url: the stores put each of their scripts on one slot (the cache store makes its prefix a hash tag).',
        {
          rootNodes: {
            description: 'URLs of some of its nodes; the rest are discovered.',
            type: 'array',
            minItems: 1,
            items: REDIS_URL,
          },
        },
        ['rootNodes'],
      ),
      prefix: {
        description: `Prefix of every key (and of the cache store's invalidation channel). Replicas using the same prefix share their data. Default "${REDIS_STORE_DEFAULTS.prefix}".`,
        type: 'string',
        minLength: 1,
      },
      timeoutMs: duration(
        `Longest wait for one Redis reply; past it ${missIs}. Default ${REDIS_STORE_DEFAULTS.timeoutMs}.`,
      ),
      circuit: {
        description: `After failureThreshold consecutive failures, stop calling Redis for cooldownMs (every call then fails at once); false never stops. Default ${REDIS_STORE_DEFAULTS.circuit.failureThreshold} failures, ${REDIS_STORE_DEFAULTS.circuit.cooldownMs} ms.`,
        anyOf: [
          { enum: [false] },
          object('Circuit breaker settings.', {
            failureThreshold: integer('Consecutive failures that open the circuit.', 1, {
              default: REDIS_STORE_DEFAULTS.circuit.failureThreshold,
            }),
            cooldownMs: duration(
              'How long the circuit stays open before one call is let through as a probe.',
              REDIS_STORE_DEFAULTS.circuit.cooldownMs,
            ),
          }),
        ],
      },
      ...extra,
    }),
    oneOf: [
      { properties: { url: true }, required: ['url'] },
      { properties: { cluster: true }, required: ['cluster'] },
    ],
  };
}

/** The memory tier in front of a Redis cache store, as a config names it. */
export function memoryTier(defaults: {
  maxEntries: number;
  maxBytes: number;
  maxEntrySize: number;
}): JsonSchema {
  return {
    description:
      'A memory tier in front of Redis (a tiered store): hits answered in process, kept in step with every replica by the invalidation channel; true takes every default.',
    anyOf: [
      { type: 'boolean' },
      object('Memory tier settings.', {
        maxEntries: integer('Most entries kept in memory.', 1, { default: defaults.maxEntries }),
        maxBytes: size('Most bytes kept in memory.', defaults.maxBytes),
        maxEntrySize: size('Larger entries stay in Redis only.', defaults.maxEntrySize),
      }),
    ],
  };
}

/** How the cache store writes entries, as a config names it. */
export const REDIS_ENCODING: JsonSchema = {
  description: `Entries whose value's JSON is longer than binaryOverBytes are written packed by msgpackr (cheaper to encode and decode at that size), smaller ones as JSON; false writes JSON only. Both forms are read either way. Default ${REDIS_STORE_DEFAULTS.encoding.binaryOverBytes} bytes.`,
  anyOf: [
    { enum: [false] },
    object('Entry encoding settings.', {
      binaryOverBytes: integer('Entries larger than this many bytes of JSON are written in binary.', 0, {
        default: REDIS_STORE_DEFAULTS.encoding.binaryOverBytes,
      }),
    }),
  ],
};

/** The cache store's coalescing across replicas, as a config names it. */
export const REMOTE_COALESCE: JsonSchema = {
  description:
    'Coalesce across replicas: identical requests missing on different replicas at once make one upstream call (a fill lock in Redis; one more round trip per miss). true takes every default.',
  anyOf: [
    { type: 'boolean' },
    object('Cross-replica coalescing settings.', {
      lockMs: duration(
        'Lifetime of a fill lock: longer than the slowest call, or a second replica calls when it expires.',
        REDIS_STORE_DEFAULTS.coalesce.lockMs,
      ),
      waitMs: duration(
        "Longest a replica waits for another's fill before calling itself.",
        REDIS_STORE_DEFAULTS.coalesce.waitMs,
      ),
      pollMs: duration(
        'How often a waiting replica looks at Redis in case a message was lost.',
        REDIS_STORE_DEFAULTS.coalesce.pollMs,
      ),
    }),
  ],
};
