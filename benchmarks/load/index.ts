/** The load generator ships in the package (`mcp-perf/bench`); the suite uses that copy. */
export * from 'mcp-perf/bench';
