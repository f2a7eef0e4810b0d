/**
 * The one interface every token-aware middleware (metrics, token budget, tool filter)
 * counts through.
 *
 * @module
 */

/**
 * Counts the tokens a model would read for a piece of text.
 *
 * `count()` is synchronous: an implementation that needs a tokenizer loads it on first
 * use (or when told to, e.g. `warm()` on the exact counter) and then answers without
 * awaiting. Counters are meant to be created once and shared by every connection.
 *
 * @example
 * ```ts
 * import { approximateTokenCounter } from 'mcp-perf';
 *
 * const counter = approximateTokenCounter();
 * counter.count('{"temperature": 21.5, "unit": "C"}'); // 14
 * ```
 */
export interface TokenCounter {
  /** A short identifier for reports and metric attributes, e.g. `approximate:o200k_base`. */
  readonly name: string;
  /** True when `count()` returns the tokenizer's exact count; false for estimates. */
  readonly exact: boolean;
  /**
   * The number of tokens in `text`. Never throws for any string, including text that
   * contains a tokenizer's special tokens such as `<|endoftext|>` (counted as text).
   */
  count(text: string): number;
  /**
   * Releases what the counter holds (e.g. a WASM tokenizer). Optional; calling it more
   * than once is harmless.
   */
  dispose?(): void;
}
