/**
 * Scenario definitions: what the runner can measure. A scenario file exports a record
 * keyed by scenario name (the name budgets refer to).
 */

import type { LoadResult } from '../load/index.js';
import type { Variant } from './compare.js';

/** An interleaved A/B comparison (see `compareVariants`). */
export interface CompareScenario {
  /** Discriminant. */
  kind: 'compare';
  /** One line: what is compared with what. */
  description: string;
  /** The reference side. */
  baseline: Variant<unknown>;
  /** The side under test. */
  candidate: Variant<unknown>;
  /** Measured rounds in a normal run (the runner doubles them to re-measure a breach). */
  rounds: number;
  /** Discarded warm-up rounds. Default 2. */
  warmupRounds?: number;
  /** Time per variant per round, in ms. Default 150. */
  timePerRoundMs?: number;
  /** Operations per variant per round, instead of a time. */
  itersPerRound?: number;
  /** The per-round statistic compared (see `CompareOptions.statistic`). Default `median`. */
  statistic?: 'median' | 'mean';
  /** Run a full GC before each block (see `CompareOptions.gc`). Default true. */
  gc?: boolean;
}

/**
 * How a comparison of one in-memory round trip (5–30 µs a call) is run: many short
 * interleaved blocks rather than a few long ones.
 *
 * On a shared machine the time of a call drifts between phases that last a few hundred
 * milliseconds (another tenant on the core, frequency changes). A pair of 150 ms blocks
 * often straddles a change, and its ratio then swings by 5–10%; a pair of 4 ms blocks
 * rarely does, and the median of 300 such ratios moves by well under 1% between runs.
 * A full GC before every 4 ms block would cost more than the block and leave the heap in
 * a state no server runs in, so there is none: the alternating order (AB, BA …) shares
 * the collector's work between the two sides, and the median per call leaves its pauses
 * out of both.
 */
export const FINE_INTERLEAVE = {
  rounds: 300,
  // 200 ms of warm-up: two 4 ms rounds would leave the first measured ones to the JIT.
  warmupRounds: 25,
  timePerRoundMs: 4,
  gc: false,
} as const satisfies Pick<CompareScenario, 'rounds' | 'warmupRounds' | 'timePerRoundMs' | 'gc'>;

/** A load-generator run (throughput over time, queueing under overload); report only. */
export interface LoadScenario {
  /** Discriminant. */
  kind: 'load';
  /** One line: what is driven how. */
  description: string;
  /** Runs the load and returns its result. */
  run(): Promise<LoadResult>;
}

/** What one run of an experiment yields. */
export interface ExperimentResult {
  /**
   * The named figures, e.g. `goodputOverCapacity: 0.95`. Budgets limit them by name
   * (metric `max` or `min`); every name the scenario declares must be here, as a finite
   * number.
   */
  figures: Record<string, number>;
  /** The load runs the figures were computed from, by step (kept for the report). */
  loads?: Record<string, LoadResult>;
  /** The settings the run used (rates, durations, stacks), to reproduce it. */
  details?: Record<string, unknown>;
}

/**
 * A multi-step experiment that yields named figures, e.g. a server's capacity measured
 * first and its goodput under overload as a fraction of it. Budgets limit a figure with
 * metric `max` or `min`; a breach re-runs the whole experiment once (see `verdict.ts`).
 */
export interface ExperimentScenario {
  /** Discriminant. */
  kind: 'experiment';
  /** One line: what is done to what. */
  description: string;
  /** Every figure `run` yields, by name: what it is, with its unit (copied to the results). */
  figures: Record<string, string>;
  /** Runs the experiment once. */
  run(): Promise<ExperimentResult>;
}

/** Any scenario. */
export type Scenario = CompareScenario | LoadScenario | ExperimentScenario;

/** Scenarios keyed by name, e.g. `pipeline.empty-stack.inmemory`. */
export type ScenarioSet = Record<string, Scenario>;

/**
 * How a comparison of one stdio round trip to a child process (50-100 µs a call, two
 * processes on two cores) is run: short interleaved blocks of about 20 ms, as
 * {@link FINE_INTERLEAVE} for the same reasons, with enough calls per block that the
 * block's median is not one scheduling accident of either process.
 */
export const STDIO_INTERLEAVE = {
  rounds: 120,
  warmupRounds: 10,
  timePerRoundMs: 20,
  gc: false,
} as const satisfies Pick<CompareScenario, 'rounds' | 'warmupRounds' | 'timePerRoundMs' | 'gc'>;
