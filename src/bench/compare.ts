/**
 * The core measuring primitive: an interleaved A/B comparison of two variants of the
 * same operation, reported as the ratio candidate/baseline per round.
 *
 * Why a hand-written loop rather than tinybench: tinybench measures one task at a time
 * (all of A, then all of B), so a slow drift of the machine — another process waking
 * up on this shared 2-core box, a CPU frequency change — lands entirely on one side and
 * shows up as a difference between the variants. Gating on ratios needs the two sides
 * measured alternately, in blocks short enough that both see the same conditions, with
 * both connections kept open across blocks (a stdio child process or an HTTP session
 * costs far more to set up than to measure). tinybench also wraps every iteration in
 * its own bookkeeping; here an iteration costs one `performance.now()` and one store
 * into a preallocated buffer.
 */

import { performance } from 'node:perf_hooks';
import { getGc } from './gc.js';
import { type Percentiles, percentiles, quantileSorted, type Spread, spread } from './stats.js';

/**
 * One side of a comparison. `setup` runs once before the first round (start a server,
 * connect a client), `run` performs one operation, `teardown` runs once at the end, also
 * after a failure.
 */
export interface Variant<Ctx = unknown> {
  /** Opens whatever `run` needs; its result is passed to `run` and `teardown`. */
  setup(): Promise<Ctx>;
  /** Performs one operation (one request and its answer). */
  run(ctx: Ctx): Promise<void>;
  /** Closes what `setup` opened. */
  teardown(ctx: Ctx): Promise<void> | void;
}

/** Options of {@link compareVariants}. */
export interface CompareOptions<A, B> {
  /** Shown in results and errors. */
  name: string;
  /** The reference, e.g. the bare SDK round trip. */
  baseline: Variant<A>;
  /** The variant under test, e.g. the same round trip through a middleware stack. */
  candidate: Variant<B>;
  /** Measured rounds (each runs both variants once). At least 2. */
  rounds: number;
  /** Rounds run first and discarded (JIT warm-up, connection caches). Default 2. */
  warmupRounds?: number;
  /** Operations per variant per round. Exclusive with `timePerRoundMs`. */
  itersPerRound?: number;
  /** Time per variant per round, in ms; used when `itersPerRound` is not given. Default 150. */
  timePerRoundMs?: number;
  /** Run a full GC before each block when one is available (see {@link getGc}). Default true. */
  gc?: boolean;
  /**
   * The per-round figure the ratio is taken of. `median` (default): the median time per
   * operation in each block — robust against the multi-millisecond stalls a shared
   * machine inflicts on a few operations (another process scheduled on the core),
   * which would otherwise dominate a 20 µs operation's mean; it measures the typical
   * operation's cost. `mean`: block time / operations — includes GC and stalls, so it
   * also sees allocation pressure, but needs a quiet machine.
   */
  statistic?: 'median' | 'mean';
}

/** What one variant did in one round. */
export interface BlockResult {
  /** Operations performed. */
  ops: number;
  /** Wall time of the block, in ms. */
  elapsedMs: number;
  /** `elapsedMs / ops`, in µs. */
  usPerOp: number;
  /** Median time of one operation in this block, in µs. */
  p50Us: number;
}

/** One measured round. */
export interface RoundResult {
  /** Which variant ran first: `AB` = baseline first. Rounds alternate (ABBA…). */
  order: 'AB' | 'BA';
  /** The baseline's block. */
  baseline: BlockResult;
  /** The candidate's block. */
  candidate: BlockResult;
  /**
   * Candidate / baseline of the chosen statistic (`p50Us` or `usPerOp`): above 1 means
   * the candidate is slower.
   */
  ratio: number;
  /** `candidate.usPerOp / baseline.usPerOp`, whatever the statistic. */
  meanRatio: number;
}

/** Totals and latency percentiles of one variant over all measured rounds. */
export interface VariantSummary {
  /** Operations performed in measured rounds. */
  ops: number;
  /** Summed block time, in ms. */
  elapsedMs: number;
  /** `ops / elapsed`: sequential operations per second. */
  opsPerSec: number;
  /** Per-operation latency, in µs. */
  latencyUs: Percentiles;
}

/** The outcome of {@link compareVariants}. */
export interface CompareResult {
  /** The comparison's name. */
  name: string;
  /** Every measured round, in order. */
  rounds: RoundResult[];
  /** Spread of the per-round ratios candidate/baseline. */
  ratio: Spread;
  /** The baseline over all measured rounds. */
  baseline: VariantSummary;
  /** The candidate over all measured rounds. */
  candidate: VariantSummary;
  /** The settings the comparison ran with. */
  settings: {
    /** Measured rounds. */
    rounds: number;
    /** Discarded warm-up rounds. */
    warmupRounds: number;
    /** Operations per side per round, when fixed. */
    itersPerRound?: number;
    /** Time per side per round, in ms, when not fixed by count. */
    timePerRoundMs?: number;
    /** Whether a full GC ran before each block. */
    gc: boolean;
    /** The per-round statistic the ratio is taken of. */
    statistic: 'median' | 'mean';
  };
}

const DEFAULT_WARMUP_ROUNDS = 2;
const DEFAULT_TIME_PER_ROUND_MS = 150;
/** Per-variant cap on stored per-op samples (8 MB of Float64). */
const MAX_SAMPLES = 1_000_000;

class Samples {
  buf = new Float64Array(4096);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      if (this.length >= MAX_SAMPLES) return;
      const next = new Float64Array(Math.min(this.buf.length * 2, MAX_SAMPLES));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

async function block<C>(
  variant: Variant<C>,
  ctx: C,
  iters: number | undefined,
  timeMs: number,
  samples: Samples | null,
  scratch: Samples,
): Promise<BlockResult> {
  scratch.length = 0;
  const start = performance.now();
  let ops = 0;
  if (iters !== undefined) {
    for (; ops < iters; ops++) {
      const t0 = performance.now();
      await variant.run(ctx);
      scratch.push((performance.now() - t0) * 1000);
    }
  } else {
    const end = start + timeMs;
    let t0 = start;
    while (t0 < end) {
      await variant.run(ctx);
      const t1 = performance.now();
      scratch.push((t1 - t0) * 1000);
      t0 = t1;
      ops++;
    }
  }
  const elapsedMs = performance.now() - start;
  const times = scratch.view();
  if (samples !== null) for (let i = 0; i < times.length; i++) samples.push(times[i] as number);
  times.sort();
  return { ops, elapsedMs, usPerOp: (elapsedMs * 1000) / ops, p50Us: quantileSorted(times, 0.5) };
}

function summarize(blocks: BlockResult[], samples: Samples): VariantSummary {
  let ops = 0;
  let elapsedMs = 0;
  for (const b of blocks) {
    ops += b.ops;
    elapsedMs += b.elapsedMs;
  }
  return { ops, elapsedMs, opsPerSec: (ops * 1000) / elapsedMs, latencyUs: percentiles(samples.view()) };
}

function checkPositiveInt(name: string, option: string, value: number | undefined, min: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min)) {
    throw new RangeError(
      `compareVariants(${name}): options.${option} must be an integer >= ${min} (got ${value})`,
    );
  }
}

/**
 * Runs `baseline` and `candidate` alternately: each round runs one block of each, the
 * order alternating AB, BA, AB … so that neither side is always first after a GC or a
 * context switch. Warm-up rounds come first and are discarded. Each round yields the
 * ratio of the two blocks' median (or mean, see `statistic`) time per operation; the
 * result reports the spread of those ratios, and latency percentiles and throughput
 * per variant.
 *
 * @example
 * const r = await compareVariants({ name: 'x', baseline, candidate, rounds: 10 });
 * r.ratio.median; // 1.02 = the candidate takes 2% longer per operation
 */
export async function compareVariants<A, B>(options: CompareOptions<A, B>): Promise<CompareResult> {
  const { name, baseline, candidate, rounds } = options;
  checkPositiveInt(name, 'rounds', rounds, 2);
  checkPositiveInt(name, 'warmupRounds', options.warmupRounds, 0);
  checkPositiveInt(name, 'itersPerRound', options.itersPerRound, 1);
  if (options.timePerRoundMs !== undefined && !(options.timePerRoundMs > 0)) {
    throw new RangeError(
      `compareVariants(${name}): options.timePerRoundMs must be a positive number (got ${options.timePerRoundMs})`,
    );
  }
  const warmupRounds = options.warmupRounds ?? DEFAULT_WARMUP_ROUNDS;
  const iters = options.itersPerRound;
  const timeMs = options.timePerRoundMs ?? DEFAULT_TIME_PER_ROUND_MS;
  const gc = options.gc !== false ? getGc() : null;
  const statistic = options.statistic ?? 'median';

  let ctxA: A | undefined;
  let ctxB: B | undefined;
  let opened = 0;
  try {
    ctxA = await baseline.setup();
    opened = 1;
    ctxB = await candidate.setup();
    opened = 2;
    const samplesA = new Samples();
    const samplesB = new Samples();
    const scratch = new Samples();
    const measured: RoundResult[] = [];
    for (let r = 0; r < warmupRounds + rounds; r++) {
      const keep = r >= warmupRounds;
      const order: 'AB' | 'BA' = r % 2 === 0 ? 'AB' : 'BA';
      let a: BlockResult;
      let b: BlockResult;
      if (order === 'AB') {
        gc?.();
        a = await block(baseline, ctxA, iters, timeMs, keep ? samplesA : null, scratch);
        gc?.();
        b = await block(candidate, ctxB, iters, timeMs, keep ? samplesB : null, scratch);
      } else {
        gc?.();
        b = await block(candidate, ctxB, iters, timeMs, keep ? samplesB : null, scratch);
        gc?.();
        a = await block(baseline, ctxA, iters, timeMs, keep ? samplesA : null, scratch);
      }
      if (keep) {
        const ratio = statistic === 'median' ? b.p50Us / a.p50Us : b.usPerOp / a.usPerOp;
        measured.push({ order, baseline: a, candidate: b, ratio, meanRatio: b.usPerOp / a.usPerOp });
      }
    }
    return {
      name,
      rounds: measured,
      ratio: spread(measured.map((m) => m.ratio)),
      baseline: summarize(
        measured.map((m) => m.baseline),
        samplesA,
      ),
      candidate: summarize(
        measured.map((m) => m.candidate),
        samplesB,
      ),
      settings: {
        rounds,
        warmupRounds,
        ...(iters !== undefined ? { itersPerRound: iters } : { timePerRoundMs: timeMs }),
        gc: gc !== null,
        statistic,
      },
    };
  } finally {
    try {
      if (opened === 2) await candidate.teardown(ctxB as B);
    } finally {
      if (opened >= 1) await baseline.teardown(ctxA as A);
    }
  }
}
