/**
 * The last few latencies of one upstream or one method, in a fixed ring: enough for a
 * median (outlier ejection) and a p95 (hedging) without a histogram per request.
 */
export class LatencyWindow {
  private readonly ring: Float64Array;
  private next = 0;
  /** Samples recorded since the last reset (capped at the ring's size). */
  count = 0;
  private cachedTail = Number.NaN;
  private cachedQ = -1;
  private sinceTail = 0;

  /** @param size - how many recent samples are kept */
  constructor(size = 64) {
    this.ring = new Float64Array(size);
  }

  /** Records one latency in ms. */
  add(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
    this.sinceTail++;
  }

  /** The `q` quantile (0..1) of the kept samples; NaN when there are none. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const sorted = Array.from(this.ring.subarray(0, this.count)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }

  /** The `q` quantile, recomputed only every 16 samples (hedging reads it on every request). */
  tail(q: number): number {
    if (this.sinceTail >= 16 || q !== this.cachedQ || Number.isNaN(this.cachedTail)) {
      this.cachedTail = this.quantile(q);
      this.cachedQ = q;
      this.sinceTail = 0;
    }
    return this.cachedTail;
  }

  /** Forgets every sample (a re-admitted upstream starts afresh). */
  reset(): void {
    this.count = 0;
    this.next = 0;
    this.cachedTail = Number.NaN;
  }
}
