/**
 * Order statistics for benchmark figures. Pure functions over plain arrays, so the
 * verdict rules built on them can be unit-tested with fixed inputs.
 */

/**
 * The q-quantile (0 ≤ q ≤ 1) of `values`, by linear interpolation between the closest
 * ranks (the "type 7" definition used by R and NumPy by default).
 * Throws on an empty input: a figure computed from nothing is a bug in the caller.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile: no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be within [0, 1] (got ${q})`);
  const sorted = [...values].sort((a, b) => a - b);
  return quantileSorted(sorted, q);
}

/** {@link quantile} over values already sorted in ascending order (not checked). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantile: no values');
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** The median of `values` (see {@link quantile}). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** The arithmetic mean of `values`; throws on an empty input. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean: no values');
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Where a set of values sits and how far it spreads. */
export interface Spread {
  /** The median. */
  median: number;
  /** The lower quartile (25th percentile). */
  q1: number;
  /** The upper quartile (75th percentile). */
  q3: number;
  /** `q3 - q1`. */
  iqr: number;
  /** The smallest value. */
  min: number;
  /** The largest value. */
  max: number;
  /** How many values. */
  n: number;
}

/** Median, quartiles and range of `values`; throws on an empty input. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  return {
    median: quantileSorted(sorted, 0.5),
    q1,
    q3,
    iqr: q3 - q1,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    n: sorted.length,
  };
}

/** Latency percentiles of a set of per-operation times, in the unit of the input. */
export interface Percentiles {
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
  /** Arithmetic mean. */
  mean: number;
}

/**
 * Percentiles of `samples` (sorted in place: pass a buffer you own). Uses
 * {@link quantileSorted}, so p99 of 100 samples interpolates between the two largest.
 */
export function percentiles(samples: Float64Array): Percentiles {
  if (samples.length === 0) throw new RangeError('percentiles: no samples');
  samples.sort();
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] as number;
  return {
    p50: quantileSorted(samples, 0.5),
    p90: quantileSorted(samples, 0.9),
    p99: quantileSorted(samples, 0.99),
    min: samples[0] as number,
    max: samples[samples.length - 1] as number,
    mean: sum / samples.length,
  };
}
