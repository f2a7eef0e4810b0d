/**
 * The load generator as a library: drives an MCP server at a fixed offered rate (open
 * loop) or a fixed concurrency (closed loop), for a bounded time and request count, and
 * reports HDR latency percentiles, throughput, errors by code and a per-second timeline.
 *
 * Open loop: request i is due at `start + i / rate` and is sent then, whether or not
 * earlier requests have been answered, so a server that falls behind shows a growing
 * in-flight count and growing latency instead of silently slowing the generator down.
 * Latency is measured from the time a request was *due* (not when the generator got
 * round to sending it), which keeps coordinated omission out of the percentiles; the
 * time from actual send is reported separately as `serviceTimeMs`.
 */

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { build, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { InvalidOptionError } from '../errors/index.js';
import { describeTarget, type LoadTarget, openTarget, validateTarget } from './target.js';
import {
  type CompiledWorkload,
  compileWorkload,
  type Random,
  type Request,
  seededRandom,
} from './workload.js';

export {
  describeTarget,
  isLoopbackHost,
  type LoadTarget,
  type OpenTarget,
  openTarget,
  type StdioCommand,
  splitCommand,
  validateTarget,
} from './target.js';
export {
  type CompiledWorkload,
  compileWorkload,
  type LoadShape,
  parseDuration,
  type Random,
  type Request,
  readLoadShape,
  seededRandom,
  zipfSampler,
} from './workload.js';

/** Options of {@link runLoad}. Exactly one of `rate` and `concurrency` is required. */
export interface LoadOptions {
  /** What to drive. */
  target: LoadTarget;
  /** Open loop: requests per second, sent on schedule. */
  rate?: number;
  /** Closed loop: this many requests in flight at all times. */
  concurrency?: number;
  /** How long to send, in ms. Default 10 000. */
  durationMs?: number;
  /** Stop sending after this many requests. Default: no limit besides the duration. */
  maxRequests?: number;
  /**
   * The workload (JSON as described in `workload.ts`, or compiled). Default: `tools/call`
   * `echo` with `{ text: "hello" }`.
   */
  workload?: unknown;
  /** Per-request timeout, in ms (the request then counts as error `timeout`). Default 30 000. */
  timeoutMs?: number;
  /** Permit a non-loopback URL. Default false. */
  allowRemote?: boolean;
  /** PRNG seed for the workload's draws. Default 1. */
  seed?: number;
  /** Called about every 200 ms while the load runs, and once at the end. */
  onProgress?: (progress: LoadProgress) => void;
  /** Aborting stops sending early; answers still in flight are awaited. */
  signal?: AbortSignal;
  /**
   * Called with every successful answer (its operation label and result), e.g. to count
   * the tokens of responses. Runs on the generator's event loop: keep it cheap.
   */
  onResult?: (label: string, result: Record<string, unknown>) => void;
}

/** A snapshot for a progress display. */
export interface LoadProgress {
  /** Time since the start, in ms. */
  elapsedMs: number;
  /** The configured sending time, in ms. */
  durationMs: number;
  /** Requests sent so far. */
  sent: number;
  /** Requests answered (successfully or not). */
  completed: number;
  /** Requests failed so far. */
  errors: number;
  /** Requests sent and not yet answered. */
  inFlight: number;
}

/** Latency figures, in ms. */
export interface LatencySummary {
  /** Recorded values. */
  count: number;
  /** Smallest. */
  min: number;
  /** Mean. */
  mean: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** 99.9th percentile. */
  p999: number;
  /** Largest. */
  max: number;
}

/** One second of the run. */
export interface TimelinePoint {
  /** Seconds since the start (this point covers [second, second + 1)). */
  second: number;
  /** Requests sent in this second. */
  sent: number;
  /** Successful answers received in this second. */
  succeeded: number;
  /** Failures (error answers, timeouts, transport errors) in this second. */
  errors: number;
  /** The highest number of requests in flight during this second. */
  inFlightMax: number;
  /** Median latency of this second's successful answers, in ms (null if none). */
  p50Ms: number | null;
  /** 99th-percentile latency of this second's successful answers, in ms (null if none). */
  p99Ms: number | null;
}

/** Per-operation figures. */
export interface OperationStats {
  /** Requests sent. */
  sent: number;
  /** Successful answers. */
  succeeded: number;
  /** Failures. */
  errors: number;
  /** Median latency, in ms (null if none succeeded). */
  p50Ms: number | null;
  /** 99th-percentile latency, in ms (null if none succeeded). */
  p99Ms: number | null;
}

/** What {@link runLoad} measured. */
export interface LoadResult {
  /** The target, described. */
  target: string;
  /** `open` (fixed rate) or `closed` (fixed concurrency). */
  mode: 'open' | 'closed';
  /** The offered rate, for open loop. */
  rate?: number;
  /** The concurrency, for closed loop. */
  concurrency?: number;
  /** Configured sending time, in ms. */
  durationMs: number;
  /** Open loop: requests the schedule called for (`ceil(rate × duration)`, capped by maxRequests). */
  scheduled?: number;
  /** Requests sent. */
  sent: number;
  /** Successful answers. */
  succeeded: number;
  /** Failures, total. */
  failed: number;
  /** Failures by kind: a JSON-RPC error code (`-32602`), `isError` (a tool failure), `timeout`, `transport`. */
  errors: Record<string, number>;
  /** The highest number of requests in flight at once. */
  maxInFlight: number;
  /** Time from start to the last answer, in ms. */
  elapsedMs: number;
  /** Successful answers per second over `elapsedMs`. */
  throughput: number;
  /** Latency from the time each request was due, in ms (successful requests). */
  latencyMs: LatencySummary;
  /** Latency from the time each request was actually sent, in ms. */
  serviceTimeMs: LatencySummary;
  /** Figures per operation label (`tools/call echo` …). */
  operations: Record<string, OperationStats>;
  /** One point per second. */
  timeline: TimelinePoint[];
  /** The latency histogram (µs), HDR compressed base64, for merging across runs. */
  histogram: string;
}

const DEFAULT_DURATION_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_WORKLOAD = {
  operations: [{ method: 'tools/call', name: 'echo', arguments: { text: 'hello' } }],
};
const PROGRESS_INTERVAL_MS = 200;
/** Histograms hold 1 µs … 1 h. */
const HIGHEST_US = 3_600_000_000;

function histogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });
}

function record(h: Histogram, ms: number): void {
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
}

/**
 * The value at percentile `p`, in ms. HDR answers with the top of the value's bucket,
 * which can exceed the largest value recorded; clamp so that percentiles stay ordered.
 */
function at(h: Histogram, p: number): number {
  return Math.min(h.getValueAtPercentile(p), h.maxValue) / 1000;
}

function summary(h: Histogram): LatencySummary {
  const pct = (p: number): number => (h.totalCount === 0 ? 0 : at(h, p));
  return {
    count: h.totalCount,
    min: h.totalCount === 0 ? 0 : h.minNonZeroValue / 1000,
    mean: h.totalCount === 0 ? 0 : h.mean / 1000,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    p999: pct(99.9),
    max: h.maxValue / 1000,
  };
}

function errorKind(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    // The SDK reports its own request timeout as McpError -32001.
    if (code === -32001) return 'timeout';
    if (typeof code === 'number') return String(code);
  }
  return 'transport';
}

/** Sends one drawn workload request on a connected client; resolves with the result. */
export function sendRequest(
  client: Client,
  request: Request,
  options?: RequestOptions,
): Promise<Record<string, unknown>> {
  switch (request.method) {
    case 'tools/call':
      return client.callTool({ name: request.name, arguments: request.arguments }, undefined, options);
    case 'tools/list':
      return client.listTools(undefined, options);
    case 'resources/list':
      return client.listResources(undefined, options);
    case 'resources/templates/list':
      return client.listResourceTemplates(undefined, options);
    case 'prompts/list':
      return client.listPrompts(undefined, options);
    case 'prompts/get':
      return client.getPrompt({ name: request.name, arguments: request.arguments }, options);
    case 'resources/read':
      return client.readResource({ uri: request.uri }, options);
  }
}

function positive(option: string, value: unknown, integer: boolean): void {
  if (
    typeof value !== 'number' ||
    !(value > 0) ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new InvalidOptionError(
      'runLoad',
      option,
      integer ? 'a positive integer' : 'a positive number',
      value,
    );
  }
}

interface Bucket {
  sent: number;
  succeeded: number;
  errors: number;
  inFlightMax: number;
  latency: Histogram | undefined;
}

/**
 * Runs a load test and resolves with its figures. Validates every option (and the
 * workload) before connecting. Stops sending after `durationMs` or `maxRequests`, then
 * waits for the answers still in flight (each is bounded by `timeoutMs`), then closes
 * what it opened.
 *
 * @example
 * const r = await runLoad({ target: { stdio: 'node server.js' }, rate: 200, durationMs: 5000 });
 * console.log(r.throughput, r.latencyMs.p99);
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { rate, concurrency } = options;
  if ((rate === undefined) === (concurrency === undefined)) {
    throw new InvalidOptionError('runLoad', 'rate', 'set, or concurrency set (exactly one of them)', rate);
  }
  if (rate !== undefined) positive('rate', rate, false);
  if (concurrency !== undefined) positive('concurrency', concurrency, true);
  const durationMs = options.durationMs ?? DEFAULT_DURATION_MS;
  positive('durationMs', durationMs, false);
  if (options.maxRequests !== undefined) positive('maxRequests', options.maxRequests, true);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  positive('timeoutMs', timeoutMs, false);
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new InvalidOptionError('runLoad', 'seed', 'an integer', seed);
  validateTarget(options.target, options.allowRemote === true);
  const workload: CompiledWorkload =
    typeof (options.workload as CompiledWorkload | undefined)?.next === 'function'
      ? (options.workload as CompiledWorkload)
      : compileWorkload(options.workload ?? DEFAULT_WORKLOAD);
  const maxRequests = options.maxRequests ?? Number.POSITIVE_INFINITY;
  const random: Random = seededRandom(seed);
  const onResult = options.onResult;

  const { client, owned } = await openTarget(options.target);
  const latency = histogram();
  const service = histogram();
  const buckets: Bucket[] = [];
  const operations = new Map<string, OperationStats & { h: Histogram }>();
  for (const label of workload.labels) {
    operations.set(label, { sent: 0, succeeded: 0, errors: 0, p50Ms: null, p99Ms: null, h: histogram() });
  }
  const errors: Record<string, number> = {};
  let sent = 0;
  let succeeded = 0;
  let failed = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastAnswer = 0;
  let onIdle: (() => void) | undefined;
  const requestOptions: RequestOptions = { timeout: timeoutMs };
  const t0 = performance.now();

  const bucket = (now: number): Bucket => {
    const i = Math.max(0, Math.floor((now - t0) / 1000));
    // A second with no event at all still had the current in-flight level throughout.
    for (let k = buckets.length; k <= i; k++) {
      buckets.push({ sent: 0, succeeded: 0, errors: 0, inFlightMax: inFlight, latency: undefined });
    }
    return buckets[i]!;
  };

  /** Sends one request due at `due`; resolves when it is answered (never rejects). */
  const fire = (due: number): Promise<void> => {
    const { label, request } = workload.next(random);
    const op = operations.get(label)!;
    const startedAt = performance.now();
    sent++;
    op.sent++;
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    const b = bucket(startedAt);
    b.sent++;
    if (inFlight > b.inFlightMax) b.inFlightMax = inFlight;
    const settle = (kind: string | undefined): void => {
      const end = performance.now();
      lastAnswer = end;
      const eb = bucket(end);
      if (inFlight > eb.inFlightMax) eb.inFlightMax = inFlight;
      inFlight--;
      if (kind === undefined) {
        succeeded++;
        op.succeeded++;
        eb.succeeded++;
        const ms = end - due;
        record(latency, ms);
        record(op.h, ms);
        eb.latency ??= histogram();
        record(eb.latency, ms);
        record(service, end - startedAt);
      } else {
        failed++;
        op.errors++;
        eb.errors++;
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
      if (inFlight === 0) onIdle?.();
    };
    return sendRequest(client, request, requestOptions).then(
      (result) => {
        if (onResult !== undefined && result.isError !== true) onResult(label, result);
        settle(result.isError === true ? 'isError' : undefined);
      },
      (error: unknown) => settle(errorKind(error)),
    );
  };

  const progress = (): LoadProgress => ({
    elapsedMs: performance.now() - t0,
    durationMs,
    sent,
    completed: succeeded + failed,
    errors: failed,
    inFlight,
  });
  const ticker = options.onProgress
    ? setInterval(() => options.onProgress?.(progress()), PROGRESS_INTERVAL_MS)
    : undefined;
  const stopped = (): boolean => options.signal?.aborted === true;

  let scheduled: number | undefined;
  try {
    if (rate !== undefined) {
      const interval = 1000 / rate;
      const total = Math.min(maxRequests, Math.ceil((durationMs * rate) / 1000));
      scheduled = total;
      let i = 0;
      while (i < total && !stopped()) {
        const now = performance.now() - t0;
        while (i < total && i * interval <= now) {
          void fire(t0 + i * interval);
          i++;
        }
        if (i < total) {
          const wait = i * interval - (performance.now() - t0);
          await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, wait)));
        }
      }
    } else {
      const end = t0 + durationMs;
      let issued = 0;
      const worker = async (): Promise<void> => {
        while (issued < maxRequests && performance.now() < end && !stopped()) {
          issued++;
          await fire(performance.now());
        }
      };
      await Promise.all(Array.from({ length: concurrency! }, worker));
    }
    if (inFlight > 0) {
      await new Promise<void>((resolve) => {
        onIdle = resolve;
      });
    }
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    if (owned) await client.close();
  }
  options.onProgress?.(progress());

  const elapsedMs = Math.max(lastAnswer, t0) - t0;
  const ops: Record<string, OperationStats> = {};
  for (const [label, { h, ...stats }] of operations) {
    ops[label] = {
      ...stats,
      p50Ms: h.totalCount === 0 ? null : at(h, 50),
      p99Ms: h.totalCount === 0 ? null : at(h, 99),
    };
  }
  return {
    target: describeTarget(options.target),
    mode: rate !== undefined ? 'open' : 'closed',
    ...(rate !== undefined ? { rate, scheduled } : { concurrency }),
    durationMs,
    sent,
    succeeded,
    failed,
    errors,
    maxInFlight,
    elapsedMs,
    throughput: elapsedMs > 0 ? (succeeded * 1000) / elapsedMs : 0,
    latencyMs: summary(latency),
    serviceTimeMs: summary(service),
    operations: ops,
    timeline: buckets.map((b, second) => ({
      second,
      sent: b.sent,
      succeeded: b.succeeded,
      errors: b.errors,
      inFlightMax: b.inFlightMax,
      p50Ms: b.latency ? at(b.latency, 50) : null,
      p99Ms: b.latency ? at(b.latency, 99) : null,
    })),
    histogram: encodeIntoCompressedBase64(latency),
  };
}
