/**
 * What the exporters (Prometheus, OpenTelemetry) read from a metrics middleware. Kept
 * off the public object so its shape can change without breaking users.
 *
 * @module
 */

import type { TokenCounter } from '../../tokens/types.js';
import type { MetricsSource } from './options.js';
import type { StatsRegistry } from './stats.js';
import type { MetricsMiddleware } from './types.js';

/** The state behind one metrics middleware. */
export interface MetricsInternals {
  readonly registry: StatsRegistry;
  readonly clock: () => number;
  readonly sources: readonly MetricsSource[];
  readonly counter: TokenCounter | undefined;
  readonly bytes: boolean;
}

const internals = new WeakMap<object, MetricsInternals>();

/** Associates a middleware with its state. */
export function bindInternals(middleware: MetricsMiddleware, state: MetricsInternals): void {
  internals.set(middleware, state);
}

/** The state behind a middleware made by `metrics()`, or undefined for anything else. */
export function internalsOf(middleware: unknown): MetricsInternals | undefined {
  return typeof middleware === 'object' && middleware !== null ? internals.get(middleware) : undefined;
}
