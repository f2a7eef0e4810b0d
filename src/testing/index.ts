export {
  type ContractContext,
  type ContractOptions,
  cacheStoreContract,
  makeEntry,
} from './cache-store-contract.js';
export { canonical, evidence, firstDifference, type TrafficCount, trafficProbe } from './compare.js';
export {
  assertInvisible,
  checkInvisible,
  type Era,
  type ExchangeRecord,
  type InvisibilityReport,
  type InvisibleOptions,
  type Side,
} from './invisible.js';
export { rateLimitStoreContract } from './rate-limit-store-contract.js';
export type { TestRunner } from './runner.js';
export {
  type CountingServer,
  type CountingServerOptions,
  type Counts,
  connectPair,
  createCountingServer,
  type Deferred,
  deferred,
  type LinkedPair,
  linkPair,
  type PairStacks,
} from './servers.js';
