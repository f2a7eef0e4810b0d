/**
 * Rate limit: a token bucket per key (one shared bucket, or per tool, per principal …).
 * A request takes `cost` tokens; a request that finds too few is refused with
 * {@link RateLimitedError} (JSON-RPC `-31429`, `data.retryAfterMs` computed from the
 * bucket's refill), or with an `isError` tool result when `shedAs` is `tool-result`.
 * Control methods (`initialize`, `server/discover`, `ping`) are never limited.
 *
 * Buckets live in a {@link RateLimitStore}; the default is an in-memory store bounded by
 * `maxKeys`. A shared store (e.g. Redis, for limits across replicas) implements the same
 * one-method interface.
 *
 * @module
 */

import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import { CONTROL_METHODS } from '../../core/messages.js';
import type { MiddlewareObject, Reply, RequestContext } from '../../core/types.js';
import { InvalidOptionError, RateLimitedError, StoreError } from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import { functionOption, positiveInteger, positiveNumber } from '../../internal/validate.js';
import type { ShedAs } from '../concurrency/index.js';
import { toolResultOf } from '../concurrency/shed.js';
import {
  MEMORY_RATE_LIMIT_STORE_DEFAULTS,
  MemoryRateLimitStore,
  type RateLimitStore,
  type TakeResult,
  type TokenBucket,
} from './store.js';

export {
  MEMORY_RATE_LIMIT_STORE_DEFAULTS,
  MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  type RateLimitStore,
  type TakeResult,
  type TokenBucket,
} from './store.js';

/** Emitted when a request is refused. */
export interface RateLimitedEvent {
  /** The limit's name. */
  scope: string;
  /** The request's key, `undefined` for a single shared bucket. */
  key: string | undefined;
  /** The request's method. */
  method: string;
  /** The error it was refused with. */
  error: RateLimitedError;
}

/** Live figures of a rate limiter. */
export interface RateLimitStats {
  /** Requests let through. */
  allowed: number;
  /** Requests refused. */
  limited: number;
  /** Store failures (each handled per `onStoreError`). */
  storeErrors: number;
}

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Requests (tokens) allowed per `windowMs`, per key: the refill rate. Default 100. */
  limit?: number;
  /** The window `limit` is counted over, in ms. Default 1000. */
  windowMs?: number;
  /** Tokens a full bucket holds: how many requests may arrive at once after a quiet spell. Default: `limit`. */
  burst?: number;
  /** The limit's name, used in messages and `data.scope` (e.g. `tool`). Default `global`. */
  name?: string;
  /**
   * The bucket a request draws from (e.g. `toolKey`, `principalKey`); `undefined` exempts
   * the request. Default: one bucket shared by all requests.
   */
  key?: (ctx: RequestContext) => string | undefined;
  /** Tokens a request takes (clamped to `burst`). Default: 1. */
  cost?: (ctx: RequestContext) => number;
  /** Where buckets live. Default: a new {@link MemoryRateLimitStore} with `maxKeys`. */
  store?: RateLimitStore;
  /** Bound of the default store (ignored with `store`). Default 10 000. */
  maxKeys?: number;
  /** How refused requests are answered (see {@link ShedAs}). Default `error`. */
  shedAs?: ShedAs;
  /**
   * What to do when the store fails (always reported through the connection's `onerror`):
   * `allow` the request (fail open) or `deny` it. Default `allow`.
   */
  onStoreError?: 'allow' | 'deny';
  /** The clock, in ms; buckets refill by it. Default `Date.now` (comparable across replicas). */
  clock?: () => number;
  /** Called for every refused request. */
  onLimited?: (event: RateLimitedEvent) => void;
}

/** The defaults of {@link rateLimit}, each cited in its option's doc comment. */
export const RATE_LIMIT_DEFAULTS = Object.freeze({
  /** {@link RateLimitOptions.limit}: requests per window, per key. */
  limit: 100,
  /** {@link RateLimitOptions.windowMs}: one second. */
  windowMs: 1000,
  /** {@link RateLimitOptions.name}. */
  name: 'global',
  /** Tokens a request takes when {@link RateLimitOptions.cost} is not given. */
  cost: 1,
  /** {@link RateLimitOptions.maxKeys}: the bound of the default {@link MemoryRateLimitStore}. */
  maxKeys: MEMORY_RATE_LIMIT_STORE_DEFAULTS.maxKeys,
  /** {@link RateLimitOptions.shedAs}: refused requests get a JSON-RPC error. */
  shedAs: 'error' as ShedAs,
  /** {@link RateLimitOptions.onStoreError}: fail open. */
  onStoreError: 'allow' as 'allow' | 'deny',
});

/** A rate-limit middleware with live figures. */
export interface RateLimiter extends MiddlewareObject {
  /** `rateLimit`. */
  readonly name: string;
  /** Counts of allowed and refused requests and store failures. */
  stats(): RateLimitStats;
}

const WHERE = 'rateLimit';

/**
 * Creates a rate-limit middleware.
 *
 * @example
 * ```ts
 * // 10 calls per second per tool and principal, bursts of 20.
 * const perCaller = rateLimit({
 *   name: 'tool',
 *   key: (ctx) => (ctx.method === 'tools/call' ? `${principalKey(ctx)}|${toolKey(ctx)}` : undefined),
 *   limit: 10,
 *   burst: 20,
 * });
 * withMiddleware(server, [perCaller, concurrencyLimit({ limit: 32 })]);
 * ```
 */
export function rateLimit(options: RateLimitOptions = {}): RateLimiter {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(WHERE, '', 'an object', options);
  }
  const limit = positiveNumber(WHERE, 'limit', options.limit, RATE_LIMIT_DEFAULTS.limit);
  const windowMs = positiveNumber(WHERE, 'windowMs', options.windowMs, RATE_LIMIT_DEFAULTS.windowMs);
  const burst = positiveNumber(WHERE, 'burst', options.burst, limit);
  const name = options.name ?? RATE_LIMIT_DEFAULTS.name;
  if (typeof name !== 'string' || name === '')
    throw new InvalidOptionError(WHERE, 'name', 'a non-empty string', name);
  const key = functionOption(WHERE, 'key', options.key);
  const cost = functionOption(WHERE, 'cost', options.cost);
  const clock = functionOption(WHERE, 'clock', options.clock) ?? Date.now;
  const onLimited = functionOption(WHERE, 'onLimited', options.onLimited);
  const shedAs = options.shedAs ?? RATE_LIMIT_DEFAULTS.shedAs;
  if (shedAs !== 'error' && shedAs !== 'tool-result') {
    throw new InvalidOptionError(WHERE, 'shedAs', '"error" or "tool-result"', shedAs);
  }
  const onStoreError = options.onStoreError ?? RATE_LIMIT_DEFAULTS.onStoreError;
  if (onStoreError !== 'allow' && onStoreError !== 'deny') {
    throw new InvalidOptionError(WHERE, 'onStoreError', '"allow" or "deny"', onStoreError);
  }
  let store = options.store;
  if (store === undefined) {
    const maxKeys = positiveInteger(WHERE, 'maxKeys', options.maxKeys, RATE_LIMIT_DEFAULTS.maxKeys);
    store = new MemoryRateLimitStore({ maxKeys });
  } else if (typeof store !== 'object' || store === null || typeof store.take !== 'function') {
    throw new InvalidOptionError(WHERE, 'store', 'an object with a take() method', store);
  }
  const bucket: TokenBucket = { capacity: burst, refillPerMs: limit / windowMs };
  const take = store.take.bind(store);
  const stats: RateLimitStats = { allowed: 0, limited: 0, storeErrors: 0 };
  const describe = `${limit} per ${windowMs} ms (burst ${burst})`;

  const refuse = (ctx: RequestContext, k: string | undefined, retryAfterMs: number, why: string): Reply => {
    stats.limited++;
    const where = k === undefined ? name : `${name} ${JSON.stringify(k)}`;
    const error = new RateLimitedError(`rate limit reached for ${where}: ${why}`, {
      retryAfterMs,
      scope: k === undefined ? name : `${name}:${k}`,
      limit,
    });
    ctx.state.shed = true;
    if (onLimited) {
      try {
        onLimited({ scope: name, key: k, method: ctx.method, error });
      } catch (e) {
        ctx.connection.reportError(asError(e));
      }
    }
    if (shedAs === 'tool-result' && ctx.method === 'tools/call') return toolResultOf(error);
    throw error;
  };

  const decide = (ctx: RequestContext, k: string | undefined, r: TakeResult, next: () => Promise<Reply>) => {
    if (r.allowed) {
      stats.allowed++;
      return next();
    }
    return refuse(
      ctx,
      k,
      Math.max(1, r.retryAfterMs),
      `${describe}; retry in ${Math.max(1, r.retryAfterMs)} ms`,
    );
  };

  const failed = (ctx: RequestContext, k: string | undefined, error: unknown, next: () => Promise<Reply>) => {
    stats.storeErrors++;
    ctx.connection.reportError(new StoreError('rate limit', 'take', error));
    if (onStoreError === 'allow') {
      stats.allowed++;
      return next();
    }
    return refuse(ctx, k, windowMs, `the rate limit store failed; retry in ${windowMs} ms`);
  };

  const limiter: RateLimiter = {
    name: 'rateLimit',
    // The handshake and pings are never limited.
    handles: (method) => !CONTROL_METHODS.has(method),
    request: async function rateLimit(ctx, next) {
      if (ctx.control) return next();
      let k: string | undefined;
      if (key) {
        k = key(ctx);
        if (k === undefined) return next();
      }
      let r: TakeResult | Promise<TakeResult>;
      try {
        r = take(k ?? '', cost ? cost(ctx) : RATE_LIMIT_DEFAULTS.cost, clock(), bucket);
      } catch (error) {
        return failed(ctx, k, error, next);
      }
      if (!(r instanceof Promise)) return decide(ctx, k, r, next);
      let settled: TakeResult;
      try {
        settled = await r;
      } catch (error) {
        return failed(ctx, k, error, next);
      }
      return decide(ctx, k, settled, next);
    },
    stats: () => ({ ...stats }),
  };
  return brandMiddleware(limiter, 'rateLimit');
}

/**
 * Adds a rate limit to an MCP server, client or transport: the same as
 * `withMiddleware(target, [rateLimit(options)])`. Pass an instance made by
 * {@link rateLimit} to keep a handle on its `stats()` or to share one limit between
 * targets. Returns the target; on a bare transport (with `{ side }`), the wrapping
 * transport.
 *
 * @example
 * ```ts
 * withRateLimit(server, { limit: 50, key: principalKey, name: 'principal' });
 * ```
 */
export const withRateLimit: WithHelper<RateLimitOptions, RateLimiter> = defineWith('rateLimit', rateLimit);
