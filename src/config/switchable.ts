import { brandMiddleware } from '../adapters/with.js';
import { MethodStacks, notificationHookOf } from '../core/compose.js';
import type {
  Connection,
  Middleware,
  MiddlewareObject,
  Next,
  NotificationContext,
  NotificationHook,
  Reply,
  RequestContext,
} from '../core/types.js';
import { asError } from '../internal/as-error.js';

/** A middleware that delegates to a stack which can be replaced while it runs. */
export interface SwitchableStack extends MiddlewareObject {
  /** Always `switchable`. */
  readonly name: 'switchable';
  /** The stack new requests run through, outermost first. */
  readonly current: readonly Middleware[];
  /**
   * Replaces the stack: requests that arrive from now on run through `layers`; requests
   * already running finish in the stack they started in. The new layers join every
   * connection this middleware is attached to, and the old ones leave them. Returns the
   * old stack.
   */
  swap(layers: readonly Middleware[]): readonly Middleware[];
  /**
   * Settles once no request is running in a stack that was swapped out, so what those
   * stacks opened (Redis connections) can be closed without failing them.
   */
  drained(): Promise<void>;
}

interface Generation {
  readonly layers: readonly Middleware[];
  /** The stacks per method of each connection (see `MiddlewareObject.handles`). */
  readonly stacks: WeakMap<Connection, MethodStacks>;
  readonly callerHooks: readonly NotificationHook[];
  readonly handlerHooks: readonly NotificationHook[];
  /** Requests running in this stack now. */
  running: number;
  /** Counts a request of this stack out, passing its reply or error on (made once per stack). */
  readonly done: (reply: Reply) => Reply;
  readonly failed: (error: unknown) => never;
}

function generation(layers: readonly Middleware[], finished: (gen: Generation) => void): Generation {
  const hooks = layers.map(notificationHookOf).filter((h): h is NotificationHook => h !== undefined);
  const gen: Generation = {
    layers,
    stacks: new WeakMap(),
    callerHooks: hooks,
    handlerHooks: hooks.slice().reverse(),
    running: 0,
    done: (reply) => {
      finished(gen);
      return reply;
    },
    failed: (error) => {
      finished(gen);
      throw error;
    },
  };
  return gen;
}

function stacksOf(current: Generation, connection: Connection): MethodStacks {
  let stacks = current.stacks.get(connection);
  if (stacks === undefined) {
    stacks = new MethodStacks(current.layers);
    current.stacks.set(connection, stacks);
  }
  return stacks;
}

/**
 * One layer standing for a whole stack that can be swapped at run time, e.g. when a
 * config file changes: a pipeline's own layers are fixed once added, so a proxy holds
 * this one and swaps what it delegates to. Requests, notification hooks (in the
 * pipeline's order: caller notifications outermost first, handler ones innermost
 * first) and per-connection `attach` all reach the current stack.
 *
 * @example
 * ```ts
 * const live = switchableStack((await createStack(config)).middleware);
 * createProxy({ downstream, upstream, stack: [live] });
 * live.swap((await createStack(newConfig)).middleware);
 * ```
 */
export function switchableStack(initial: readonly Middleware[]): SwitchableStack {
  /** Swapped-out stacks with requests still running, and who waits for them to finish. */
  const retired = new Set<Generation>();
  let onDrained: (() => void)[] = [];
  const finished = (gen: Generation) => {
    if (--gen.running !== 0 || !retired.delete(gen) || retired.size !== 0) return;
    const waiting = onDrained;
    onDrained = [];
    for (const resolve of waiting) resolve();
  };
  let current = generation(initial, finished);
  const attached = new Map<Connection, (() => void)[]>();

  const attachAll = (connection: Connection, layers: readonly Middleware[]): (() => void)[] => {
    const detachers: (() => void)[] = [];
    for (const layer of layers) {
      if (typeof layer === 'function' || layer.attach === undefined) continue;
      try {
        const detach = layer.attach(connection);
        if (detach) detachers.push(detach);
      } catch (error) {
        connection.reportError(new Error(`${layer.name}: attach failed: ${asError(error).message}`));
      }
    }
    return detachers;
  };

  const detachAll = (connection: Connection, detachers: readonly (() => void)[]) => {
    for (const detach of detachers) {
      try {
        detach();
      } catch (error) {
        connection.reportError(asError(error));
      }
    }
  };

  const instance: SwitchableStack = {
    name: 'switchable',
    get current() {
      return current.layers;
    },
    request: function switchableRequest(ctx: RequestContext, next: Next): Promise<Reply> {
      const gen = current;
      const connection = ctx.connection;
      gen.running++;
      let reply: Promise<Reply>;
      try {
        reply = stacksOf(gen, connection).for(ctx.method, connection)(ctx, next);
      } catch (error) {
        finished(gen);
        throw error;
      }
      return reply.then(gen.done, gen.failed);
    },
    // Handled when a layer of the current stack handles it; a swap asks again.
    handles(method: string, connection: Connection): boolean {
      return stacksOf(current, connection).handles(method, connection);
    },
    notification: function switchableNotification(ctx: NotificationContext) {
      const hooks = ctx.from === 'caller' ? current.callerHooks : current.handlerHooks;
      if (hooks.length === 0) return undefined;
      const nctx = ctx as { message: NotificationContext['message'] };
      let replaced = false;
      for (const hook of hooks) {
        let out: ReturnType<NotificationHook>;
        try {
          out = hook(ctx);
        } catch (error) {
          ctx.connection.reportError(
            new Error(`notification hook failed on ${ctx.message.method}: ${asError(error).message}`),
          );
          continue;
        }
        if (out === null) return null;
        if (out !== undefined) {
          nctx.message = out;
          replaced = true;
        }
      }
      return replaced ? ctx.message : undefined;
    },
    attach(connection: Connection) {
      attached.set(connection, attachAll(connection, current.layers));
      return () => {
        const detachers = attached.get(connection);
        attached.delete(connection);
        if (detachers) detachAll(connection, detachers);
      };
    },
    swap(layers: readonly Middleware[]) {
      const old = current;
      current = generation(layers, finished);
      if (old.running !== 0) retired.add(old);
      for (const [connection, detachers] of attached) {
        attached.set(connection, attachAll(connection, layers));
        detachAll(connection, detachers);
        connection.restack?.();
      }
      return old.layers;
    },
    drained() {
      if (retired.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        onDrained.push(resolve);
      });
    },
  };
  return brandMiddleware(instance, 'switchable');
}
