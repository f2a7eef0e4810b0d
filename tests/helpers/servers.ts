/** The counting server and linked pairs ship in `mcp-perf/testing`; tests use that copy. */
export {
  type CountingServerOptions,
  type Counts,
  connectPair,
  createCountingServer,
  type Deferred,
  deferred,
  linkPair,
  type PairStacks,
} from '../../src/testing/servers.js';
