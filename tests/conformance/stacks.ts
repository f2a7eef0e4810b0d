/**
 * The middleware stacks the conformance comparison installs on the everything server.
 *
 * `everyMiddleware` is the "full" mode: every middleware the library ships, at its
 * defaults, outermost first. Add each new middleware here as it lands; the comparison
 * then proves it invisible to a client that expects spec behaviour.
 */
import { otel } from '../../src/entries/otel.js';
import type { Middleware, Next, Reply, RequestContext } from '../../src/index.js';
import { batching } from '../../src/middleware/batching/index.js';
import { cache } from '../../src/middleware/cache/index.js';
import { concurrencyLimit } from '../../src/middleware/concurrency/index.js';
import { metrics } from '../../src/middleware/metrics/index.js';
import { notModified } from '../../src/middleware/not-modified/index.js';
import { rateLimit } from '../../src/middleware/rate-limit/index.js';
import { tokenBudget } from '../../src/middleware/token-budget/index.js';
import { toolFilter } from '../../src/middleware/tool-filter/index.js';

/** A request middleware in its plain-function form that only passes requests on. */
function passThroughFunction(_ctx: RequestContext, next: Next): Promise<Reply> {
  return next();
}

/**
 * A middleware in its object form, with every hook, that changes nothing: requests go on,
 * notifications pass unchanged in both directions.
 */
const passThroughObject: Middleware = {
  name: 'pass-through',
  request: (_ctx, next) => next(),
  notification: () => undefined,
  attach: () => undefined,
};

/**
 * Every middleware the library ships, at its defaults, outermost first (the order of the
 * README's example), then the two pass-through forms. One instance of each serves every
 * connection, as in production.
 */
export const everyMiddleware: Middleware[] = [
  notModified(),
  otel(),
  metrics(),
  rateLimit(),
  concurrencyLimit(),
  toolFilter(),
  tokenBudget(),
  cache(),
  batching(),
  passThroughFunction,
  passThroughObject,
];

export { type TrafficCount, trafficProbe } from '../../src/testing/compare.js';
