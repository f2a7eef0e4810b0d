/**
 * The outcomes a request can end with, and their indexes in the per-operation counters.
 *
 * @module
 */

/** How a request ended. */
export type Outcome = 'ok' | 'tool_error' | 'protocol_error' | 'shed' | 'cancelled' | 'timeout';

/** Every outcome, in the order of the per-operation counters. */
export const OUTCOMES: readonly Outcome[] = [
  'ok',
  'tool_error',
  'protocol_error',
  'shed',
  'cancelled',
  'timeout',
];

export const OK = 0;
export const TOOL_ERROR = 1;
export const PROTOCOL_ERROR = 2;
export const SHED = 3;
export const CANCELLED = 4;
export const TIMEOUT = 5;
