import {
  DURATION,
  duration,
  flag,
  integer,
  type JsonSchema,
  object,
  oneOfStrings,
} from '../config/schema-parts.js';
import { POOL_DEFAULTS } from './options.js';

const D = POOL_DEFAULTS;

const NAME = { description: 'A name for events, stats and logs.', type: 'string', minLength: 1 };

/**
 * The `pool` section of a config file: the options of `createUpstreamPool` in the
 * config's units (durations as `"5s"`), with upstreams given as URLs or commands.
 */
export const POOL_SCHEMA: JsonSchema = object(
  'Several upstream servers used as one: load balancing, failover, retries, timeouts, breakers and hedging (see docs/pool.md). Reloaded with the file: upstreams are matched by name, and requests in flight finish where they run.',
  {
    upstreams: {
      description: 'The upstreams: Streamable HTTP URLs, or commands started as child processes (stdio).',
      type: 'array',
      minItems: 1,
      items: {
        anyOf: [
          { description: 'A Streamable HTTP URL.', type: 'string', pattern: '^https?://' },
          object(
            'A Streamable HTTP server.',
            { url: { type: 'string', pattern: '^https?://' }, name: NAME },
            ['url'],
          ),
          object(
            'A server started as a child process and spoken to over stdio.',
            {
              command: { type: 'string', minLength: 1 },
              args: { type: 'array', items: { type: 'string' } },
              env: { type: 'object', additionalProperties: { type: 'string' } },
              cwd: { type: 'string' },
              name: NAME,
            },
            ['command'],
          ),
        ],
      },
    },
    strategy: oneOfStrings(
      'How a request picks an upstream: the next in turn, the less busy of two random ones, or by a hash of a key.',
      ['round-robin', 'least-in-flight', 'consistent-hash'],
      D.strategy,
    ),
    hashKey: {
      description:
        'What consistent-hash hashes: "session" (a downstream session stays on one upstream) or { argument: <tool argument> } (calls with the same value land on one upstream).',
      default: 'session',
      anyOf: [
        { enum: ['session'] },
        object(
          'A tool argument.',
          {
            argument: {
              description: 'The tool argument whose value is hashed.',
              type: 'string',
              minLength: 1,
            },
          },
          ['argument'],
        ),
      ],
    },
    sessions: oneOfStrings(
      'Legacy sessions: "sticky" keeps one on the upstream that answered its initialize; "spread" spreads its requests, replaying the handshake on each upstream (for servers without per-session state).',
      ['sticky', 'spread'],
      D.sessions,
    ),
    health: object('Active checks and passive outlier ejection.', {
      intervalMs: duration(
        'How often each upstream is checked; 0 turns active checks off.',
        D.health.intervalMs,
      ),
      timeoutMs: duration('How long a check may take.', D.health.timeoutMs),
      method: oneOfStrings('The check request.', ['ping', 'server/discover'], D.health.method),
      unhealthyAfter: integer('Failed checks in a row that take an upstream out.', 1, {
        default: D.health.unhealthyAfter,
      }),
      ejectAfterFailures: integer(
        'Failures in a row (transport errors, timeouts) that eject an upstream.',
        1,
        {
          default: D.health.ejectAfterFailures,
        },
      ),
      latencyFactor: {
        description:
          "An upstream whose median latency exceeds this multiple of the pool's median is ejected.",
        type: 'number',
        exclusiveMinimum: 1,
        default: D.health.latencyFactor,
      },
      minSamples: integer('Latency samples an upstream needs before it can be judged an outlier.', 1, {
        default: D.health.minSamples,
      }),
      outlierIntervalMs: duration('How often outliers are looked for.', D.health.outlierIntervalMs),
      cooloffMs: duration(
        'How long an ejected upstream stays out; doubled for each ejection in a row, up to 10×.',
        D.health.cooloffMs,
      ),
      maxEjectedPercent: {
        description: 'Most upstreams ejected at once, as a percentage (one always stays).',
        type: 'number',
        minimum: 0,
        maximum: 100,
        default: D.health.maxEjectedPercent,
      },
    }),
    retry: object('Failover and retries.', {
      attempts: integer('Attempts per request, the first included.', 1, { default: D.retry.attempts }),
      budget: {
        description: 'Retries and hedges allowed as a fraction of recent requests.',
        type: 'number',
        minimum: 0,
        default: D.retry.budget,
      },
      minPerSecond: {
        description: 'Retries always allowed per second.',
        type: 'number',
        minimum: 0,
        default: D.retry.minPerSecond,
      },
      windowMs: duration('The window the budget counts over (at least 1s).', D.retry.windowMs),
      tools: {
        description:
          'Per tool name: true if it may run twice (retried after it may have run, and hedged), false if never. Other tools follow their annotations.',
        type: 'object',
        additionalProperties: { type: 'boolean' },
      },
      trustAnnotations: flag(
        'Treat tools annotated readOnlyHint or idempotentHint as safe to run twice.',
        D.retry.trustAnnotations,
      ),
    }),
    timeouts: object('Per-attempt timeouts; time waiting for a connection is not counted.', {
      defaultMs: duration('Every request; 0 for none.', D.timeouts.defaultMs),
      methods: {
        description: 'Per MCP method, e.g. { "tools/list": 5s }.',
        type: 'object',
        additionalProperties: DURATION,
      },
      tools: {
        description: 'Per tool name, e.g. { search: 10s }.',
        type: 'object',
        additionalProperties: DURATION,
      },
    }),
    breaker: {
      description: 'A circuit breaker per upstream; false turns it off.',
      anyOf: [
        { type: 'boolean', enum: [false] },
        object('Breaker settings.', {
          failureRatio: {
            description: 'Failure ratio over the window that opens the breaker.',
            type: 'number',
            exclusiveMinimum: 0,
            maximum: 1,
            default: D.breaker.failureRatio,
          },
          minRequests: integer('Requests the window must hold before the ratio is judged.', 1, {
            default: D.breaker.minRequests,
          }),
          windowMs: duration('The window (at least 1s).', D.breaker.windowMs),
          openMs: duration('Time open before sampling.', D.breaker.openMs),
          halfOpenRequests: integer(
            'Trial requests let through at a time when half-open; that many successes close it.',
            1,
            { default: D.breaker.halfOpenRequests },
          ),
        }),
      ],
    },
    hedge: {
      description: 'Hedged requests for safe reads: false (the default) or settings ({} for the defaults).',
      anyOf: [
        { type: 'boolean', enum: [false] },
        object('Hedging settings.', {
          percentile: {
            description:
              'Latency percentile of the method or tool after which a copy goes to another upstream.',
            type: 'number',
            exclusiveMinimum: 0,
            exclusiveMaximum: 100,
            default: D.hedge.percentile,
          },
          minDelayMs: duration('Never hedge before this.', D.hedge.minDelayMs),
          minSamples: integer('Latency samples a method or tool needs before it is hedged.', 1, {
            default: D.hedge.minSamples,
          }),
        }),
      ],
    },
  },
  ['upstreams'],
);
