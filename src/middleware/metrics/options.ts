/**
 * The options of the metrics middleware, their defaults, and the shapes its options
 * take (sources, slow-request events).
 *
 * @module
 */

import type { RequestId, Side } from '../../core/types.js';
import type { TokenCounter } from '../../tokens/types.js';
import type { CacheStatus, Outcome } from './stats.js';

/**
 * Something whose figures the metrics include at snapshot and scrape time, e.g. the
 * concurrency limiter (`concurrencyLimit()`) or a cache: any object with a `name` and a
 * `stats()` method. The numeric fields of what `stats()` returns are read, nested ones
 * under dotted names (`scopes.global.queued`); nothing is read on the request path.
 *
 * The HTTP encoding layers (`compressHandler`, `compressionFetch`) are functions with a
 * `name` and `stats()`, and the codec transports have both too: each can be passed as it is.
 *
 * Fields named `queued` (queue depth), `running` (requests holding a slot) and `shed`
 * (requests refused since start), at any depth, get dedicated Prometheus series. Every
 * numeric field appears in {@link MetricsSnapshot.sources}.
 *
 * @example
 * ```ts
 * const limiter = concurrencyLimit({ limit: 8 });
 * const m = metrics({ sources: [limiter] });
 * ```
 */
export interface MetricsSource {
  /** The name its figures appear under. */
  readonly name: string;
  /** The current figures; numeric fields are read. */
  stats(): object;
}

/** What {@link MetricsOptions.onSlowRequest} receives. */
export interface SlowRequestEvent {
  /** Where the request was measured. */
  side: Side;
  /** The method, e.g. `tools/call`. */
  method: string;
  /** The tool name, for `tools/call`. */
  tool: string | undefined;
  /** The caller's request id. */
  id: RequestId;
  /** The transport's session id, if any. */
  sessionId: string | undefined;
  /** How it ended. */
  outcome: Outcome;
  /** Time from entering the pipeline to the reply, in milliseconds. */
  totalMs: number;
  /**
   * Time spent waiting in a concurrency queue, when the concurrency middleware reported
   * it in `ctx.state.queuedMs`.
   */
  queuedMs: number | undefined;
  /** `totalMs` minus `queuedMs`: the time spent being served. */
  serviceMs: number;
  /** The cache's verdict, when the cache middleware reported one in `ctx.state.cache`. */
  cache: CacheStatus | undefined;
}

/** Options of {@link metrics}. Every default is in {@link METRICS_DEFAULTS}. */
export interface MetricsOptions {
  /**
   * Distinct tool names tracked per side; further names fold into `other`, and so do
   * names that were never listed in a `tools/list` result seen by this middleware and
   * never answered `ok` (unknown tools: SDK v1 answers them with an `isError` result),
   * so callers sending arbitrary names cannot grow the registry. Default 100.
   */
  maxTools?: number;
  /** Distinct methods tracked per side; further ones fold into `other`. Default 64. */
  maxMethods?: number;
  /**
   * Significant decimal digits of the cumulative latency histograms (1–5). Default 3:
   * values are kept to 0.1%, at about 95 KB per histogram.
   */
  significantDigits?: number;
  /**
   * Significant digits of the recent-window sub-histograms (1–5). Default 2: values kept
   * to 1%, about 14 KB per sub-histogram.
   */
  windowSignificantDigits?: number;
  /**
   * The largest latency the histograms resolve, in milliseconds; longer requests are
   * recorded at this value. Default 3,600,000 (1 hour). Latencies are recorded in whole
   * microseconds, from 1 µs up.
   */
  maxLatencyMs?: number;
  /** Length of the recent window, in milliseconds. Default 60,000. */
  windowMs?: number;
  /**
   * Sub-histograms the recent window rotates through (2–60). Default 6: with the default
   * window, it covers the last 50–60 seconds.
   */
  windowSlots?: number;
  /**
   * Token counting of what the model reads and writes: `false` (default), `'approximate'`
   * (the fast estimate), `'exact'` (tiktoken `o200k_base`, loaded on the first count;
   * needs the optional `tiktoken` peer dependency) or any {@link TokenCounter}.
   */
  tokens?: false | 'approximate' | 'exact' | TokenCounter;
  /**
   * Fraction of requests whose tokens are counted, 0–1. Default 1. Sampling is
   * deterministic (every 1/rate-th request), and the snapshot reports how many requests
   * were counted.
   */
  tokenSampleRate?: number;
  /**
   * Measure request and reply sizes (UTF-8 bytes of `params` and of `result`/`error` as
   * JSON). Default false: serializing costs about as much as the round trip itself.
   */
  bytes?: boolean;
  /** Requests taking at least this long (milliseconds) go to `onSlowRequest`. Default 1,000. */
  slowThresholdMs?: number;
  /** Called for each request slower than `slowThresholdMs`. Exceptions are reported via `onerror`. */
  onSlowRequest?: (event: SlowRequestEvent) => void;
  /** Objects whose `stats()` are included in snapshots and scrapes. Default none. */
  sources?: readonly MetricsSource[];
  /**
   * The clock, in milliseconds. Default `performance.now`. With the default, latency is
   * measured from the moment the request entered the pipeline (`ctx.startedAt`); an
   * injected clock is read when the request reaches this middleware.
   */
  clock?: () => number;
}

/** The defaults of {@link MetricsOptions}. */
export const METRICS_DEFAULTS = Object.freeze({
  /** {@link MetricsOptions.maxTools}. */
  maxTools: 100,
  /** {@link MetricsOptions.maxMethods}. */
  maxMethods: 64,
  /** {@link MetricsOptions.significantDigits}. */
  significantDigits: 3,
  /** {@link MetricsOptions.windowSignificantDigits}. */
  windowSignificantDigits: 2,
  /** {@link MetricsOptions.maxLatencyMs}: one hour. */
  maxLatencyMs: 3_600_000,
  /** {@link MetricsOptions.windowMs}: one minute. */
  windowMs: 60_000,
  /** {@link MetricsOptions.windowSlots}. */
  windowSlots: 6,
  /** {@link MetricsOptions.tokens}: off. */
  tokens: false as const,
  /** {@link MetricsOptions.tokenSampleRate}: every request. */
  tokenSampleRate: 1,
  /** {@link MetricsOptions.bytes}: off. */
  bytes: false,
  /** {@link MetricsOptions.slowThresholdMs}. */
  slowThresholdMs: 1000,
});
