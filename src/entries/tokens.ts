/**
 * Exact token counting on `tiktoken`, kept out of the main entry so `tiktoken` (an
 * optional peer dependency) and its WebAssembly load only for applications that import
 * `mcp-perf/tokens`, and even then only on the first count.
 *
 * @example
 * ```ts
 * import { exactTokenCounter } from 'mcp-perf/tokens';
 *
 * const counter = exactTokenCounter(); // o200k_base
 * counter.count('{"city": "Paris"}');
 * ```
 *
 * @module
 */

export type { ExactTokenCounter, ExactTokenCounterOptions, TokenEncoding } from '../tokens/exact.js';
export {
  DEFAULT_TOKEN_ENCODING,
  encodingForModel,
  exactTokenCounter,
  freeEncoders,
  liveEncoderCount,
} from '../tokens/exact.js';
export type { TokenCounter } from '../tokens/types.js';
