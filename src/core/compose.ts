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
import { asError } from '../internal/as-error.js';
import type {
  Connection,
  Middleware,
  NotificationHook,
  Reply,
  RequestContext,
  RequestMiddleware,
} from './types.js';

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

/** Methods whose stacks one connection keeps; requests of any other method run the whole stack. */
const METHOD_STACKS_MAX = 64;

/**
 * A stack composed once per method for one connection, of the layers that handle that
 * method there (see `MiddlewareObject.handles`): a layer that has nothing to do with a
 * method is never called for it. Layers without `handles` are in every method's stack.
 * The stacks kept are composed again after the connection's `restack()` (the pipeline
 * counts them in `restacks`), so a stack nested in a layer (a switchable stack) follows too.
 */
export class MethodStacks {
  readonly #layers: readonly Middleware[];
  readonly #all: ComposedStack;
  readonly #byMethod = new Map<string, ComposedStack>();
  /** The connection's `restacks` count when the stacks kept were composed. */
  #epoch = 0;
  /** False when no layer declares what it handles: every method runs the whole stack. */
  readonly selective: boolean;

  constructor(layers: readonly Middleware[]) {
    this.#layers = layers;
    this.#all = compose(layers);
    this.selective = layers.some((m) => typeof m !== 'function' && m.handles !== undefined);
  }

  /** The whole stack, every layer included. */
  get all(): ComposedStack {
    return this.#all;
  }

  /** The stack requests of `method` run through on `connection`. */
  for(method: string, connection: Connection): ComposedStack {
    if (!this.selective) return this.#all;
    const epoch = (connection as { restacks?: number }).restacks ?? 0;
    if (epoch !== this.#epoch) {
      this.#byMethod.clear();
      this.#epoch = epoch;
    }
    let run = this.#byMethod.get(method);
    if (run === undefined) {
      run = compose(this.#layers.filter((m) => layerHandles(m, method, connection)));
      // A caller can make up methods without end: past the bound they run the whole stack.
      if (this.#byMethod.size < METHOD_STACKS_MAX) this.#byMethod.set(method, run);
      else run = this.#all;
    }
    return run;
  }

  /** True when some layer handles `method` on `connection`. */
  handles(method: string, connection: Connection): boolean {
    return this.#layers.some((m) => layerHandles(m, method, connection));
  }
}

/** Whether `m` handles `method` on `connection`; a `handles` that throws is reported and answers true. */
function layerHandles(m: Middleware, method: string, connection: Connection): boolean {
  if (typeof m === 'function') return true;
  if (m.request === undefined) return false;
  if (m.handles === undefined) return true;
  try {
    return m.handles(method, connection) !== false;
  } catch (error) {
    connection.reportError(new Error(`${m.name}: handles(${method}) failed: ${asError(error).message}`));
    return true;
  }
}
