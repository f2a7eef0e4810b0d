/**
 * The metrics middleware: latency histograms, outcome counters, cache, token and byte
 * counts per method and per tool, on either side of a connection.
 *
 * @module
 */

import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import { Context, observeNext } from '../../core/context.js';
import { passesThrough } from '../../core/pipeline.js';
import type { Reply, RequestContext, Side } from '../../core/types.js';
import { ErrorCodes, InvalidOptionError } from '../../errors/index.js';
import { now } from '../../internal/clock.js';
import { functionOption, integerOption, positiveInteger } from '../../internal/validate.js';
import { approximateTokenCounter } from '../../tokens/approximate.js';
import { exactTokenCounter } from '../../tokens/exact.js';
import type { TokenCounter } from '../../tokens/types.js';
import { countRequestTokens, countResultTokens } from '../../tokens/visible.js';
import { type Classified, classifyReply, classifyThrown } from './classify.js';
import { summarize } from './histogram.js';
import { bindInternals } from './internals.js';
import { renderReport } from './report.js';
import {
  CACHE_STATUSES,
  type CacheStatus,
  OK,
  type OperationStats,
  OTHER,
  OUTCOMES,
  type Outcome,
  SHED,
  type SideStats,
  StatsRegistry,
} from './stats.js';

export type { LatencySummary } from './histogram.js';
export {
  METRICS_DEFAULTS,
  type MetricsOptions,
  type MetricsSource,
  type SlowRequestEvent,
} from './options.js';
export type { CacheStatus, Outcome } from './stats.js';
export type {
  ByteFigures,
  MetricsMiddleware,
  MetricsSnapshot,
  OperationSnapshot,
  TokenFigures,
} from './types.js';

import { METRICS_DEFAULTS, type MetricsOptions, type MetricsSource } from './options.js';
import type { MetricsMiddleware, MetricsSnapshot, OperationSnapshot, TokenFigures } from './types.js';

const WHERE = 'metrics';

function nonNegative(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new InvalidOptionError(WHERE, option, 'a non-negative number', value);
  }
  return value;
}

function resolveCounter(value: unknown): TokenCounter | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === 'approximate') return approximateTokenCounter();
  if (value === 'exact') return exactTokenCounter();
  if (typeof value === 'object' && value !== null && typeof (value as TokenCounter).count === 'function') {
    return value as TokenCounter;
  }
  throw new InvalidOptionError(WHERE, 'tokens', "false, 'approximate', 'exact' or a TokenCounter", value);
}

function resolveSources(value: unknown): MetricsSource[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidOptionError(WHERE, 'sources', 'an array of sources', value);
  value.forEach((source: unknown, i) => {
    const s = source as MetricsSource | null;
    // A function with a name and stats() counts too: the HTTP encoding layers are functions.
    const shaped = (typeof s === 'object' && s !== null) || typeof s === 'function';
    if (!shaped || typeof s.name !== 'string' || typeof s.stats !== 'function') {
      throw new InvalidOptionError(
        WHERE,
        `sources[${i}]`,
        'an object with a name and a stats() method',
        source,
      );
    }
  });
  return [...value];
}

/** Read in place of a request's state bag when no middleware created one. */
const NO_STATE: Readonly<Record<string, unknown>> = Object.freeze({});

const CACHE_INDEX: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(CACHE_STATUSES.map((s, i) => [s, i])),
);

function outcomeRecord(counts: ArrayLike<number>): Record<Outcome, number> {
  const out = {} as Record<Outcome, number>;
  OUTCOMES.forEach((o, i) => {
    out[o] = counts[i] ?? 0;
  });
  return out;
}

function cacheRecord(counts: ArrayLike<number>): Record<CacheStatus, number> {
  const out = {} as Record<CacheStatus, number>;
  CACHE_STATUSES.forEach((s, i) => {
    out[s] = counts[i] ?? 0;
  });
  return out;
}

/**
 * The numeric fields of a source's `stats()`, flattened: nested objects (up to four
 * levels) give dotted names, e.g. `scopes.global.queued`.
 */
export function numericStats(source: MetricsSource): Record<string, number> {
  const out: Record<string, number> = {};
  const visit = (value: unknown, path: string, depth: number): void => {
    if (typeof value === 'number') {
      if (Number.isFinite(value) && path !== '') out[path] = value;
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value) || depth > 4) return;
    for (const [key, inner] of Object.entries(value))
      visit(inner, path === '' ? key : `${path}.${key}`, depth + 1);
  };
  visit(source.stats(), '', 0);
  return out;
}

/**
 * Creates the metrics middleware. Put it first (outermost) in the stack so that it sees
 * every request, including those a cache answers or a limiter sheds, and measures the
 * whole time the caller waits.
 *
 * Recording costs a few hundred nanoseconds per request and allocates nothing beyond the
 * request's own promise: each (side, method, tool) gets its histograms on first sight,
 * found again through two Map lookups. Latency is kept in HdrHistograms (microseconds,
 * 1 µs … `maxLatencyMs`, `significantDigits`), cumulatively per outcome and over a recent
 * window of `windowSlots` rotating sub-histograms, rotated lazily (no timer).
 *
 * Outcomes: `ok`; `tool_error` (a `tools/call` result with `isError: true`);
 * `protocol_error` (a JSON-RPC error response, or a middleware failure); `shed`
 * (codes -31503 and -31429 from a concurrency or rate limit); `cancelled`; `timeout`
 * (a cancellation whose reason names a timeout, as the SDKs send when a request times
 * out, or a -32001 error response).
 *
 * @param options - see {@link MetricsOptions}; defaults in {@link METRICS_DEFAULTS}
 * @throws InvalidOptionError naming the first invalid option.
 * @example
 * ```ts
 * const m = metrics({ tokens: 'approximate' });
 * withMiddleware(server, [m, cache()]);
 * // later
 * process.stderr.write(m.report());
 * ```
 */
export function metrics(options: MetricsOptions = {}): MetricsMiddleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(WHERE, '(options)', 'an object', options);
  }
  const d = METRICS_DEFAULTS;
  const maxTools = positiveInteger(WHERE, 'maxTools', options.maxTools, d.maxTools);
  const maxMethods = positiveInteger(WHERE, 'maxMethods', options.maxMethods, d.maxMethods);
  const digits = positiveInteger(
    WHERE,
    'significantDigits',
    options.significantDigits,
    d.significantDigits,
    5,
  );
  const windowDigits = positiveInteger(
    WHERE,
    'windowSignificantDigits',
    options.windowSignificantDigits,
    d.windowSignificantDigits,
    5,
  );
  const maxLatencyMs = nonNegative('maxLatencyMs', options.maxLatencyMs, d.maxLatencyMs);
  if (maxLatencyMs < 1) throw new InvalidOptionError(WHERE, 'maxLatencyMs', 'at least 1', maxLatencyMs);
  const windowMs = nonNegative('windowMs', options.windowMs, d.windowMs);
  const slots = integerOption(WHERE, 'windowSlots', options.windowSlots, d.windowSlots, 2, 60);
  if (!Number.isFinite(windowMs) || windowMs / slots < 1) {
    throw new InvalidOptionError(
      WHERE,
      'windowMs',
      `a finite number of at least windowSlots (${slots}) ms`,
      windowMs,
    );
  }
  const counter = resolveCounter(options.tokens);
  const sampleRate = nonNegative('tokenSampleRate', options.tokenSampleRate, d.tokenSampleRate);
  if (sampleRate > 1)
    throw new InvalidOptionError(WHERE, 'tokenSampleRate', 'a number from 0 to 1', sampleRate);
  if (options.bytes !== undefined && typeof options.bytes !== 'boolean') {
    throw new InvalidOptionError(WHERE, 'bytes', 'a boolean', options.bytes);
  }
  const bytes = options.bytes ?? d.bytes;
  const slowThresholdMs = nonNegative('slowThresholdMs', options.slowThresholdMs, d.slowThresholdMs);
  const onSlow = functionOption(WHERE, 'onSlowRequest', options.onSlowRequest);
  const sources = resolveSources(options.sources);
  const injected = functionOption(WHERE, 'clock', options.clock);
  const clock = injected ?? now;
  const ownClock = injected !== undefined;

  const registry = new StatsRegistry(
    {
      highestUs: Math.max(2, Math.round(maxLatencyMs * 1000)),
      digits,
      windowDigits,
      slotMs: windowMs / slots,
      slots,
      maxTools,
      maxMethods,
    },
    clock(),
  );
  const countTokens = counter !== undefined && sampleRate > 0;
  let sampleCredit = 0;
  const verdict: Classified = { outcome: 0, errorType: undefined };

  function finish(
    ctx: RequestContext,
    side: SideStats,
    start: number,
    reply: Reply | undefined,
    classified: Classified,
  ): void {
    const end = clock();
    const method = ctx.method;
    const result = reply?.result;
    if (method === 'tools/list' && result !== undefined) registry.learnTools(result);
    const tool = method === 'tools/call' ? (ctx.message.params?.name ?? OTHER) : undefined;
    const state = (ctx instanceof Context ? ctx.stateIfCreated() : ctx.state) ?? NO_STATE;
    // A limiter answering a shed tools/call with an isError result marks it in ctx.state.
    if (state.shed === true && classified.outcome !== SHED) {
      classified.outcome = SHED;
      classified.errorType = String(ErrorCodes.Overloaded);
    }
    const outcome = classified.outcome;
    const op = registry.operation(side, method, tool, outcome === OK, end);
    registry.record(op, outcome, (end - start) * 1000, end);
    if (classified.errorType !== undefined) op.countError(classified.errorType);
    const cacheIndex = typeof state.cache === 'string' ? CACHE_INDEX[state.cache] : undefined;
    if (cacheIndex !== undefined) op.cache[cacheIndex]!++;
    if (countTokens && result !== undefined) {
      sampleCredit += sampleRate;
      if (sampleCredit >= 1) {
        sampleCredit -= 1;
        op.tokenSamples++;
        op.tokensIn += countRequestTokens(method, ctx.message.params, counter);
        op.tokensOut += countResultTokens(method, result, counter);
      }
    }
    if (bytes && reply !== undefined) measureBytes(op, ctx, reply);
    if (onSlow !== undefined && end - start >= slowThresholdMs) {
      const queued = typeof state.queuedMs === 'number' ? state.queuedMs : undefined;
      const total = end - start;
      try {
        onSlow({
          side: ctx.side,
          method,
          tool: typeof tool === 'string' ? tool : undefined,
          id: ctx.id,
          sessionId: ctx.session.sessionId,
          outcome: OUTCOMES[outcome]!,
          totalMs: total,
          queuedMs: queued,
          serviceMs: queued === undefined ? total : total - queued,
          cache: cacheIndex === undefined ? undefined : CACHE_STATUSES[cacheIndex],
        });
      } catch (error) {
        ctx.connection.reportError(
          new Error(
            `metrics: onSlowRequest failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      }
    }
  }

  function snapshot(): MetricsSnapshot {
    const now = clock();
    const totals = new Float64Array(OUTCOMES.length);
    const cacheTotals = new Float64Array(CACHE_STATUSES.length);
    const coveredMs = registry.windowCoverageMs(now);
    const perSecond = (n: number) => (coveredMs > 0 ? (n * 1000) / coveredMs : 0);
    const operations: OperationSnapshot[] = [];
    for (const op of registry.operations()) {
      let requests = 0;
      op.outcomes.forEach((n, i) => {
        totals[i]! += n;
        requests += n;
      });
      op.cache.forEach((n, i) => {
        cacheTotals[i]! += n;
      });
      const recent = summarize(registry.recentHistogram(op, now));
      operations.push({
        side: op.side,
        method: op.method,
        tool: op.tool ?? null,
        requests,
        outcomes: outcomeRecord(op.outcomes),
        errorTypes: Object.fromEntries(op.errorTypes ?? []),
        latency: summarize(registry.cumulativeHistogram(op)),
        recent: { ...recent, perSecond: perSecond(recent.count) },
        cache: cacheRecord(op.cache),
        tokens: counter === undefined ? null : tokenFigures(op),
        bytes: bytes ? { requests: op.byteSamples, in: op.bytesIn, out: op.bytesOut } : null,
      });
    }
    const inFlight: Partial<Record<Side, number>> = {};
    let inFlightTotal = 0;
    for (const [side, n] of registry.inFlight()) {
      inFlight[side] = n;
      inFlightTotal += n;
    }
    const recentRequests = registry.recentCount(now);
    const sourceFigures: Record<string, Record<string, number>> = {};
    for (const source of sources) sourceFigures[source.name] = numericStats(source);
    return {
      takenAt: Date.now(),
      uptimeMs: now - registry.createdAt,
      window: { ms: windowMs, coveredMs },
      totals: {
        requests: totals.reduce((a, b) => a + b, 0),
        outcomes: outcomeRecord(totals),
        inFlight: inFlightTotal,
        recentRequests,
        recentPerSecond: perSecond(recentRequests),
        cache: cacheRecord(cacheTotals),
      },
      inFlight,
      operations,
      tokens: counter === undefined ? null : { counter: counter.name, exact: counter.exact, sampleRate },
      sources: sourceFigures,
    };
  }

  /** A request ended with `reply`, or without one and with `error`: one less in flight, and recorded. */
  const ended = (
    ctx: RequestContext,
    side: SideStats,
    start: number,
    reply: Reply | undefined,
    error: unknown,
  ): void => {
    side.inFlight--;
    finish(
      ctx,
      side,
      start,
      reply,
      reply === undefined
        ? classifyThrown(error, verdict)
        : classifyReply(ctx.method, reply, ctx.cancelled, verdict),
    );
  };
  /** The end of a request a pipeline ran (see `Context.onSettled`). */
  const settledHook = (ctx: Context, reply: Reply | undefined, error: unknown): void =>
    ended(ctx, registry.side(ctx.side), ctx.startedAt, reply, error);

  const middleware: MetricsMiddleware = {
    name: 'metrics',
    // Not an async function: a reaction on next()'s promise allocates a fraction of what an
    // async function's frame and await do, and this runs on every request.
    request: function metrics(ctx, next) {
      const side = registry.side(ctx.side);
      side.inFlight++;
      if (!ownClock && ctx instanceof Context) {
        // Run by a pipeline, timed from its start: one hook at the end, nothing per request.
        ctx.onSettled(settledHook);
        return next();
      }
      const start = ownClock ? clock() : ctx.startedAt;
      return observeNext(next, (reply, error) => ended(ctx, side, start, reply, error));
    },
    // Records what a layer inside answers early (a client-side cache hit); answers nothing itself.
    early: passesThrough(function metricsEarly(ctx, next) {
      const start = ownClock ? clock() : ctx.startedAt;
      const result = next();
      if (result === undefined) return undefined;
      const reply: Reply = { result };
      finish(ctx, registry.side(ctx.side), start, reply, classifyReply(ctx.method, reply, false, verdict));
      return result;
    }),
    snapshot,
    report: () => renderReport(snapshot()),
  };
  bindInternals(middleware, { registry, clock, sources, counter, bytes });
  return brandMiddleware(middleware, 'metrics');
}

function tokenFigures(op: OperationStats): TokenFigures {
  const n = op.tokenSamples;
  return {
    sampledRequests: n,
    in: op.tokensIn,
    out: op.tokensOut,
    inPerRequest: n === 0 ? 0 : op.tokensIn / n,
    outPerRequest: n === 0 ? 0 : op.tokensOut / n,
  };
}

function jsonBytes(value: unknown): number {
  if (value === undefined) return 0;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
  } catch {
    return 0;
  }
}

function measureBytes(op: OperationStats, ctx: RequestContext, reply: Reply): void {
  op.byteSamples++;
  op.bytesIn += jsonBytes(ctx.message.params);
  op.bytesOut += jsonBytes(reply.result ?? reply.error);
}

/**
 * Adds {@link metrics} to an MCP server, client or transport: the same as
 * `withMiddleware(target, [metrics(options)])`; call it before `connect()`, and before
 * other `with*` calls so it runs outermost. Returns the target; on a bare transport
 * (with `{ side }`), the wrapping transport.
 *
 * Pass a middleware made by {@link metrics} instead of options to read what it records
 * (`snapshot()`, `report()`), or to share one set of figures between several servers,
 * e.g. one `McpServer` per Streamable HTTP session.
 *
 * @example
 * ```ts
 * const m = metrics({ tokens: 'approximate' });
 * withMetrics(server, m);
 * await server.connect(transport);
 * m.snapshot().totals.requests;
 * ```
 */
export const withMetrics: WithHelper<MetricsOptions, MetricsMiddleware> = defineWith('metrics', metrics);
