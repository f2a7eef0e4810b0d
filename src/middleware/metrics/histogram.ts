/**
 * Latency histograms: HdrHistogram (the pure-JS build of `hdr-histogram-js`) with 32-bit
 * counts, recording microseconds.
 *
 * The JS build was chosen over the WebAssembly one: it records in ~80–150 ns without an
 * asynchronous start-up, and its histograms are garbage-collected. A WASM histogram
 * records in ~17 ns but must be `destroy()`ed, and a middleware whose histograms are
 * created on first sight of a method or tool and shared by every connection has no
 * moment at which it could safely free them.
 *
 * @module
 */

import { Int32Histogram, type JsHistogram } from 'hdr-histogram-js';

/** A histogram this module builds (the JS implementation, with its counts array). */
export type Histogram = JsHistogram;

/** The percentiles every latency summary reports. */
export const PERCENTILES = [50, 90, 95, 99, 99.9] as const;

/** Builds a histogram covering 0 … `highestUs` microseconds at `digits` significant digits. */
export function createHistogram(highestUs: number, digits: number): Histogram {
  return new Int32Histogram(1, highestUs, digits) as unknown as Histogram;
}

/** Latency percentiles of one histogram, in milliseconds. */
export interface LatencySummary {
  /** Requests recorded. */
  count: number;
  /** Mean latency. */
  meanMs: number;
  /** Median. */
  p50Ms: number;
  /** 90th percentile. */
  p90Ms: number;
  /** 95th percentile. */
  p95Ms: number;
  /** 99th percentile. */
  p99Ms: number;
  /** 99.9th percentile. */
  p999Ms: number;
  /** Largest latency recorded (within the histogram's precision). */
  maxMs: number;
}

const EMPTY: LatencySummary = {
  count: 0,
  meanMs: 0,
  p50Ms: 0,
  p90Ms: 0,
  p95Ms: 0,
  p99Ms: 0,
  p999Ms: 0,
  maxMs: 0,
};

function ms(us: number): number {
  return Math.round(us) / 1000;
}

/** The percentiles of `h`, converted from microseconds to milliseconds. */
export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) return { ...EMPTY };
  return {
    count,
    meanMs: ms(h.mean),
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p95Ms: ms(h.getValueAtPercentile(95)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
  };
}

/**
 * Cumulative counts of `h` at each upper bound (microseconds, ascending): entry `i` is
 * the number of recorded values ≤ `boundsUs[i]`. One pass over the counts array up to the
 * largest recorded value; each count sits at the lowest value of its sub-bucket, which
 * is within the histogram's precision of what was recorded.
 */
export function cumulativeCounts(h: Histogram, boundsUs: readonly number[], out: number[]): void {
  for (let b = 0; b < boundsUs.length; b++) out[b] = 0;
  if (h.totalCount === 0) return;
  const last = Math.min(h.countsArrayLength - 1, h.countsArrayIndex(h.maxValue));
  let b = 0;
  let running = 0;
  for (let i = 0; i <= last; i++) {
    const c = h.getCountAtIndex(i);
    if (c === 0) continue;
    const value = h.valueFromIndex(i);
    while (b < boundsUs.length && value > boundsUs[b]!) out[b++] = running;
    running += c;
  }
  while (b < boundsUs.length) out[b++] = running;
}
