import type { McpTransport } from '../adapters/transport.js';
import { InvalidOptionError } from '../errors/index.js';

/** One upstream of a pool. */
export type UpstreamSpec =
  /** A Streamable HTTP server, e.g. `http://10.0.0.5:3000/mcp`. */
  | string
  | {
      /** A Streamable HTTP server's URL. */
      url: string;
      /** A name for events and stats. Default: the URL. */
      name?: string;
    }
  | {
      /** A server started as a child process, spoken to over stdio. */
      command: string;
      /** Its arguments. Default none. */
      args?: readonly string[];
      /** Extra environment variables (added to the SDK's default environment). */
      env?: Record<string, string>;
      /** Its working directory. Default: this process's. */
      cwd?: string;
      /** A name for events and stats. Default: the command line. */
      name?: string;
    }
  | {
      /** Builds a new, unstarted transport to the upstream: one per downstream session, one for health checks. */
      transport: () => McpTransport;
      /** A name for events and stats. Default `upstream-<index>`. */
      name?: string;
    };

/** How a request picks an upstream. */
export type PoolStrategy = 'round-robin' | 'least-in-flight' | 'consistent-hash';

/** What the consistent-hash strategy hashes. */
export type HashKey =
  /** The downstream session: one session's requests land on one upstream. */
  | 'session'
  /** A tool argument: calls with the same value land on one upstream ("context sharding"). */
  | {
      /** The tool argument whose value is hashed. */
      argument: string;
    }
  /** Your own key from the request; `undefined` falls back to least-in-flight. */
  | ((method: string, params: Record<string, unknown> | undefined) => string | undefined);

/** Options of {@link createUpstreamPool}. */
export interface UpstreamPoolOptions {
  /** The upstreams, at least one. */
  upstreams: readonly UpstreamSpec[];
  /** How a request picks an upstream. Default `least-in-flight` (the better of two random picks). */
  strategy?: PoolStrategy;
  /** What `consistent-hash` hashes. Default `session`. */
  hashKey?: HashKey;
  /**
   * On legacy connections (an `initialize` handshake), `sticky` keeps a downstream
   * session on the upstream that answered its `initialize` (moving it only when that
   * upstream fails); `spread` spreads its requests too, replaying the handshake on each
   * upstream first (for servers that keep no per-session state). Modern connections are
   * always spread. Default `sticky`.
   */
  sessions?: 'sticky' | 'spread';
  /** Active health checks and passive outlier ejection. */
  health?: HealthOptions;
  /** Failover and retries. */
  retry?: RetryOptions;
  /** Per-attempt timeouts (time spent waiting for a connection is not counted). */
  timeouts?: TimeoutOptions;
  /** A circuit breaker per upstream; `false` turns it off. */
  breaker?: BreakerOptions | false;
  /** Hedged requests for safe reads; off unless given. */
  hedge?: HedgeOptions | false;
  /** Told about ejections, re-admissions, breaker transitions, retries, hedges. */
  onEvent?: (event: PoolEvent) => void;
  /** Receives transport errors of the upstream connections. Default: ignore them. */
  onerror?: (error: Error) => void;
}

/** Options of {@link UpstreamPoolOptions.health}. */
export interface HealthOptions {
  /** How often each upstream is checked, in ms; 0 turns active checks off. Default 5 000. */
  intervalMs?: number;
  /** How long a check may take, in ms. Default 2 000. */
  timeoutMs?: number;
  /** The request a check sends: `ping` (after an `initialize` handshake) or `server/discover` (modern servers). Default `ping`. */
  method?: 'ping' | 'server/discover';
  /** Failed checks in a row that take an upstream out. Default 2. */
  unhealthyAfter?: number;
  /** Failures in a row (transport errors, timeouts) that eject an upstream. Default 5. */
  ejectAfterFailures?: number;
  /** An upstream whose recent median latency exceeds this multiple of the pool's median is ejected. Default 5. */
  latencyFactor?: number;
  /** Latency samples an upstream needs before it can be judged an outlier. Default 20. */
  minSamples?: number;
  /** Outliers are looked for this often, in ms. Default 500. */
  outlierIntervalMs?: number;
  /** How long an ejected upstream stays out, in ms; doubled for each ejection in a row, up to 10×. Default 10 000. */
  cooloffMs?: number;
  /** Most upstreams ejected at once, as a percentage of the pool (at least one always stays). Default 50. */
  maxEjectedPercent?: number;
}

/** Options of {@link UpstreamPoolOptions.retry}. */
export interface RetryOptions {
  /** Attempts per request, the first included. Default 3. */
  attempts?: number;
  /** Retries and hedges allowed as a fraction of recent requests. Default 0.2. */
  budget?: number;
  /** Retries always allowed per second, so a quiet pool can retry too. Default 10. */
  minPerSecond?: number;
  /** The window the budget counts over, in ms. Default 10 000. */
  windowMs?: number;
  /**
   * Your word on whether a tool may be run twice: `true` (retried and hedged after it
   * may have run), `false` (never), per tool name; or a function of the name. Tools not
   * listed follow their annotations (see `trustAnnotations`).
   */
  tools?: Record<string, boolean> | ((tool: string) => boolean | undefined);
  /** Treat tools annotated `readOnlyHint` or `idempotentHint` (seen in `tools/list`) as safe to run twice. Default true. */
  trustAnnotations?: boolean;
}

/** Options of {@link UpstreamPoolOptions.timeouts}. */
export interface TimeoutOptions {
  /** Per attempt, in ms; 0 for none. Default 60 000. */
  defaultMs?: number;
  /** Per method, e.g. `{ "tools/list": 5000 }`. */
  methods?: Record<string, number>;
  /** Per tool, e.g. `{ search: 10000 }`. */
  tools?: Record<string, number>;
}

/** Options of {@link UpstreamPoolOptions.breaker}. */
export interface BreakerOptions {
  /** Failure ratio over the window that opens the breaker. Default 0.5. */
  failureRatio?: number;
  /** Requests the window must hold before the ratio is judged. Default 10. */
  minRequests?: number;
  /** Window, in ms. Default 10 000. */
  windowMs?: number;
  /** Time open before sampling, in ms. Default 5 000. */
  openMs?: number;
  /** Trial requests let through at a time when half-open; that many successes close it. Default 3. */
  halfOpenRequests?: number;
}

/** Options of {@link UpstreamPoolOptions.hedge}. */
export interface HedgeOptions {
  /** The latency percentile after which a copy is sent, from recent answers of the same method or tool. Default 95. */
  percentile?: number;
  /** Never hedge before this many ms. Default 1. */
  minDelayMs?: number;
  /** Latency samples a method or tool needs before it is hedged. Default 20. */
  minSamples?: number;
}

/** An upstream was ejected (passive health). */
export interface EjectEvent {
  /** Discriminant. */
  type: 'eject';
  /** The upstream's name. */
  upstream: string;
  /** Failures in a row, or latency far above the pool's median. */
  reason: 'failures' | 'latency';
  /** How long it stays out, in ms. */
  untilMs: number;
}

/** An ejected upstream's cool-off ended: it takes requests again. */
export interface ReadmitEvent {
  /** Discriminant. */
  type: 'readmit';
  /** The upstream's name. */
  upstream: string;
}

/** An upstream's active checks changed their verdict. */
export interface HealthEvent {
  /** Discriminant. */
  type: 'health';
  /** The upstream's name. */
  upstream: string;
  /** The new verdict. */
  healthy: boolean;
  /** Why the last check failed (when unhealthy). */
  error?: string;
}

/** An upstream's circuit breaker changed state. */
export interface BreakerEvent {
  /** Discriminant. */
  type: 'breaker';
  /** The upstream's name. */
  upstream: string;
  /** The state left. */
  from: 'closed' | 'open' | 'half-open';
  /** The state entered. */
  to: 'closed' | 'open' | 'half-open';
}

/** A failed attempt is retried on another upstream. */
export interface RetryEvent {
  /** Discriminant. */
  type: 'retry';
  /** The upstream the failed attempt went to. */
  upstream: string;
  /** The request's method. */
  method: string;
  /** How it failed. */
  reason: string;
}

/** A failed request, or a hedge, was not retried. */
export interface RetryDeniedEvent {
  /** Discriminant. */
  type: 'retry-denied';
  /** The request's method. */
  method: string;
  /** The retry budget is spent, the request may have run and is not safe to run twice, or its attempts are used up. */
  reason: 'budget' | 'unsafe' | 'attempts';
}

/** A hedged copy of a slow safe request was sent. */
export interface HedgeEvent {
  /** Discriminant. */
  type: 'hedge';
  /** The upstream the copy went to. */
  upstream: string;
  /** The request's method. */
  method: string;
  /** How long the first attempt had waited, in ms. */
  afterMs: number;
}

/** Something the pool did, for logs and metrics. */
export type PoolEvent =
  | EjectEvent
  | ReadmitEvent
  | HealthEvent
  | BreakerEvent
  | RetryEvent
  | RetryDeniedEvent
  | HedgeEvent;

/** The shape of {@link POOL_DEFAULTS}. */
export interface PoolDefaults {
  /** {@link UpstreamPoolOptions.strategy}. */
  readonly strategy: PoolStrategy;
  /** {@link UpstreamPoolOptions.sessions}. */
  readonly sessions: 'sticky';
  /** {@link UpstreamPoolOptions.health}. */
  readonly health: Readonly<Required<HealthOptions>>;
  /** {@link UpstreamPoolOptions.retry} (no tool is marked safe by default). */
  readonly retry: Readonly<Required<Omit<RetryOptions, 'tools'>>>;
  /** {@link UpstreamPoolOptions.timeouts} (no per-method or per-tool timeouts by default). */
  readonly timeouts: Readonly<Pick<Required<TimeoutOptions>, 'defaultMs'>>;
  /** {@link UpstreamPoolOptions.breaker}. */
  readonly breaker: Readonly<Required<BreakerOptions>>;
  /** {@link UpstreamPoolOptions.hedge} (hedging itself is off unless asked for). */
  readonly hedge: Readonly<Required<HedgeOptions>>;
}

/** Defaults of {@link UpstreamPoolOptions}. */
export const POOL_DEFAULTS: PoolDefaults = Object.freeze({
  strategy: 'least-in-flight',
  sessions: 'sticky',
  health: Object.freeze({
    intervalMs: 5000,
    timeoutMs: 2000,
    method: 'ping' as const,
    unhealthyAfter: 2,
    ejectAfterFailures: 5,
    latencyFactor: 5,
    minSamples: 20,
    outlierIntervalMs: 500,
    cooloffMs: 10_000,
    maxEjectedPercent: 50,
  }),
  retry: Object.freeze({
    attempts: 3,
    budget: 0.2,
    minPerSecond: 10,
    windowMs: 10_000,
    trustAnnotations: true,
  }),
  timeouts: Object.freeze({ defaultMs: 60_000 }),
  breaker: Object.freeze({
    failureRatio: 0.5,
    minRequests: 10,
    windowMs: 10_000,
    openMs: 5000,
    halfOpenRequests: 3,
  }),
  hedge: Object.freeze({ percentile: 95, minDelayMs: 1, minSamples: 20 }),
});

/** The options with every default filled in, checked. */
export interface ResolvedPoolOptions {
  strategy: PoolStrategy;
  hashKey: HashKey;
  sessions: 'sticky' | 'spread';
  health: Required<HealthOptions>;
  retry: Required<Omit<RetryOptions, 'tools'>> & { tools: RetryOptions['tools'] };
  timeouts: { defaultMs: number; methods: Record<string, number>; tools: Record<string, number> };
  breaker: Required<BreakerOptions> | false;
  hedge: Required<HedgeOptions> | false;
}

/** Throws unless `ok`; `where` is who checks (`createUpstreamPool` or `UpstreamPool.reconfigure`). */
function check(where: string, ok: boolean, option: string, expected: string, got: unknown): void {
  if (!ok) throw new InvalidOptionError(where, option, expected, got);
}

function fill<T extends object>(
  where: string,
  group: string,
  given: object | undefined,
  defaults: T,
  rules: Record<string, [(v: unknown) => boolean, string]>,
): T {
  if (given !== undefined)
    check(where, typeof given === 'object' && given !== null, group, 'an object', given);
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given ?? {})) {
    const rule = rules[key];
    check(where, rule !== undefined, `${group}.${key}`, 'a known option', value);
    if (value === undefined) continue;
    check(where, rule![0](value), `${group}.${key}`, rule![1], value);
    out[key] = value;
  }
  return out as T;
}

const nonNegative: [(v: unknown) => boolean, string] = [
  (v) => typeof v === 'number' && v >= 0 && Number.isFinite(v),
  'a non-negative number',
];
const positive: [(v: unknown) => boolean, string] = [
  (v) => typeof v === 'number' && v > 0 && Number.isFinite(v),
  'a positive number',
];
const positiveInt: [(v: unknown) => boolean, string] = [
  (v) => Number.isInteger(v) && (v as number) >= 1,
  'a positive integer',
];
const msMap: [(v: unknown) => boolean, string] = [
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    Object.values(v).every((ms) => typeof ms === 'number' && ms >= 0 && Number.isFinite(ms)),
  'an object of non-negative numbers of ms',
];

/**
 * Fills in defaults and checks every option, naming the one that is wrong.
 * @param where - the function named in messages
 */
export function resolvePoolOptions(
  options: UpstreamPoolOptions,
  where = 'createUpstreamPool',
): ResolvedPoolOptions {
  check(where, typeof options === 'object' && options !== null, '(options)', 'an object', options);
  const strategy = options.strategy ?? POOL_DEFAULTS.strategy;
  check(
    where,
    ['round-robin', 'least-in-flight', 'consistent-hash'].includes(strategy),
    'strategy',
    '"round-robin", "least-in-flight" or "consistent-hash"',
    strategy,
  );
  const hashKey = options.hashKey ?? 'session';
  check(
    where,
    hashKey === 'session' ||
      typeof hashKey === 'function' ||
      (typeof hashKey === 'object' &&
        hashKey !== null &&
        typeof hashKey.argument === 'string' &&
        hashKey.argument !== ''),
    'hashKey',
    '"session", { argument: "<name>" } or a function',
    hashKey,
  );
  const sessions = options.sessions ?? POOL_DEFAULTS.sessions;
  check(where, sessions === 'sticky' || sessions === 'spread', 'sessions', '"sticky" or "spread"', sessions);
  const health = fill(where, 'health', options.health, POOL_DEFAULTS.health, {
    intervalMs: nonNegative,
    timeoutMs: positive,
    method: [(v) => v === 'ping' || v === 'server/discover', '"ping" or "server/discover"'],
    unhealthyAfter: positiveInt,
    ejectAfterFailures: positiveInt,
    latencyFactor: [(v) => typeof v === 'number' && v > 1, 'a number above 1'],
    minSamples: positiveInt,
    outlierIntervalMs: positive,
    cooloffMs: nonNegative,
    maxEjectedPercent: [(v) => typeof v === 'number' && v >= 0 && v <= 100, 'a percentage from 0 to 100'],
  }) as Required<HealthOptions>;
  const retry = fill(
    where,
    'retry',
    options.retry,
    { ...POOL_DEFAULTS.retry, tools: undefined },
    {
      attempts: positiveInt,
      budget: nonNegative,
      minPerSecond: nonNegative,
      windowMs: [(v) => typeof v === 'number' && v >= 1000, 'at least 1000 (ms)'],
      tools: [
        (v) =>
          typeof v === 'function' ||
          (typeof v === 'object' && v !== null && Object.values(v).every((b) => typeof b === 'boolean')),
        'an object of booleans by tool name, or a function',
      ],
      trustAnnotations: [(v) => typeof v === 'boolean', 'a boolean'],
    },
  ) as ResolvedPoolOptions['retry'];
  const timeouts = fill(
    where,
    'timeouts',
    options.timeouts,
    { ...POOL_DEFAULTS.timeouts, methods: {}, tools: {} },
    {
      defaultMs: nonNegative,
      methods: msMap,
      tools: msMap,
    },
  );
  const breaker =
    options.breaker === false
      ? false
      : fill(where, 'breaker', options.breaker, POOL_DEFAULTS.breaker, {
          failureRatio: [(v) => typeof v === 'number' && v > 0 && v <= 1, 'a number above 0, at most 1'],
          minRequests: positiveInt,
          windowMs: [(v) => typeof v === 'number' && v >= 1000, 'at least 1000 (ms)'],
          openMs: nonNegative,
          halfOpenRequests: positiveInt,
        });
  const hedge =
    options.hedge === undefined || options.hedge === false
      ? false
      : fill(where, 'hedge', options.hedge, POOL_DEFAULTS.hedge, {
          percentile: [(v) => typeof v === 'number' && v > 0 && v < 100, 'a number between 0 and 100'],
          minDelayMs: nonNegative,
          minSamples: positiveInt,
        });
  return { strategy, hashKey, sessions, health, retry, timeouts, breaker, hedge };
}
