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

/** What a {@link trafficProbe} has seen. */
export interface TrafficCount {
  /** Connections the probe joined. */
  connections: number;
  /** Requests that entered the stack, by method. */
  requests: Map<string, number>;
  /** Notifications that crossed the stack. */
  notifications: number;
}

/**
 * A transparent middleware that counts the traffic crossing the stack, so the comparison
 * can tell that the pipeline really was in the path (a wrapped mode in which it never
 * ran would compare equal to the bare server and prove nothing).
 */
export function trafficProbe(): { middleware: Middleware; count: TrafficCount } {
  const count: TrafficCount = { connections: 0, requests: new Map(), notifications: 0 };
  const middleware: Middleware = {
    name: 'traffic-probe',
    request: (ctx, next) => {
      count.requests.set(ctx.method, (count.requests.get(ctx.method) ?? 0) + 1);
      return next();
    },
    notification: () => {
      count.notifications++;
      return undefined;
    },
    attach: () => {
      count.connections++;
      return undefined;
    },
  };
  return { middleware, count };
}
