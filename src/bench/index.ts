export {
  BENCH_METRICS,
  type BenchBudget,
  type BenchMetric,
  type BenchRun,
  type BudgetVerdict,
  higherIsBetter,
  judge,
  parseBudgets,
} from './budgets.js';
export {
  type BlockResult,
  type CompareOptions,
  type CompareResult,
  compareVariants,
  type RoundResult,
  type Variant,
  type VariantSummary,
} from './compare.js';
export { getGc } from './gc.js';
export {
  type BenchOutputs,
  benchCharts,
  benchJson,
  benchJunit,
  benchMarkdown,
  comparisonChart,
  runLatencyChart,
  writeBenchReports,
} from './report.js';
export {
  type AbOptions,
  type BenchComparison,
  type BenchConfig,
  type BenchProgress,
  type BenchResult,
  type BenchRunResult,
  type CheckedBenchConfig,
  checkBenchConfig,
  runBench,
} from './run.js';
export { measureSelfCost, type SelfCost } from './self-cost.js';
export {
  mean,
  median,
  type Percentiles,
  percentiles,
  quantile,
  quantileSorted,
  type Spread,
  spread,
} from './stats.js';
export {
  CHART_COLORS,
  CHART_FONT,
  escapeXml,
  linearTicks,
  svgDoc,
  svgLegend,
  svgText,
  timelineChart,
} from './svg.js';
export {
  type BenchTarget,
  type ConnectableServer,
  describeBenchTarget,
  type OpenBenchTarget,
  openBenchTarget,
  validateBenchTarget,
} from './target.js';
export {
  beyondLimit,
  decideLimit,
  type Judgement,
  judgeValues,
  type Limit,
  type RuleVerdict,
} from './verdict.js';
