/**
 * Composition. The first middleware of a stack is the outermost: it sees the request
 * first and the reply last.
 *
 * ```text
 *   caller ──► [ a ──► [ b ──► [ c ──► handler ] ] ]
 *   caller ◄── [ a ◄── [ b ◄── [ c ◄── handler ] ] ]
 * ```
 *
 * Notifications from the caller run through the hooks in the same order (a, b, c);
 * notifications from the handler run in reverse (c, b, a), the way replies travel.
 */

import { NextCalledTwiceError } from '../errors/index.js';
import type { Middleware, NotificationHook, Reply, RequestContext, RequestMiddleware } from './types.js';

/** A composed stack: runs `ctx` through every layer, then `innermost`. */
export type ComposedStack = (
  ctx: RequestContext,
  innermost: (ctx: RequestContext) => Promise<Reply>,
) => Promise<Reply>;

/** The name of a middleware, for errors and traces. */
export function middlewareName(middleware: Middleware): string {
  return typeof middleware === 'function' ? middleware.name || 'anonymous' : middleware.name;
}

/** The request function of a middleware, if it has one. */
export function requestHandlerOf(middleware: Middleware): RequestMiddleware | undefined {
  return typeof middleware === 'function' ? middleware : middleware.request;
}

/** The notification hook of a middleware, if it has one. */
export function notificationHookOf(middleware: Middleware): NotificationHook | undefined {
  return typeof middleware === 'function' ? undefined : middleware.notification;
}

/**
 * Composes request middlewares into one function, first = outermost. Each middleware
 * may call `next()` at most once; a second call rejects with `NextCalledTwiceError`
 * naming it.
 *
 * @example
 * ```ts
 * const run = compose([timing, cache(), concurrencyLimit({ limit: 8 })]);
 * const reply = await run(ctx, (ctx) => sendToHandler(ctx));
 * ```
 */
export function compose(stack: readonly Middleware[]): ComposedStack {
  const handlers: RequestMiddleware[] = [];
  const names: string[] = [];
  for (const m of stack) {
    const h = requestHandlerOf(m);
    if (h) {
      handlers.push(h);
      names.push(middlewareName(m));
    }
  }
  const n = handlers.length;
  if (n === 0)
    return function runEmpty(ctx, innermost) {
      return innermost(ctx);
    };
  return function runStack(ctx, innermost) {
    let reached = -1;
    function dispatch(i: number): Promise<Reply> {
      if (i <= reached) return Promise.reject(new NextCalledTwiceError(names[i - 1] ?? 'unknown'));
      reached = i;
      if (i === n) return innermost(ctx);
      try {
        return handlers[i]!(ctx, () => dispatch(i + 1));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return dispatch(0);
  };
}
