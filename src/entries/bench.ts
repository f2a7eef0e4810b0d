/**
 * `mcp-perf/bench`: benchmark an MCP server in CI — `runBench` (what the `mcp-perf bench`
 * command runs), budgets, reports (JSON, JUnit XML, Markdown, SVG), the interleaved A/B
 * comparison, and the load generator (`runLoad`) it is built on.
 *
 * ```ts
 * import { runBench, writeBenchReports } from 'mcp-perf/bench';
 * const result = await runBench({
 *   target: { stdio: 'node dist/server.js' },
 *   workload: { operations: [{ method: 'tools/call', name: 'echo', arguments: { text: 'hi' } }] },
 *   budgets: { budgets: [{ metric: 'latency.p99', max: 50 }] },
 * });
 * await writeBenchReports(result, { junit: 'bench/junit.xml' });
 * ```
 *
 * Needs `@modelcontextprotocol/sdk` (v1) installed.
 *
 * @module
 */

export * from '../bench/index.js';
export * from '../load/index.js';
