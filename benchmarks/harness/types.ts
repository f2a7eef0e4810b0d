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
  /** The per-round statistic compared (see `CompareOptions.statistic`). Default `median`. */
  statistic?: 'median' | 'mean';
}

/** A load-generator run (throughput over time, queueing under overload); report only. */
export interface LoadScenario {
  /** Discriminant. */
  kind: 'load';
  /** One line: what is driven how. */
  description: string;
  /** Runs the load and returns its result. */
  run(): Promise<LoadResult>;
}

/** Any scenario. */
export type Scenario = CompareScenario | LoadScenario;

/** Scenarios keyed by name, e.g. `pipeline.empty-stack.inmemory`. */
export type ScenarioSet = Record<string, Scenario>;
