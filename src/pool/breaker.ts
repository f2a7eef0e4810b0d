/**
 * A circuit breaker per upstream: a small state machine rather than a policy library,
 * because the pool must ask "may this upstream take a request?" while choosing among
 * several (a wrapping `execute(fn)` answers only after it has been chosen) and must not
 * allocate a promise per request to ask.
 *
 * - **closed**: requests flow; failures and successes are counted in one-second buckets
 *   over `windowMs`. When at least `minRequests` were seen and the failure ratio reaches
 *   `failureRatio`, the breaker opens.
 * - **open**: no requests for `openMs`; then half-open.
 * - **half-open**: a sample of at most `halfOpenRequests` trial requests is let through at
 *   a time; when that many succeed the breaker closes, and any failure opens it again.
 */

/** A breaker's state. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Settings of a {@link CircuitBreaker}. */
export interface BreakerSettings {
  /** Failure ratio over the window that opens the breaker. */
  readonly failureRatio: number;
  /** Requests the window must hold before the ratio is judged. */
  readonly minRequests: number;
  /** The window failures are counted over, in ms. */
  readonly windowMs: number;
  /** How long the breaker stays open before it samples again, in ms. */
  readonly openMs: number;
  /** Trial requests let through at a time when half-open; that many successes close it. */
  readonly halfOpenRequests: number;
}

export class CircuitBreaker {
  /** The current state (read {@link CircuitBreaker.allows} first: an open breaker turns half-open lazily). */
  state: BreakerState = 'closed';
  private openedAt = 0;
  private trials = 0;
  private trialSuccesses = 0;
  private failures!: Float64Array;
  private totals!: Float64Array;
  private stamps!: Float64Array;
  private bucketMs!: number;

  /**
   * @param settings - thresholds and durations
   * @param now - the clock, in ms
   * @param onChange - told about every transition
   */
  constructor(
    private settings: BreakerSettings,
    private readonly now: () => number,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void,
  ) {
    this.window(settings.windowMs);
  }

  private window(windowMs: number): void {
    const buckets = Math.max(1, Math.ceil(windowMs / 1000));
    this.bucketMs = windowMs / buckets;
    this.failures = new Float64Array(buckets);
    this.totals = new Float64Array(buckets);
    this.stamps = new Float64Array(buckets).fill(-1);
  }

  /**
   * New settings, keeping the state: an open breaker stays open (for the new `openMs`
   * from when it opened), a half-open one keeps its trials. A new `windowMs` starts the
   * count of failures afresh.
   */
  reconfigure(settings: BreakerSettings): void {
    if (settings.windowMs !== this.settings.windowMs) this.window(settings.windowMs);
    this.settings = settings;
  }

  /** True when a request may be sent now (an open breaker past `openMs` becomes half-open). */
  allows(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.settings.openMs) return false;
      this.move('half-open');
      this.trials = 0;
      this.trialSuccesses = 0;
    }
    return this.trials < this.settings.halfOpenRequests;
  }

  /** Records that a request was sent (a trial, when half-open). */
  onSend(): boolean {
    if (this.state !== 'half-open') return false;
    this.trials++;
    return true;
  }

  /**
   * Records an outcome.
   * @param ok - the upstream answered
   * @param trial - the request was sent as a half-open trial (from {@link CircuitBreaker.onSend})
   */
  record(ok: boolean, trial: boolean): void {
    if (this.state === 'half-open') {
      if (!trial) return;
      this.trials--;
      if (!ok) return this.open();
      if (++this.trialSuccesses >= this.settings.halfOpenRequests) this.close();
      return;
    }
    if (this.state === 'open') return;
    const tick = Math.floor(this.now() / this.bucketMs);
    const i = tick % this.totals.length;
    if (this.stamps[i] !== tick) {
      this.stamps[i] = tick;
      this.totals[i] = 0;
      this.failures[i] = 0;
    }
    this.totals[i]!++;
    if (ok) return;
    this.failures[i]!++;
    const oldest = tick - this.totals.length + 1;
    let total = 0;
    let failed = 0;
    for (let j = 0; j < this.totals.length; j++) {
      if (this.stamps[j]! < oldest) continue;
      total += this.totals[j]!;
      failed += this.failures[j]!;
    }
    if (total >= this.settings.minRequests && failed / total >= this.settings.failureRatio) this.open();
  }

  /** A trial request ended without an outcome (cancelled): its slot is free again. */
  abandon(trial: boolean): void {
    if (trial && this.state === 'half-open' && this.trials > 0) this.trials--;
  }

  private open(): void {
    this.openedAt = this.now();
    this.trials = 0;
    this.trialSuccesses = 0;
    this.move('open');
  }

  private close(): void {
    this.stamps.fill(-1);
    this.move('closed');
  }

  private move(to: BreakerState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.onChange(from, to);
  }
}
