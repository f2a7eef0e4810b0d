/**
 * The interleaved A/B comparison: ships in the package (`src/bench/compare.ts`) so that
 * `mcp-perf bench --baseline` measures the same way the suite does.
 */
export {
  type BlockResult,
  type CompareOptions,
  type CompareResult,
  compareVariants,
  type RoundResult,
  type Variant,
  type VariantSummary,
} from 'mcp-perf/bench';
