/** The SDK v2 counting server ships in `mcp-perf/testing`; tests use that copy. */
export {
  connectPairV2,
  createCountingServerV2,
  MODERN_AND_LEGACY_VERSIONS,
} from '../../src/testing/servers-v2.js';
