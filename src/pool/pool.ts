import { performance } from 'node:perf_hooks';
import type { McpTransport } from '../adapters/transport.js';
import type { JsonObject, JsonRpcMessage, JsonRpcRequest, RequestId } from '../core/types.js';
import { InvalidOptionError } from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import { type BreakerState, CircuitBreaker } from './breaker.js';
import { RetryBudget } from './budget.js';
import { hashString, rendezvous } from './hash.js';
import { LatencyWindow } from './latency.js';
import {
  type PoolEvent,
  type ResolvedPoolOptions,
  type RetryDeniedEvent,
  resolvePoolOptions,
  type UpstreamPoolOptions,
  type UpstreamSpec,
} from './options.js';

/**
 * JSON-RPC error codes the pool answers with (outside the protocol's reserved range,
 * next to the library's other codes; see docs/errors.md).
 */
export const PoolErrorCodes = {
  /** No upstream could take the request, or the one that had it failed and it could not be retried. */
  Unavailable: -31502,
  /** The upstream did not answer within the request's timeout. */
  Timeout: -31504,
} as const;

/**
 * Methods that change nothing on the server (or set the same thing twice): retried after
 * they may have run, and hedged.
 */
const SAFE_METHODS: ReadonlySet<string> = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
  'logging/setLevel',
]);

/** Error codes that mean the request never left this process. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_DESTROYED',
]);

const HEALTH_CLIENT = { name: 'mcp-perf-pool-health', version: '1' };
const HEALTH_PROTOCOL = '2025-06-18';

/**
 * What {@link UpstreamPool.stats} reports about one upstream. The counters run from the
 * time the upstream joined the pool; an upstream replaced by
 * {@link UpstreamPool.reconfigure} (same name, new address or command) keeps them.
 */
export interface UpstreamStats {
  /** Its name. */
  readonly name: string;
  /**
   * `up` (admitted: it takes requests), `ejected` (passive, until its cool-off ends) or
   * `down` (failed its active checks).
   */
  readonly state: 'up' | 'ejected' | 'down';
  /** Its circuit breaker's state (`closed` when the breaker is off). */
  readonly breaker: BreakerState;
  /** Requests sent and not answered yet. */
  readonly inFlight: number;
  /** Attempts sent to it (first attempts, retries and hedged copies). */
  readonly requests: number;
  /** Attempts that failed (transport error, closed connection, timeout). */
  readonly failures: number;
  /** Failed attempts on it that were retried (on another upstream). */
  readonly retries: number;
  /** Hedged copies sent to it. */
  readonly hedges: number;
  /** Times it was ejected, by reason. */
  readonly ejections: {
    /** For failures in a row. */
    readonly failures: number;
    /** For latency far above the pool's median. */
    readonly latency: number;
  };
  /** Its breaker's transitions, by the state entered. */
  readonly breakerTransitions: Readonly<Record<BreakerState, number>>;
  /** Median of its recent latencies in ms (NaN before the first answer). */
  readonly p50Ms: number;
}

/** What {@link UpstreamPool.stats} reports. */
export interface PoolStats {
  /** Per upstream, in the order given (the last {@link UpstreamPool.reconfigure}'s order). */
  readonly upstreams: readonly UpstreamStats[];
  /**
   * Upstreams removed or replaced by {@link UpstreamPool.reconfigure} that still have
   * requests in flight: they take no new ones, and their connections close when these end.
   */
  readonly draining: readonly {
    /** Its name. */
    readonly name: string;
    /** Requests still running on it. */
    readonly inFlight: number;
  }[];
  /** The retry budget over its window. */
  readonly budget: {
    /** Requests first sent. */
    readonly requests: number;
    /** Retries and hedges taken. */
    readonly retries: number;
    /** Retries and hedges it allows (`budget` × requests + `minPerSecond` × the window in seconds). */
    readonly allowed: number;
  };
  /** Requests retried or hedged since the pool started. */
  readonly retries: number;
  /** Hedged copies sent since the pool started. */
  readonly hedges: number;
  /** Failed requests (or hedges) not retried since the pool started, by reason (see {@link RetryDeniedEvent}). */
  readonly retriesDenied: Readonly<Record<RetryDeniedEvent['reason'], number>>;
  /** Successful {@link UpstreamPool.reconfigure} calls. */
  readonly reconfigurations: number;
}

/** What {@link UpstreamPool.reconfigure} changed in the list of upstreams, by name. */
export interface PoolChanges {
  /** New upstreams. */
  readonly added: readonly string[];
  /** Upstreams no longer listed: they take no new requests and close when their requests end. */
  readonly removed: readonly string[];
  /**
   * Upstreams listed under the same name with a different URL, command, arguments,
   * environment, working directory or transport function: these cannot change on a live
   * connection, so a new upstream takes the name (and its counters) while the old one
   * finishes its requests and closes.
   */
  readonly replaced: readonly string[];
  /** Upstreams kept as they were (their connections, breaker, health and latency too). */
  readonly kept: readonly string[];
}

/** Options of {@link UpstreamPool.transport}. */
export interface PoolTransportOptions {
  /** What the consistent-hash strategy hashes for this session (`hashKey: "session"`). Default: random. */
  key?: string;
}

/** A pool of upstreams that behaves as one. */
export interface UpstreamPool {
  /**
   * A transport for one downstream session: hand it to `client.connect()`, or to
   * `createProxy({ upstream })`. It opens connections to the upstreams as it needs them.
   */
  transport(options?: PoolTransportOptions): McpTransport;
  /** Live figures per upstream and for the retry budget: one object, built on each call. */
  stats(): PoolStats;
  /**
   * Applies new options to the running pool, without dropping a request: every option
   * but `upstreams` applies to requests that start from now on (requests running keep
   * the timeout they started with); upstreams are matched by name — new names join,
   * missing names are drained (no new requests; their connections close once their
   * requests end), and a name whose URL or command changed is replaced (see
   * {@link PoolChanges.replaced}). Upstreams that stay keep their connections, breaker
   * state, health and counters, and consistent hashing moves only the keys the change
   * requires (about 1/N when one of N joins). `onEvent` and `onerror` are kept unless given.
   *
   * Every option is checked before anything changes: on an invalid option this throws an
   * `InvalidOptionError` naming it and the pool runs on unchanged.
   */
  reconfigure(options: UpstreamPoolOptions): PoolChanges;
  /** Closes every session transport, the health checks and the upstream connections. */
  close(): Promise<void>;
}

/** An upstream's counters, which outlive a replacement of its connection by `reconfigure`. */
interface Counts {
  requests: number;
  failures: number;
  retries: number;
  hedges: number;
  ejections: { failures: number; latency: number };
  transitions: Record<BreakerState, number>;
}

function newCounts(): Counts {
  return {
    requests: 0,
    failures: 0,
    retries: 0,
    hedges: 0,
    ejections: { failures: 0, latency: 0 },
    transitions: { closed: 0, open: 0, 'half-open': 0 },
  };
}

/** An upstream before it joins: what `reconfigure` compares. */
interface Described {
  readonly name: string;
  /** Equal (`===`) for two specs that reach the same server the same way. */
  readonly identity: unknown;
  readonly open: () => Promise<McpTransport>;
}

class Member {
  inFlight = 0;
  consecutiveFailures = 0;
  ejectedUntil = 0;
  /** Ejections in a row (each doubles the cool-off). */
  streak = 0;
  /** Removed by `reconfigure`: no new requests; its connections close when the last one ends. */
  retired = false;
  readmittedAt = -Infinity;
  readmitTimer: NodeJS.Timeout | undefined;
  down = false;
  failedChecks = 0;
  health: HealthLane | undefined;
  readonly latency = new LatencyWindow(64);
  breaker: CircuitBreaker | undefined;

  readonly name: string;
  readonly identity: unknown;
  readonly open: () => Promise<McpTransport>;

  constructor(
    public index: number,
    described: Described,
    readonly counts: Counts = newCounts(),
  ) {
    this.name = described.name;
    this.identity = described.identity;
    this.open = described.open;
  }
}

/** One attempt of a downstream request on one upstream. */
interface Attempt {
  readonly call: Call | undefined;
  readonly lane: Lane;
  readonly member: Member;
  readonly trial: boolean;
  laneId: number;
  sentAt: number;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
  /** For the pool's own requests (handshake replay): gets the response or the failure. */
  readonly internal?: (response: JsonObject | undefined, error?: Error) => void;
}

/** A downstream request until it is answered. */
interface Call {
  readonly id: RequestId;
  readonly message: JsonRpcRequest;
  readonly method: string;
  readonly tool: string | undefined;
  readonly safe: boolean;
  readonly timeoutMs: number;
  readonly keyHash: number | undefined;
  readonly tried: Member[];
  readonly live: Attempt[];
  done: boolean;
  hedgeTimer: NodeJS.Timeout | undefined;
}

/** One session's connection to one upstream. */
class Lane {
  transport: McpTransport | undefined;
  ready = false;
  dead = false;
  /** The legacy handshake has been answered on this connection. */
  initialized = false;
  notified = false;
  waiting: Promise<void> | undefined;
  readonly pending = new Map<number, Attempt>();
  constructor(readonly member: Member) {}
}

/**
 * Creates a pool of upstream MCP servers (Streamable HTTP URLs, stdio commands, or
 * transports you build) that a client or a proxy uses as one upstream. Each request
 * picks an upstream by `strategy`; failed attempts fail over within a retry budget; slow
 * or failing upstreams are ejected and re-admitted; a breaker per upstream stops traffic
 * to one that keeps failing; safe reads can be hedged. See docs/pool.md.
 *
 * @example
 * ```ts
 * const pool = createUpstreamPool({
 *   upstreams: ['http://10.0.0.5:3000/mcp', 'http://10.0.0.6:3000/mcp', 'http://10.0.0.7:3000/mcp'],
 *   strategy: 'least-in-flight',
 *   hedge: { percentile: 95 },
 * });
 * const client = new Client({ name: 'app', version: '1.0.0' });
 * await client.connect(pool.transport());
 * ```
 */
export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const pool = new Pool();
  pool.reconfigure(options, 'createUpstreamPool');
  return pool;
}

const now = () => performance.now();

class Pool implements UpstreamPool {
  members: Member[] = [];
  seeds: number[] = [];
  /** Removed or replaced upstreams with requests still in flight. */
  readonly draining = new Set<Member>();
  o!: ResolvedPoolOptions;
  budget!: RetryBudget;
  readonly methodLatency = new Map<string, LatencyWindow>();
  /** Tool name → may run twice (from the annotations in `tools/list` results). */
  readonly toolSafety = new Map<string, boolean>();
  readonly sessions = new Set<PoolTransport>();
  retries = 0;
  hedges = 0;
  readonly denied = { budget: 0, unsafe: 0, attempts: 0 };
  private reconfigurations = 0;
  private rr = 0;
  private scratch = new Int32Array(0);
  private outlierTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private fetchPool: Promise<{ fetch: unknown; close(): Promise<void> }> | undefined;
  private onEvent: ((event: PoolEvent) => void) | undefined;
  onerror: ((error: Error) => void) | undefined;

  reconfigure(options: UpstreamPoolOptions, where = 'UpstreamPool.reconfigure'): PoolChanges {
    if (this.closed) throw new Error(`${where}: the pool is closed`);
    // Everything is checked before anything changes.
    const o = resolvePoolOptions(options, where);
    const specs = options.upstreams as readonly UpstreamSpec[] | undefined;
    if (!Array.isArray(specs) || specs.length === 0) {
      throw new InvalidOptionError(where, 'upstreams', 'a non-empty array', specs);
    }
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
      throw new InvalidOptionError(where, 'onEvent', 'a function', options.onEvent);
    }
    if (options.onerror !== undefined && typeof options.onerror !== 'function') {
      throw new InvalidOptionError(where, 'onerror', 'a function', options.onerror);
    }
    const described = specs.map((spec, i) => this.describe(spec, i, where));
    const names = new Set<string>();
    described.forEach((d, i) => {
      if (names.has(d.name)) throw new InvalidOptionError(where, `upstreams[${i}].name`, 'unique', d.name);
      names.add(d.name);
    });

    // Upstreams, matched by name.
    const previous = new Map(this.members.map((m) => [m.name, m]));
    const changes = {
      added: [] as string[],
      removed: [] as string[],
      replaced: [] as string[],
      kept: [] as string[],
    };
    this.members = described.map((d, i) => {
      const old = previous.get(d.name);
      previous.delete(d.name);
      if (old !== undefined && old.identity === d.identity) {
        old.index = i;
        changes.kept.push(d.name);
        return old;
      }
      if (old !== undefined) {
        changes.replaced.push(d.name);
        this.retire(old);
        return new Member(i, d, old.counts);
      }
      changes.added.push(d.name);
      return new Member(i, d);
    });
    for (const old of previous.values()) {
      changes.removed.push(old.name);
      this.retire(old);
    }
    this.seeds = this.members.map((m) => hashString(m.name));
    this.scratch = new Int32Array(this.members.length);
    this.rr %= this.members.length;

    const before = this.o;
    this.o = o;
    if (options.onEvent !== undefined) this.onEvent = options.onEvent;
    if (options.onerror !== undefined) this.onerror = options.onerror;
    if (this.budget === undefined || this.budget.windowMs !== o.retry.windowMs) {
      this.budget = new RetryBudget(o.retry.budget, o.retry.minPerSecond, o.retry.windowMs, now);
    } else this.budget.configure(o.retry.budget, o.retry.minPerSecond);
    for (const m of this.members) {
      if (o.breaker === false) m.breaker = undefined;
      else if (m.breaker !== undefined) m.breaker.reconfigure(o.breaker);
      else {
        const counts = m.counts.transitions;
        m.breaker = new CircuitBreaker(o.breaker, now, (from, to) => {
          counts[to]++;
          this.emit({ type: 'breaker', upstream: m.name, from, to });
        });
      }
      if (before !== undefined && before.health.method !== o.health.method) {
        m.health?.close();
        m.health = undefined;
      }
    }
    if (before === undefined || before.health.outlierIntervalMs !== o.health.outlierIntervalMs) {
      clearInterval(this.outlierTimer);
      this.outlierTimer = setInterval(() => this.findOutliers(), o.health.outlierIntervalMs);
      this.outlierTimer.unref();
    }
    if (before === undefined || before.health.intervalMs !== o.health.intervalMs) {
      clearInterval(this.checkTimer);
      this.checkTimer = undefined;
      if (o.health.intervalMs > 0) {
        this.checkTimer = setInterval(() => {
          for (const m of this.members) void this.check(m);
        }, o.health.intervalMs);
        this.checkTimer.unref();
      }
    }
    if (before !== undefined) this.reconfigurations++;
    return changes;
  }

  /** Takes `m` out of the pool: no new requests; its connections close when its last request ends. */
  private retire(m: Member): void {
    m.retired = true;
    clearTimeout(m.readmitTimer);
    m.health?.close();
    m.health = undefined;
    if (m.inFlight === 0) this.drained(m);
    else this.draining.add(m);
  }

  /** A retired upstream's last request ended: close its connections. */
  drained(m: Member): void {
    this.draining.delete(m);
    for (const session of this.sessions) session.closeLane(m);
  }

  private describe(spec: UpstreamSpec, i: number, where: string): Described {
    const option = `upstreams[${i}]`;
    const bad = () =>
      new InvalidOptionError(
        where,
        option,
        'a URL, { url }, { command, args? } or { transport: () => Transport }',
        spec,
      );
    if (typeof spec === 'string' || (typeof spec === 'object' && spec !== null && 'url' in spec)) {
      const text = typeof spec === 'string' ? spec : spec.url;
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw bad();
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad();
      const name = typeof spec === 'string' ? url.href : (spec.name ?? url.href);
      if (typeof name !== 'string' || name === '') throw bad();
      return {
        name,
        identity: `url ${url.href}`,
        open: async () => {
          const [{ httpUpstream }, pool] = await Promise.all([
            import('../cli/upstream.js'),
            this.sharedFetch(),
          ]);
          return httpUpstream(url, pool.fetch as Parameters<typeof httpUpstream>[1]);
        },
      };
    }
    if (typeof spec === 'object' && spec !== null && 'command' in spec) {
      if (typeof spec.command !== 'string' || spec.command === '') throw bad();
      const args = [...(spec.args ?? [])];
      const name = spec.name ?? [spec.command, ...args].join(' ');
      if (typeof name !== 'string' || name === '') throw bad();
      const env = spec.env === undefined ? undefined : { ...spec.env };
      const identity = `command ${JSON.stringify([spec.command, args, env ?? null, spec.cwd ?? null])}`;
      return {
        name,
        identity,
        open: async () => {
          const { StdioClientTransport, getDefaultEnvironment } = await import(
            '@modelcontextprotocol/sdk/client/stdio.js'
          );
          return new StdioClientTransport({
            command: spec.command,
            args,
            env: { ...getDefaultEnvironment(), ...env },
            cwd: spec.cwd,
            stderr: 'inherit',
          });
        },
      };
    }
    if (typeof spec === 'object' && spec !== null && typeof spec.transport === 'function') {
      const build = spec.transport;
      const name = spec.name ?? `upstream-${i}`;
      if (typeof name !== 'string' || name === '') throw bad();
      return {
        name,
        identity: build,
        open: async () => {
          const t = build();
          if (typeof t?.send !== 'function' || typeof t.start !== 'function') {
            throw new InvalidOptionError(where, `${option}.transport()`, 'an MCP transport', t);
          }
          return t;
        },
      };
    }
    throw bad();
  }

  private sharedFetch() {
    this.fetchPool ??= import('../cli/upstream.js').then(({ pooledFetch }) => pooledFetch());
    return this.fetchPool;
  }

  emit(event: PoolEvent): void {
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(event);
    } catch (error) {
      this.onerror?.(asError(error));
    }
  }

  available(m: Member, now: number): boolean {
    return !m.down && !m.retired && now >= m.ejectedUntil && (m.breaker === undefined || m.breaker.allows());
  }

  /** A failed request (or a hedge) is not retried. */
  deny(method: string, reason: 'budget' | 'unsafe' | 'attempts'): void {
    this.denied[reason]++;
    this.emit({ type: 'retry-denied', method, reason });
  }

  /**
   * Picks an upstream, skipping `tried`: by `keyHash` when given (rendezvous hashing),
   * else by the strategy. When every untried upstream is ejected or down, one of them is
   * used anyway (better a doubtful upstream than none), but never one whose breaker is open.
   */
  pick(tried: readonly Member[], keyHash: number | undefined): Member | undefined {
    const now = performance.now();
    const members = this.members;
    let n = 0;
    for (const m of members) if (!tried.includes(m) && this.available(m, now)) this.scratch[n++] = m.index;
    if (n === 0) {
      for (const m of members) {
        if (!tried.includes(m) && (m.breaker === undefined || m.breaker.allows()))
          this.scratch[n++] = m.index;
      }
      if (n === 0) return undefined;
    }
    if (n === 1) return members[this.scratch[0]!];
    if (keyHash !== undefined) {
      const usable = this.scratch.subarray(0, n);
      const i = rendezvous(keyHash, this.seeds, (j) => usable.includes(j));
      return members[i];
    }
    if (this.o.strategy === 'round-robin') {
      // The next upstream in order after the last one picked.
      const start = this.rr;
      let best = -1;
      for (let k = 0; k < n; k++) {
        const i = this.scratch[k]!;
        const distance = (i - start + members.length) % members.length;
        if (best === -1 || distance < (best - start + members.length) % members.length) best = i;
      }
      this.rr = (best + 1) % members.length;
      return members[best];
    }
    // Power of two choices: two distinct random candidates, the one with fewer in flight.
    const a = Math.floor(Math.random() * n);
    let b = Math.floor(Math.random() * (n - 1));
    if (b >= a) b++;
    const ma = members[this.scratch[a]!]!;
    const mb = members[this.scratch[b]!]!;
    return mb.inFlight < ma.inFlight ? mb : ma;
  }

  /** The hash to route `message` by, when the strategy hashes; `session` is the session's own. */
  keyHash(message: JsonRpcRequest, session: number): number | undefined {
    if (this.o.strategy !== 'consistent-hash') return undefined;
    const key = this.o.hashKey;
    if (key === 'session') return session;
    const params = message.params as Record<string, unknown> | undefined;
    if (typeof key === 'function') {
      const value = key(message.method, params);
      return value === undefined ? undefined : hashString(value);
    }
    if (message.method !== 'tools/call') return undefined;
    const value = (params?.arguments as Record<string, unknown> | undefined)?.[key.argument];
    if (value === undefined || value === null) return undefined;
    return hashString(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** May this tool run twice? The user's word first, then (if trusted) its annotations. */
  toolIsSafe(tool: string): boolean {
    const policy = this.o.retry.tools;
    const said = typeof policy === 'function' ? policy(tool) : policy?.[tool];
    if (said !== undefined) return said;
    return this.o.retry.trustAnnotations && this.toolSafety.get(tool) === true;
  }

  learnTools(result: JsonObject): void {
    const tools = result.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools as { name?: unknown; annotations?: Record<string, unknown> }[]) {
      if (typeof tool?.name !== 'string') continue;
      const a = tool.annotations;
      this.toolSafety.set(tool.name, a?.readOnlyHint === true || a?.idempotentHint === true);
    }
  }

  timeoutFor(method: string, tool: string | undefined): number {
    const t = this.o.timeouts;
    if (tool !== undefined) {
      const ms = t.tools[tool];
      if (ms !== undefined) return ms;
    }
    return t.methods[method] ?? t.defaultMs;
  }

  latencyOf(method: string, tool: string | undefined): LatencyWindow {
    const key = tool === undefined ? method : `tools/call:${tool}`;
    let window = this.methodLatency.get(key);
    if (window === undefined) {
      window = new LatencyWindow(128);
      this.methodLatency.set(key, window);
    }
    return window;
  }

  succeeded(m: Member, ms: number, trial: boolean): void {
    m.consecutiveFailures = 0;
    m.latency.add(ms);
    m.breaker?.record(true, trial);
  }

  failed(m: Member, trial: boolean): void {
    m.counts.failures++;
    m.breaker?.record(false, trial);
    if (++m.consecutiveFailures >= this.o.health.ejectAfterFailures) this.eject(m, 'failures');
  }

  eject(m: Member, reason: 'failures' | 'latency'): void {
    const now = performance.now();
    if (now < m.ejectedUntil || this.closed) return;
    const h = this.o.health;
    let ejected = 0;
    for (const other of this.members) if (now < other.ejectedUntil) ejected++;
    const most = Math.min(
      this.members.length - 1,
      Math.floor((this.members.length * h.maxEjectedPercent) / 100),
    );
    if (ejected + 1 > most) return;
    if (now - m.readmittedAt > 2 * h.cooloffMs) m.streak = 0;
    m.streak++;
    m.counts.ejections[reason]++;
    const ms = h.cooloffMs * Math.min(2 ** (m.streak - 1), 10);
    m.ejectedUntil = now + ms;
    m.consecutiveFailures = 0;
    this.emit({ type: 'eject', upstream: m.name, reason, untilMs: ms });
    clearTimeout(m.readmitTimer);
    m.readmitTimer = setTimeout(() => {
      m.readmitTimer = undefined;
      m.latency.reset();
      m.readmittedAt = performance.now();
      this.emit({ type: 'readmit', upstream: m.name });
    }, ms);
    m.readmitTimer.unref();
  }

  /** Ejects upstreams whose recent median latency is far above the pool's. */
  findOutliers(): void {
    const now = performance.now();
    const h = this.o.health;
    const medians: number[] = [];
    const judged: [Member, number][] = [];
    for (const m of this.members) {
      if (now < m.ejectedUntil || m.down || m.latency.count < h.minSamples) continue;
      const median = m.latency.quantile(0.5);
      medians.push(median);
      judged.push([m, median]);
    }
    if (judged.length < 2) return;
    medians.sort((a, b) => a - b);
    const poolMedian = medians[(medians.length - 1) >> 1]!;
    for (const [m, median] of judged) {
      if (median > h.latencyFactor * poolMedian) this.eject(m, 'latency');
    }
  }

  /** One active health check of `m`. */
  async check(m: Member): Promise<void> {
    if (this.closed) return;
    const h = this.o.health;
    let error: Error | undefined;
    try {
      m.health ??= new HealthLane(m, this, h.method);
      await m.health.check(h.timeoutMs);
    } catch (e) {
      error = asError(e);
      m.health?.close();
      m.health = undefined;
    }
    if (this.closed) return;
    if (error === undefined) {
      m.failedChecks = 0;
      if (m.down) {
        m.down = false;
        this.emit({ type: 'health', upstream: m.name, healthy: true });
      }
    } else if (++m.failedChecks >= h.unhealthyAfter && !m.down) {
      m.down = true;
      this.emit({ type: 'health', upstream: m.name, healthy: false, error: error.message });
    }
  }

  transport(options: PoolTransportOptions = {}): McpTransport {
    if (this.closed) throw new Error('createUpstreamPool: the pool is closed');
    if (options.key !== undefined && typeof options.key !== 'string') {
      throw new InvalidOptionError('UpstreamPool.transport', 'key', 'a string', options.key);
    }
    const session = new PoolTransport(this, options.key ?? `${Math.random()}:${performance.now()}`);
    this.sessions.add(session);
    return session;
  }

  stats(): PoolStats {
    const now = performance.now();
    return {
      upstreams: this.members.map((m) => {
        const c = m.counts;
        return {
          name: m.name,
          state: m.down ? 'down' : now < m.ejectedUntil ? 'ejected' : 'up',
          breaker: breakerState(m.breaker),
          inFlight: m.inFlight,
          requests: c.requests,
          failures: c.failures,
          retries: c.retries,
          hedges: c.hedges,
          ejections: { ...c.ejections },
          breakerTransitions: { ...c.transitions },
          p50Ms: m.latency.quantile(0.5),
        };
      }),
      draining: [...this.draining].map((m) => ({ name: m.name, inFlight: m.inFlight })),
      budget: this.budget.snapshot(),
      retries: this.retries,
      hedges: this.hedges,
      retriesDenied: { ...this.denied },
      reconfigurations: this.reconfigurations,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.outlierTimer);
    clearInterval(this.checkTimer);
    for (const m of this.members) {
      clearTimeout(m.readmitTimer);
      m.health?.close();
    }
    await Promise.allSettled([...this.sessions].map((s) => s.close()));
    const fetchPool = this.fetchPool;
    if (fetchPool !== undefined) await fetchPool.then((p) => p.close()).catch(() => undefined);
  }
}

/** The connection active health checks use: its own handshake, then `ping` (or `server/discover`). */
class HealthLane {
  private transport: Promise<McpTransport>;
  private nextId = 1;
  private readonly waiting = new Map<number, (message: JsonObject | Error) => void>();
  private closed = false;

  constructor(
    member: Member,
    pool: Pool,
    private readonly method: 'ping' | 'server/discover',
  ) {
    this.transport = (async () => {
      const t = await member.open();
      t.onmessage = (message: JsonObject) => {
        if (!('id' in message) || 'method' in message) return;
        const done = this.waiting.get(message.id as number);
        if (done === undefined) return;
        this.waiting.delete(message.id as number);
        done(message);
      };
      t.onerror = (error) => pool.onerror?.(error);
      t.onclose = () => {
        this.closed = true;
        for (const done of this.waiting.values()) done(new Error(`connection to ${member.name} closed`));
        this.waiting.clear();
      };
      await t.start();
      if (method === 'ping') {
        await this.request(t, 'initialize', {
          protocolVersion: HEALTH_PROTOCOL,
          capabilities: {},
          clientInfo: HEALTH_CLIENT,
        });
        t.setProtocolVersion?.(HEALTH_PROTOCOL);
        await t.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      }
      return t;
    })();
    this.transport.catch(() => undefined);
  }

  private request(t: McpTransport, method: string, params?: JsonObject, timeoutMs = 10_000): Promise<void> {
    if (this.closed) return Promise.reject(new Error('health connection closed'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${method} not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (message) => {
        clearTimeout(timer);
        if (message instanceof Error) return reject(message);
        const error = message.error as { message?: string } | undefined;
        if (error !== undefined) reject(new Error(`${method} failed: ${error.message}`));
        else resolve();
      });
      t.send(
        params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params },
      ).then(undefined, (e: unknown) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(asError(e));
      });
    });
  }

  async check(timeoutMs: number): Promise<void> {
    const t = await this.transport;
    await this.request(t, this.method, this.method === 'ping' ? undefined : {}, timeoutMs);
  }

  close(): void {
    this.closed = true;
    this.transport.then((t) => t.close()).catch(() => undefined);
  }
}

function breakerState(breaker: CircuitBreaker | undefined): BreakerState {
  if (breaker === undefined) return 'closed';
  breaker.allows();
  return breaker.state;
}

function notSent(error: unknown): boolean {
  let e = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
    if (e instanceof Error && /not connected/i.test(e.message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

type Failure = 'not-sent' | 'lost' | 'timeout';

/** The transport of one downstream session over the pool. */
class PoolTransport implements McpTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage, extra?: unknown) => void;
  private readonly lanes = new Map<Member, Lane>();
  private readonly calls = new Map<RequestId, Call>();
  private readonly serverRequests = new Map<string, { lane: Lane; id: RequestId }>();
  private readonly sessionHash: number;
  private home: Member | undefined;
  private legacy = false;
  private initParams: JsonObject | undefined;
  private initializedSeen = false;
  private protocolVersion: string | undefined;
  private nextId = 1;
  private nextServerId = 1;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    key: string,
  ) {
    this.sessionHash = hashString(key);
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    for (const lane of this.lanes.values()) if (lane.ready) lane.transport!.setProtocolVersion?.(version);
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.closed) throw new Error('the pool transport is closed');
    const m = message as { id?: RequestId; method?: string; params?: JsonObject };
    if (m.method !== undefined) {
      if (m.id !== undefined) this.request(message as JsonRpcRequest);
      else this.notification(m.method, message);
      return;
    }
    // An answer to a request an upstream sent (sampling, elicitation, roots).
    const to = this.serverRequests.get(m.id as string);
    if (to === undefined) return;
    this.serverRequests.delete(m.id as string);
    if (!to.lane.dead) await to.lane.transport!.send({ ...message, id: to.id });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pool.sessions.delete(this);
    for (const call of this.calls.values()) this.drop(call, undefined);
    this.calls.clear();
    const closing: Promise<void>[] = [];
    for (const lane of this.lanes.values()) {
      lane.dead = true;
      if (lane.transport !== undefined) closing.push(lane.transport.close());
      else lane.waiting?.then(() => lane.transport?.close()).catch(() => undefined);
    }
    await Promise.allSettled(closing);
    this.onclose?.();
  }

  /** Closes this session's connection to `member` (retired, with nothing in flight). */
  closeLane(member: Member): void {
    const lane = this.lanes.get(member);
    if (lane === undefined) return;
    this.lanes.delete(member);
    lane.dead = true;
    lane.ready = false;
    if (lane.transport !== undefined) lane.transport.close().catch(() => undefined);
    else lane.waiting?.then(() => lane.transport?.close()).catch(() => undefined);
  }

  private notification(method: string, message: JsonRpcMessage): void {
    if (method === 'notifications/cancelled') {
      const id = (message as { params?: { requestId?: RequestId } }).params?.requestId;
      const call = id === undefined ? undefined : this.calls.get(id);
      if (call !== undefined) {
        this.calls.delete(call.id);
        this.drop(call, 'cancelled by the client');
      }
      return;
    }
    if (method === 'notifications/initialized') {
      this.initializedSeen = true;
      for (const lane of this.lanes.values()) {
        if (lane.ready && lane.initialized && !lane.notified) {
          lane.notified = true;
          lane.transport!.send(message).catch((e: unknown) => this.pool.onerror?.(asError(e)));
        }
      }
      return;
    }
    for (const lane of this.lanes.values()) {
      if (lane.ready) lane.transport!.send(message).catch((e: unknown) => this.pool.onerror?.(asError(e)));
    }
  }

  private request(message: JsonRpcRequest): void {
    const pool = this.pool;
    const method = message.method;
    let tool: string | undefined;
    let safe = SAFE_METHODS.has(method);
    if (method === 'tools/call') {
      const name = message.params?.name;
      tool = typeof name === 'string' ? name : '';
      safe = pool.toolIsSafe(tool);
    }
    if (method === 'initialize') {
      this.legacy = true;
      this.initParams = message.params;
    }
    const call: Call = {
      id: message.id,
      message,
      method,
      tool,
      safe,
      timeoutMs: pool.timeoutFor(method, tool),
      keyHash: pool.keyHash(message, this.sessionHash),
      tried: [],
      live: [],
      done: false,
      hedgeTimer: undefined,
    };
    pool.budget.request();
    this.calls.set(message.id, call);
    this.attempt(call);
  }

  /** The upstream for the next attempt of `call`. */
  private route(call: Call): Member | undefined {
    const pool = this.pool;
    const sticky = this.legacy && pool.o.sessions === 'sticky';
    if (!sticky || call.method === 'initialize') return pool.pick(call.tried, call.keyHash);
    const home = this.home;
    if (home !== undefined && !call.tried.includes(home) && pool.available(home, performance.now()))
      return home;
    // Failover: the session moves to another upstream (its handshake is replayed there).
    const next = pool.pick(call.tried, pool.o.strategy === 'consistent-hash' ? this.sessionHash : undefined);
    if (next !== undefined) this.home = next;
    return next;
  }

  private attempt(call: Call, chosen?: Member): void {
    const member = chosen ?? this.route(call);
    if (member === undefined) {
      const tried = call.tried.map((m) => m.name).join(', ');
      this.fail(
        call,
        -31502,
        tried === ''
          ? `no upstream can take ${call.method} now (every one is out or its breaker is open)`
          : `${call.method} failed on ${tried} and no other upstream can take it`,
      );
      return;
    }
    call.tried.push(member);
    const lane = this.lanes.get(member) ?? this.openLane(member, call.method === 'initialize');
    const attempt: Attempt = {
      call,
      lane,
      member,
      trial: member.breaker?.onSend() ?? false,
      laneId: 0,
      sentAt: 0,
      timer: undefined,
      done: false,
    };
    member.inFlight++;
    member.counts.requests++;
    call.live.push(attempt);
    if (lane.ready) this.dispatch(attempt);
    else
      lane.waiting!.then(
        () => this.dispatch(attempt),
        (error: unknown) => this.attemptFailed(attempt, 'not-sent', asError(error)),
      );
  }

  private openLane(member: Member, forInitialize: boolean): Lane {
    const lane = new Lane(member);
    this.lanes.set(member, lane);
    lane.waiting = this.prepare(lane, forInitialize);
    lane.waiting.catch(() => {
      lane.dead = true;
      if (this.lanes.get(member) === lane) this.lanes.delete(member);
    });
    return lane;
  }

  private async prepare(lane: Lane, forInitialize: boolean): Promise<void> {
    const t = await lane.member.open();
    lane.transport = t;
    t.onmessage = (message: JsonRpcMessage) => this.fromLane(lane, message);
    t.onerror = (error) => this.pool.onerror?.(error);
    t.onclose = () => this.laneClosed(lane);
    await t.start();
    if (this.closed || lane.dead) {
      await t.close();
      throw new Error('the session closed');
    }
    if (this.protocolVersion !== undefined) t.setProtocolVersion?.(this.protocolVersion);
    if (this.legacy && !forInitialize && this.initParams !== undefined) {
      // A legacy session moving to (or spreading over) this upstream: replay its handshake.
      const timeoutMs = this.pool.timeoutFor('initialize', undefined);
      await new Promise<void>((resolve, reject) => {
        const id = this.nextId++;
        const timer =
          timeoutMs > 0
            ? setTimeout(() => {
                lane.pending.delete(id);
                reject(new Error(`initialize not answered by ${lane.member.name} within ${timeoutMs} ms`));
              }, timeoutMs)
            : undefined;
        const attempt: Attempt = {
          call: undefined,
          lane,
          member: lane.member,
          trial: false,
          laneId: id,
          sentAt: 0,
          timer: undefined,
          done: false,
          internal: (response, error) => {
            clearTimeout(timer);
            if (error !== undefined) reject(error);
            else if (response?.error !== undefined) {
              reject(
                new Error(`initialize failed on ${lane.member.name}: ${JSON.stringify(response.error)}`),
              );
            } else resolve();
          },
        };
        lane.pending.set(id, attempt);
        t.send({ jsonrpc: '2.0', id, method: 'initialize', params: this.initParams }).then(undefined, reject);
      });
      lane.initialized = true;
      if (this.protocolVersion !== undefined) t.setProtocolVersion?.(this.protocolVersion);
      if (this.initializedSeen) {
        lane.notified = true;
        await t.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      }
    }
    lane.ready = true;
  }

  private dispatch(attempt: Attempt): void {
    if (attempt.done) return;
    const { call, lane } = attempt;
    if (lane.dead) return this.attemptFailed(attempt, 'not-sent', new Error('connection closed'));
    const c = call!;
    const id = this.nextId++;
    attempt.laneId = id;
    lane.pending.set(id, attempt);
    attempt.sentAt = performance.now();
    if (c.timeoutMs > 0) attempt.timer = setTimeout(onAttemptTimeout, c.timeoutMs, this, attempt);
    lane.transport!.send({ ...c.message, id }).then(undefined, (error: unknown) => {
      this.attemptFailed(attempt, notSent(error) ? 'not-sent' : 'lost', asError(error));
    });
    const hedge = this.pool.o.hedge;
    if (
      hedge !== false &&
      c.safe &&
      c.tried.length === 1 &&
      c.method !== 'initialize' &&
      !(this.legacy && this.pool.o.sessions === 'sticky')
    ) {
      const window = this.pool.latencyOf(c.method, c.tool);
      if (window.count >= hedge.minSamples) {
        const delay = Math.max(hedge.minDelayMs, window.tail(hedge.percentile / 100));
        c.hedgeTimer = setTimeout(onHedgeTimer, delay, this, c, delay);
      }
    }
  }

  /** Sends a hedged copy of a slow safe read to another upstream. */
  hedge(call: Call, afterMs: number): void {
    call.hedgeTimer = undefined;
    if (call.done || call.live.length !== 1 || this.closed) return;
    const member = this.pool.pick(call.tried, call.keyHash);
    if (member === undefined) return;
    if (!this.pool.budget.tryRetry()) {
      this.pool.deny(call.method, 'budget');
      return;
    }
    member.counts.hedges++;
    this.pool.hedges++;
    this.pool.retries++;
    this.pool.emit({ type: 'hedge', upstream: member.name, method: call.method, afterMs });
    this.attempt(call, member);
  }

  private fromLane(lane: Lane, message: JsonRpcMessage): void {
    const m = message as { id?: RequestId; method?: string; result?: JsonObject; error?: unknown };
    if (m.method === undefined) {
      const attempt = lane.pending.get(m.id as number);
      if (attempt === undefined) return;
      lane.pending.delete(m.id as number);
      if (attempt.internal !== undefined) return attempt.internal(message as unknown as JsonObject);
      this.answered(attempt, message);
      return;
    }
    if (m.id !== undefined) {
      // A request from the upstream: give it an id unique across upstreams.
      const id = `pool-${this.nextServerId++}`;
      this.serverRequests.set(id, { lane, id: m.id });
      this.onmessage?.({ ...message, id } as JsonRpcMessage);
      return;
    }
    this.onmessage?.(message);
  }

  private answered(attempt: Attempt, message: JsonRpcMessage): void {
    if (attempt.done) return;
    const ms = performance.now() - attempt.sentAt;
    this.release(attempt);
    this.pool.succeeded(attempt.member, ms, attempt.trial);
    const call = attempt.call!;
    if (call.done) return;
    this.pool.latencyOf(call.method, call.tool).add(ms);
    this.finish(call, 'answered by another upstream');
    const m = message as { result?: JsonObject };
    if (m.result !== undefined) {
      if (call.method === 'tools/list') this.pool.learnTools(m.result);
      else if (call.method === 'initialize') {
        attempt.lane.initialized = true;
        this.home = attempt.member;
      }
    }
    this.onmessage?.({ ...message, id: call.id } as JsonRpcMessage);
  }

  /** An attempt ended: it no longer counts in flight. */
  private release(attempt: Attempt): void {
    attempt.done = true;
    clearTimeout(attempt.timer);
    const member = attempt.member;
    if (--member.inFlight === 0 && member.retired) this.pool.drained(member);
    const live = attempt.call?.live;
    if (live !== undefined) {
      const i = live.indexOf(attempt);
      if (i !== -1) live.splice(i, 1);
    }
    if (attempt.laneId !== 0) attempt.lane.pending.delete(attempt.laneId);
  }

  /** `call` is settled: stop its hedge timer and cancel its other attempts upstream. */
  private finish(call: Call, reason: string): void {
    call.done = true;
    clearTimeout(call.hedgeTimer);
    this.calls.delete(call.id);
    for (const other of [...call.live]) this.cancel(other, reason);
  }

  private cancel(attempt: Attempt, reason: string): void {
    const sent = attempt.laneId !== 0;
    this.release(attempt);
    attempt.member.breaker?.abandon(attempt.trial);
    const lane = attempt.lane;
    if (sent && !lane.dead) {
      lane
        .transport!.send({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: attempt.laneId, reason },
        })
        .catch(() => undefined);
    }
  }

  /** Drops `call` without answering (the client cancelled it or the session closed). */
  private drop(call: Call, reason: string | undefined): void {
    call.done = true;
    clearTimeout(call.hedgeTimer);
    for (const attempt of [...call.live]) {
      if (reason === undefined) {
        this.release(attempt);
        attempt.member.breaker?.abandon(attempt.trial);
      } else this.cancel(attempt, reason);
    }
  }

  timedOut(attempt: Attempt): void {
    attempt.timer = undefined;
    if (attempt.done) return;
    const call = attempt.call!;
    const { lane, laneId } = attempt;
    if (!lane.dead) {
      lane
        .transport!.send({
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: laneId, reason: `timed out after ${call.timeoutMs} ms` },
        })
        .catch(() => undefined);
    }
    this.attemptFailed(attempt, 'timeout', new Error(`no answer within ${call.timeoutMs} ms`));
  }

  private attemptFailed(attempt: Attempt, kind: Failure, error: Error): void {
    if (attempt.done) return;
    this.release(attempt);
    const pool = this.pool;
    const member = attempt.member;
    pool.failed(member, attempt.trial);
    const call = attempt.call;
    if (call === undefined || call.done || this.closed) return;
    // Another copy (a hedge) is still running: let it answer.
    if (call.live.length > 0) return;
    let denied: 'unsafe' | 'attempts' | 'budget' | undefined;
    if (kind !== 'not-sent' && !call.safe) denied = 'unsafe';
    else if (call.tried.length >= pool.o.retry.attempts) denied = 'attempts';
    else if (!pool.budget.tryRetry()) denied = 'budget';
    if (denied === undefined) {
      pool.retries++;
      member.counts.retries++;
      pool.emit({
        type: 'retry',
        upstream: member.name,
        method: call.method,
        reason: `${kind}: ${error.message}`,
      });
      this.attempt(call);
      return;
    }
    pool.deny(call.method, denied);
    const what = call.tool === undefined ? call.method : `tools/call ${call.tool}`;
    if (kind === 'timeout') {
      this.fail(
        call,
        PoolErrorCodes.Timeout,
        `${member.name} did not answer ${what} within ${call.timeoutMs} ms`,
        {
          upstream: member.name,
          timeoutMs: call.timeoutMs,
        },
      );
      return;
    }
    const why =
      denied === 'unsafe'
        ? ' (not retried: it may have run, and it is not marked safe to run twice)'
        : denied === 'budget'
          ? ' (not retried: the retry budget is spent)'
          : '';
    this.fail(call, PoolErrorCodes.Unavailable, `${what} failed on ${member.name}: ${error.message}${why}`, {
      upstream: member.name,
    });
  }

  private fail(call: Call, code: number, message: string, data?: JsonObject): void {
    this.finish(call, 'failed');
    this.onmessage?.({
      jsonrpc: '2.0',
      id: call.id,
      error: data === undefined ? { code, message } : { code, message, data },
    } as JsonRpcMessage);
  }

  private laneClosed(lane: Lane): void {
    if (lane.dead && this.closed) return;
    lane.dead = true;
    lane.ready = false;
    if (this.lanes.get(lane.member) === lane) this.lanes.delete(lane.member);
    for (const [id, req] of this.serverRequests) if (req.lane === lane) this.serverRequests.delete(id);
    const error = new Error(`connection to ${lane.member.name} closed`);
    for (const attempt of [...lane.pending.values()]) {
      lane.pending.delete(attempt.laneId);
      if (attempt.internal !== undefined) attempt.internal(undefined, error);
      else this.attemptFailed(attempt, 'lost', error);
    }
  }
}

function onAttemptTimeout(session: PoolTransport, attempt: Attempt): void {
  session.timedOut(attempt);
}

function onHedgeTimer(session: PoolTransport, call: Call, afterMs: number): void {
  session.hedge(call, afterMs);
}
