/** A full GC between measurement blocks, shared with `mcp-perf bench` (see `src/bench/gc.ts`). */
export { getGc } from 'mcp-perf/bench';
