/**
 * A retry budget: retries (and hedged copies) may add at most `ratio` of the recent
 * requests, plus a small floor per second so a quiet pool can still retry. Counted in
 * one-second buckets over a sliding window, so a full outage cannot turn every request
 * into `attempts` requests.
 */
export class RetryBudget {
  private readonly requests: Float64Array;
  private readonly retries: Float64Array;
  private readonly stamps: Float64Array;
  private readonly bucketMs: number;

  /**
   * @param ratio - retries allowed per request, e.g. 0.2
   * @param minPerSecond - retries always allowed per second of the window
   * @param windowMs - the window the counts cover
   * @param now - the clock, in ms
   */
  constructor(
    private ratio: number,
    private minPerSecond: number,
    readonly windowMs: number,
    private readonly now: () => number,
  ) {
    const buckets = Math.max(1, Math.ceil(windowMs / 1000));
    this.bucketMs = windowMs / buckets;
    this.requests = new Float64Array(buckets);
    this.retries = new Float64Array(buckets);
    this.stamps = new Float64Array(buckets).fill(-1);
  }

  private slot(): number {
    const tick = Math.floor(this.now() / this.bucketMs);
    const i = tick % this.requests.length;
    if (this.stamps[i] !== tick) {
      this.stamps[i] = tick;
      this.requests[i] = 0;
      this.retries[i] = 0;
    }
    return i;
  }

  /** Counts one first attempt. */
  request(): void {
    this.requests[this.slot()]!++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(): boolean {
    const current = this.slot();
    const { retries, allowed } = this.snapshot();
    if (retries + 1 > allowed) return false;
    this.retries[current]!++;
    return true;
  }

  /** New limits over the same window; the counts so far are kept. */
  configure(ratio: number, minPerSecond: number): void {
    this.ratio = ratio;
    this.minPerSecond = minPerSecond;
  }

  /** Retries taken and requests counted in the current window, and the retries it allows. */
  snapshot(): { requests: number; retries: number; allowed: number } {
    this.slot();
    const oldest = Math.floor(this.now() / this.bucketMs) - this.requests.length + 1;
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.requests.length; i++) {
      if (this.stamps[i]! < oldest) continue;
      requests += this.requests[i]!;
      retries += this.retries[i]!;
    }
    return { requests, retries, allowed: requests * this.ratio + (this.minPerSecond * this.windowMs) / 1000 };
  }
}
