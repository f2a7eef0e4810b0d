/** Order statistics, shared with `mcp-perf bench` (see `src/bench/stats.ts`). */
export {
  mean,
  median,
  type Percentiles,
  percentiles,
  quantile,
  quantileSorted,
  type Spread,
  spread,
} from 'mcp-perf/bench';
