/**
 * What the metrics middleware answers with: the middleware's own interface and the
 * plain-data snapshot it takes.
 *
 * @module
 */

import type { MiddlewareObject, Side } from '../../core/types.js';
import type { LatencySummary } from './histogram.js';
import type { CacheStatus, Outcome } from './stats.js';

/** Token figures of one operation (over the requests whose tokens were counted). */
export interface TokenFigures {
  /** Requests counted. */
  sampledRequests: number;
  /** Tokens the model wrote (tool name and arguments). */
  in: number;
  /** Tokens the model reads (visible result text, tool definitions). */
  out: number;
  /** `in / sampledRequests`. */
  inPerRequest: number;
  /** `out / sampledRequests`. */
  outPerRequest: number;
}

/** Size figures of one operation. */
export interface ByteFigures {
  /** Requests measured. */
  requests: number;
  /** UTF-8 bytes of `params` as JSON. */
  in: number;
  /** UTF-8 bytes of `result` or `error` as JSON. */
  out: number;
}

/** One (side, method, tool) in a {@link MetricsSnapshot}. */
export interface OperationSnapshot {
  /** Where it was measured. */
  side: Side;
  /** The method, or `other` beyond `maxMethods`. */
  method: string;
  /** The tool (for `tools/call`), `other` for folded names, otherwise null. */
  tool: string | null;
  /** Requests completed. */
  requests: number;
  /** Requests per outcome. */
  outcomes: Record<Outcome, number>;
  /** Failures by OpenTelemetry `error.type`: JSON-RPC code, `tool_error`, `timeout`, `cancelled`. */
  errorTypes: Record<string, number>;
  /** Latency since start, all outcomes. */
  latency: LatencySummary;
  /** Latency over the recent window, all outcomes, with its throughput. */
  recent: LatencySummary & {
    /** Requests per second over the part of the window that has elapsed. */
    perSecond: number;
  };
  /** Requests per cache status (all zero when no cache reported). */
  cache: Record<CacheStatus, number>;
  /** Token figures, or null when token counting is off. */
  tokens: TokenFigures | null;
  /** Size figures, or null when `bytes` is off. */
  bytes: ByteFigures | null;
}

/** A plain, JSON-serializable picture of everything recorded so far. */
export interface MetricsSnapshot {
  /** `Date.now()` when it was taken. */
  takenAt: number;
  /** Milliseconds since the middleware was created. */
  uptimeMs: number;
  /** The recent window: its configured length and how much of it has elapsed. */
  window: {
    /** The configured `windowMs`. */
    ms: number;
    /** How much time the window covers now (less than `ms` right after start or a slot turn). */
    coveredMs: number;
  };
  /** Figures over every operation. */
  totals: {
    /** Requests completed. */
    requests: number;
    /** Requests per outcome. */
    outcomes: Record<Outcome, number>;
    /** Requests in flight now, all sides. */
    inFlight: number;
    /** Requests completed within the recent window. */
    recentRequests: number;
    /** Recent throughput, requests per second. */
    recentPerSecond: number;
    /** Requests per cache status. */
    cache: Record<CacheStatus, number>;
  };
  /** Requests in flight now, per side that has seen traffic. */
  inFlight: Partial<Record<Side, number>>;
  /** Per (side, method, tool), in first-seen order. */
  operations: OperationSnapshot[];
  /** The token counter in use, or null. */
  tokens: {
    /** The counter's name, e.g. `approximate:o200k_base`. */
    counter: string;
    /** Whether its counts are exact. */
    exact: boolean;
    /** The configured `tokenSampleRate`. */
    sampleRate: number;
  } | null;
  /** The numeric figures of each source, by source name. */
  sources: Record<string, Record<string, number>>;
}

/** The middleware {@link metrics} returns: a middleware object with a snapshot and a report. */
export interface MetricsMiddleware extends MiddlewareObject {
  /** Always `metrics`. */
  readonly name: 'metrics';
  /** Everything recorded so far, as plain JSON-serializable data. */
  snapshot(): MetricsSnapshot;
  /** A compact text table of the snapshot, for humans (never printed by the library). */
  report(): string;
}
