/** Workload samplers, from the package's load generator. */
export { compileWorkload, type Random, seededRandom, zipfSampler } from 'mcp-perf/bench';
