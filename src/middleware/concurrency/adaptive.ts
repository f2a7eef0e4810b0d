// An adaptive concurrency limit in the style of Netflix concurrency-limits' Gradient2:
// the limit follows the ratio of a long-term latency average to the latency of the
// most recent window. When recent latency rises above the long-term level (a queue is
// building somewhere), the limit shrinks; while latency stays within `tolerance` of
// it, the limit grows by `queueSize` (at most √limit) per window. Samples are grouped into windows so
// one slow call does not move the limit.

/**
 * Options of the adaptive limit (`adaptive` in the concurrency options). The limit stays
 * between `min` and `max`; it starts at the scope's `limit`.
 */
export interface AdaptiveLimitOptions {
  /** The floor. Default 1. */
  min?: number;
  /** The ceiling. Default 1000. */
  max?: number;
  /**
   * How much slower than the long-term average recent latency may be before the limit
   * shrinks (1.5 = 50% slower). Default 1.5.
   */
  tolerance?: number;
  /** Weight of each new estimate (0 < smoothing ≤ 1). Default 0.2. */
  smoothing?: number;
  /** How many windows the long-term latency average spans. Default 600. */
  longWindow?: number;
  /**
   * Headroom added to the limit at each update, allowing it to grow; at most √limit, so
   * that a small limit can still shrink under rising latency. Default 4.
   */
  queueSize?: number;
  /** A window closes after at least this long … Default 1000 ms. */
  windowMs?: number;
  /** … and at least this many samples. Default 10. */
  windowSamples?: number;
}

/** The adaptive algorithm's defaults. */
export const ADAPTIVE_DEFAULTS = {
  /** {@link AdaptiveLimitOptions.min}: the floor of the limit. */
  min: 1,
  /** {@link AdaptiveLimitOptions.max}: the ceiling of the limit. */
  max: 1000,
  /** {@link AdaptiveLimitOptions.tolerance}: recent latency may be 50% above the long-term average. */
  tolerance: 1.5,
  /** {@link AdaptiveLimitOptions.smoothing}: weight of each new estimate. */
  smoothing: 0.2,
  /** {@link AdaptiveLimitOptions.longWindow}: windows spanned by the long-term latency average. */
  longWindow: 600,
  /** {@link AdaptiveLimitOptions.queueSize}: headroom added at each update (at most √limit). */
  queueSize: 4,
  /** {@link AdaptiveLimitOptions.windowMs}: shortest window, in ms (one second). */
  windowMs: 1000,
  /** {@link AdaptiveLimitOptions.windowSamples}: fewest samples per window. */
  windowSamples: 10,
} as const;

/** Long-term average: a plain mean over the first `warmup` samples, then an EWMA. */
class ExpAverage {
  value = 0;
  private count = 0;
  private readonly factor: number;
  private readonly warmup: number;

  constructor(window: number, warmup = 10) {
    this.factor = 2 / (window + 1);
    this.warmup = warmup;
  }

  add(sample: number): number {
    if (this.count < this.warmup) {
      this.count++;
      this.value += (sample - this.value) / this.count;
    } else {
      this.value = this.value * (1 - this.factor) + sample * this.factor;
    }
    return this.value;
  }
}

/** Gradient2-style limit estimator; feed it `sample()` once per completed request. */
export class GradientLimit {
  private estimate: number;
  private readonly opts: Required<AdaptiveLimitOptions>;
  private readonly longRtt: ExpAverage;
  private windowStart: number | undefined = undefined;
  private windowSum = 0;
  private windowCount = 0;
  private windowMaxInflight = 0;

  constructor(initial: number, options: Required<AdaptiveLimitOptions>) {
    this.opts = options;
    this.estimate = initial;
    this.longRtt = new ExpAverage(options.longWindow);
  }

  /** The current limit (an integer within [min, max]). */
  get limit(): number {
    return Math.max(this.opts.min, Math.floor(this.estimate));
  }

  /** Sets the limit directly (clamped to [min, max]). */
  set limit(value: number) {
    this.estimate = Math.max(this.opts.min, Math.min(this.opts.max, value));
  }

  /**
   * Records one request's latency (`rttMs`) with the number of requests that were in
   * flight when it finished, at clock reading `now`. Returns true when the limit changed.
   */
  sample(rttMs: number, inflight: number, now: number): boolean {
    if (this.windowStart === undefined) this.windowStart = now;
    this.windowSum += rttMs;
    this.windowCount++;
    if (inflight > this.windowMaxInflight) this.windowMaxInflight = inflight;
    if (now - this.windowStart < this.opts.windowMs || this.windowCount < this.opts.windowSamples)
      return false;
    const shortRtt = this.windowSum / this.windowCount;
    const maxInflight = this.windowMaxInflight;
    this.windowStart = now;
    this.windowSum = 0;
    this.windowCount = 0;
    this.windowMaxInflight = 0;
    const before = this.limit;
    this.update(shortRtt, maxInflight);
    return this.limit !== before;
  }

  private update(shortRtt: number, inflight: number): void {
    if (shortRtt <= 0) return;
    const o = this.opts;
    let longRtt = this.longRtt.add(shortRtt);
    // Once latency recovers, let the long-term average catch up quickly rather than over
    // hundreds of windows, so the limit can grow again.
    if (longRtt / shortRtt > 2) {
      this.longRtt.value *= 0.95;
      longRtt = this.longRtt.value;
    }
    // Application-limited: too little traffic to learn anything about the limit.
    if (inflight < this.estimate / 2) return;
    const gradient = Math.max(0.5, Math.min(1, (o.tolerance * longRtt) / shortRtt));
    const target = this.estimate * gradient + Math.min(o.queueSize, Math.sqrt(this.estimate));
    const next = this.estimate * (1 - o.smoothing) + target * o.smoothing;
    this.estimate = Math.max(o.min, Math.min(o.max, next));
  }
}
