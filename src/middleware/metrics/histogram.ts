/**
 * Latency histograms: HdrHistogram (the pure-JS build of `hdr-histogram-js`) with 32-bit
 * counts, recording microseconds.
 *
 * The JS build was chosen over the WebAssembly one: it needs no asynchronous start-up and
 * its histograms are garbage-collected. A WASM histogram records faster but must be
 * `destroy()`ed, and a middleware whose histograms are
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

/** Entries of a {@link PendingLatency} array at most (64 KB of counts). */
const PENDING_ENTRIES = 16_384;

/**
 * The latencies of the current window slot, recorded with one increment each and folded
 * into HDR histograms later.
 *
 * `hdr-histogram-js` finds a value's bucket with `Math.log2` and `Math.pow`, which made a
 * record the largest part of the metrics middleware's price (benchmark
 * `metrics.record-cost` measures what recording a request costs now). This keeps
 * counts in HDR's own layout (unit 1 µs, the sub-bucket count `digits` asks for) and
 * finds the index with integer operations. Draining records each bucket's lowest value
 * with its count, which lands in exactly the bucket the values themselves would have,
 * at the same or fewer significant digits (HDR buckets nest).
 *
 * The array covers latencies below 2^25 µs (33 s) at three digits, fewer seconds at none
 * for four or five digits, where it would be too large; the rest go to an ordinary
 * histogram, created on first use.
 */
export class PendingLatency {
  /** Values recorded since the last drain. */
  count = 0;
  private readonly counts: Uint32Array;
  private readonly limit: number;
  private readonly halfMagnitude: number;
  private readonly halfCount: number;
  private readonly mask: number;
  private maxIndex = -1;
  private rest: Histogram | undefined = undefined;
  private readonly highestUs: number;
  private readonly digits: number;

  constructor(highestUs: number, digits: number) {
    this.highestUs = highestUs;
    this.digits = digits;
    // HDR's sub-bucket count: the power of two that holds 2 × 10^digits at unit resolution.
    const magnitude = Math.ceil(Math.log2(2 * 10 ** digits));
    this.halfMagnitude = magnitude - 1;
    this.halfCount = 2 ** this.halfMagnitude;
    this.mask = 2 ** magnitude - 1;
    const topBucket = Math.floor(PENDING_ENTRIES / this.halfCount) - 2;
    if (topBucket < 0) {
      this.counts = new Uint32Array(0);
      this.limit = 0;
      return;
    }
    const bits = Math.min(topBucket + magnitude, 31);
    this.limit = Math.min(2 ** bits, highestUs + 1);
    this.counts = new Uint32Array((bits - this.halfMagnitude + 1) * this.halfCount);
  }

  /** Records one latency: a whole number of microseconds from 0 to `highestUs`. */
  record(us: number): void {
    this.count++;
    if (us < this.limit) {
      const bucket = 31 - this.halfMagnitude - Math.clz32(us | this.mask);
      const index = ((bucket + 1) << this.halfMagnitude) + (us >>> bucket) - this.halfCount;
      this.counts[index]!++;
      if (index > this.maxIndex) this.maxIndex = index;
      return;
    }
    if (this.rest === undefined) this.rest = createHistogram(this.highestUs, this.digits);
    this.rest.recordValue(us);
  }

  /** Adds every recorded latency to both histograms, then forgets them. */
  drainInto(a: Histogram, b: Histogram): void {
    if (this.count === 0) return;
    const counts = this.counts;
    for (let i = 0; i <= this.maxIndex; i++) {
      const c = counts[i]!;
      if (c === 0) continue;
      counts[i] = 0;
      let bucket = (i >> this.halfMagnitude) - 1;
      let sub = (i & (this.halfCount - 1)) + this.halfCount;
      if (bucket < 0) {
        sub -= this.halfCount;
        bucket = 0;
      }
      const value = sub * 2 ** bucket;
      a.recordValueWithCount(value, c);
      b.recordValueWithCount(value, c);
    }
    this.maxIndex = -1;
    if (this.rest !== undefined && this.rest.totalCount !== 0) {
      foldInto(a, this.rest);
      foldInto(b, this.rest);
      this.rest.reset();
    }
    this.count = 0;
  }
}

/**
 * Adds every count of `source` to `target`, bucket by bucket up to the source's largest
 * value. Unlike `target.add(source)`, which walks the whole counts array when the two
 * have the same layout (some 23,000 entries at the defaults), this stops at the highest
 * bucket in use: a few entries for microsecond latencies. `target` may have fewer
 * significant digits; each count then lands in the bucket its values would have.
 */
export function foldInto(target: Histogram, source: Histogram): void {
  if (source.totalCount === 0) return;
  const last = Math.min(source.countsArrayLength - 1, source.countsArrayIndex(source.maxValue));
  for (let i = 0; i <= last; i++) {
    const c = source.getCountAtIndex(i);
    if (c !== 0) target.recordValueWithCount(source.valueFromIndex(i), c);
  }
}
