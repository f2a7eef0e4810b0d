import type { Middleware } from '../core/types.js';
import { InvalidOptionError, isInvalidOptionError } from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import { ConfigError } from './errors.js';
import { MIDDLEWARE_REGISTRY, REDIS_CONNECT_WAIT_MS, type StackContext } from './registry.js';
import { type StackConfig, validateConfig } from './validate.js';

/** Options of {@link createStack}. */
export interface CreateStackOptions {
  /** Told about problems that do not stop the stack from working, e.g. a Redis store not connected yet. */
  onWarning?: (message: string) => void;
  /**
   * Longest wait for each Redis URL the config names to connect, in ms; past it the stack
   * is built anyway (with a warning) and the connection keeps trying in the background.
   * Default {@link REDIS_CONNECT_WAIT_MS}.
   */
  redisConnectWaitMs?: number;
}

/** A middleware stack built from a config. */
export interface ConfiguredStack {
  /** The middlewares, outermost first, ready for `withMiddleware`, `createProxy` or a {@link switchableStack}. */
  readonly middleware: readonly Middleware[];
  /** The config entries they were built from, in the same order. */
  readonly config: StackConfig;
  /** The first middleware built from the entry `name` (e.g. `metrics`), if the config has one. */
  find(name: string): Middleware | undefined;
  /** Closes what the stack opened (its Redis stores, then their connections). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Builds a middleware stack from a config: a validated {@link StackConfig}, or plain
 * data in the config file's shape (validated here, durations and sizes accepted as
 * strings). Each entry becomes one middleware through {@link MIDDLEWARE_REGISTRY}, in
 * order, outermost first. Asynchronous because a Redis store loads the optional
 * `redis` package only when a config asks for it.
 *
 * @example
 * ```ts
 * const stack = await createStack({
 *   middleware: [{ metrics: {} }, { concurrencyLimit: { limit: 8 } }, { cache: { ttlMs: '5m' } }],
 * });
 * withMiddleware(server, stack.middleware);
 * ```
 */
export async function createStack(
  config: StackConfig | unknown,
  options: CreateStackOptions = {},
): Promise<ConfiguredStack> {
  const redisConnectWaitMs = options.redisConnectWaitMs ?? REDIS_CONNECT_WAIT_MS;
  if (typeof redisConnectWaitMs !== 'number' || !(redisConnectWaitMs >= 0)) {
    throw new InvalidOptionError(
      'createStack',
      'redisConnectWaitMs',
      'a number of ms ≥ 0',
      redisConnectWaitMs,
    );
  }
  const validated = isStackConfig(config) ? config : validateConfig(config);
  const closers: (() => unknown)[] = [];
  const context: StackContext = {
    onClose: (close) => void closers.push(close),
    warn: (message) => options.onWarning?.(message),
    redisConnectWaitMs,
  };
  const middleware: Middleware[] = [];
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= Promise.allSettled(closers.map((c) => Promise.resolve().then(c))).then(() => undefined);
    return closed;
  };
  try {
    for (const [i, entry] of validated.middleware.entries()) {
      const where = `middleware[${i}].${entry.name}`;
      const definition = MIDDLEWARE_REGISTRY[entry.name];
      if (definition === undefined) throw new ConfigError([{ path: where, message: 'unknown middleware' }]);
      try {
        middleware.push(await definition.create(entry.options, context));
      } catch (error) {
        // The factory's own checks (e.g. two options that exclude each other) name the option.
        if (!isInvalidOptionError(error)) throw error;
        throw new ConfigError([{ path: `${where}.${error.option}`, message: error.message }]);
      }
    }
  } catch (error) {
    await close();
    throw asError(error);
  }
  return {
    middleware,
    config: validated,
    find(name) {
      const i = validated.middleware.findIndex((entry) => entry.name === name);
      return i === -1 ? undefined : middleware[i];
    },
    close,
  };
}

function isStackConfig(value: unknown): value is StackConfig {
  const list = (value as { middleware?: unknown } | null)?.middleware;
  return (
    Array.isArray(list) &&
    list.every(
      (entry) =>
        typeof entry === 'object' && entry !== null && typeof entry.name === 'string' && 'options' in entry,
    ) &&
    list.length > 0
  );
}
