import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { InvalidOptionError } from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import { interpolateEnv } from './env.js';
import { ConfigError } from './errors.js';
import { type ConfiguredStack, type CreateStackOptions, createStack } from './stack.js';
import { type SwitchableStack, switchableStack } from './switchable.js';
import { type StackConfig, validateConfig } from './validate.js';

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** `json` or `yaml`. Default `yaml` (a YAML parser reads JSON too). */
  format?: 'json' | 'yaml';
  /** Where the text came from, for messages. */
  source?: string;
  /** The variables `${NAME}` refers to. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Parses config text (YAML or JSON), interpolates `${NAME}` environment variables and
 * validates the result against the config schema. Throws a {@link ConfigError} naming
 * each problem by path (with line and column for syntax errors).
 *
 * @example
 * ```ts
 * const config = parseConfig('middleware:\n  - cache: { ttlMs: 5m }\n');
 * ```
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): StackConfig {
  const { source } = options;
  let data: unknown;
  if (options.format === 'json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(
        [{ path: '(root)', message: `not valid JSON: ${asError(error).message}` }],
        source,
      );
    }
  } else {
    const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (document.errors.length !== 0) {
      throw new ConfigError(
        document.errors.map((e) => ({
          path: '(root)',
          message: `not valid YAML: ${e.message.split('\n')[0]!.replace(/:$/, '')}`,
        })),
        source,
      );
    }
    data = document.toJS({ maxAliasCount: 100 });
  }
  try {
    return validateConfig(interpolateEnv(data, options.env));
  } catch (error) {
    if (error instanceof ConfigError && source !== undefined) throw new ConfigError(error.issues, source);
    throw error;
  }
}

/** Reads and parses a config file; `.json` files are JSON, anything else YAML. */
export async function loadConfigFile(path: string, env?: NodeJS.ProcessEnv): Promise<StackConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      [{ path: '(root)', message: `cannot read the file: ${asError(error).message}` }],
      path,
    );
  }
  return parseConfig(text, { format: extname(path) === '.json' ? 'json' : 'yaml', source: path, env });
}

/** Options of {@link watchConfig}. */
export interface WatchConfigOptions {
  /** Quiet time after the last change before the file is read again, in ms. Default 100. */
  debounceMs?: number;
  /** The variables `${NAME}` refers to. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Called with a changed file's stack once it is built, before it is swapped in, to apply
   * what the stack does not hold (the proxy applies the `pool` section here). Throwing
   * (or rejecting) rejects the whole file: the new stack is closed, the error goes to
   * `onError`, and the old stack keeps running. Not called for the first load.
   */
  beforeSwap?: (next: ConfiguredStack, current: ConfiguredStack) => void | Promise<void>;
  /** Called after a changed file was loaded and its stack swapped in. */
  onReload?: (stack: ConfiguredStack) => void;
  /** Called when a changed file cannot be used; the running stack stays. */
  onError?: (error: Error) => void;
  /** Told about problems that do not stop a stack from working (see {@link CreateStackOptions}). */
  onWarning?: (message: string) => void;
  /**
   * After a reload, the longest wait for requests still running in the old stack before
   * it is closed anyway, in ms (its Redis operations then fail as configured, e.g. misses).
   * Default 30,000.
   */
  drainMs?: number;
}

/** A config file being watched: a live stack that follows it. */
export interface ConfigWatcher {
  /** The layer to put in a pipeline; it delegates to the stack of the last good config. */
  readonly stack: SwitchableStack;
  /** The stack of the last good config. */
  readonly current: ConfiguredStack;
  /** Reads the file again now (what a change does after the debounce); resolves when done. */
  reload(): Promise<void>;
  /** Stops watching and closes the current stack (and old ones still draining, at once). */
  close(): Promise<void>;
}

/** Defaults of {@link watchConfig}. */
export const WATCH_CONFIG_DEFAULTS = Object.freeze({
  /** {@link WatchConfigOptions.debounceMs}: quiet time before a changed file is read. */
  debounceMs: 100,
  /** {@link WatchConfigOptions.drainMs}: longest wait for an old stack's requests. */
  drainMs: 30_000,
});

/**
 * Loads a config file, builds its stack, and rebuilds it whenever the file changes
 * (`fs.watch` on its folder, so editors that replace the file are followed, with a
 * debounce). Requests that arrive after a reload run through the new stack; requests in
 * flight finish in the old one, which is closed once they have (at most `drainMs` later). A new config that is invalid, or
 * whose stack cannot be built, is reported through `onError` and the old stack keeps
 * running. Throws a {@link ConfigError} when the first load fails.
 *
 * @example
 * ```ts
 * const watcher = await watchConfig('mcp-perf.yaml', { onError: (e) => console.error(e.message) });
 * createProxy({ downstream, upstream, stack: [watcher.stack] });
 * ```
 */
export async function watchConfig(path: string, options: WatchConfigOptions = {}): Promise<ConfigWatcher> {
  const debounceMs = options.debounceMs ?? WATCH_CONFIG_DEFAULTS.debounceMs;
  if (typeof debounceMs !== 'number' || !(debounceMs >= 0)) {
    throw new InvalidOptionError('watchConfig', 'debounceMs', 'a non-negative number', debounceMs);
  }
  const drainMs = options.drainMs ?? WATCH_CONFIG_DEFAULTS.drainMs;
  if (typeof drainMs !== 'number' || !(drainMs >= 0)) {
    throw new InvalidOptionError('watchConfig', 'drainMs', 'a non-negative number', drainMs);
  }
  const file = resolve(path);
  const build = async () =>
    createStack(await loadConfigFile(file, options.env), { onWarning: options.onWarning });
  let current = await build();
  const live = switchableStack(current.middleware);
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Old stacks waiting for their requests to finish, by the cut that closes them now. */
  const draining = new Map<ConfiguredStack, () => void>();

  /** Closes `old` once its requests have finished (or `drainMs` has passed, or the watcher closes). */
  const retire = (old: ConfiguredStack) => {
    let cut!: () => void;
    const now = new Promise<void>((resolve) => {
      cut = resolve;
    });
    draining.set(old, cut);
    const timer = setTimeout(cut, drainMs);
    timer.unref();
    return Promise.race([live.drained(), now]).then(() => {
      clearTimeout(timer);
      draining.delete(old);
      return old.close();
    });
  };

  const reloadNow = async () => {
    if (closed) return;
    let next: ConfiguredStack;
    try {
      next = await build();
    } catch (error) {
      options.onError?.(asError(error));
      return;
    }
    if (options.beforeSwap !== undefined && !closed) {
      try {
        await options.beforeSwap(next, current);
      } catch (error) {
        await next.close();
        options.onError?.(asError(error));
        return;
      }
    }
    if (closed) {
      await next.close();
      return;
    }
    const old = current;
    current = next;
    live.swap(next.middleware);
    options.onReload?.(next);
    // In the background: requests still running in the old stack keep its connections.
    retire(old).catch((error: unknown) => options.onError?.(asError(error)));
  };
  const reload = () => {
    chain = chain.then(reloadNow);
    return chain;
  };

  const name = basename(file);
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed.toString() !== name) return;
    clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  });
  watcher.on('error', (error) => options.onError?.(asError(error)));

  return {
    stack: live,
    get current() {
      return current;
    },
    reload,
    async close() {
      closed = true;
      clearTimeout(timer);
      watcher.close();
      await chain;
      const old = [...draining.keys()];
      for (const cut of draining.values()) cut();
      await Promise.all([...old.map((stack) => stack.close()), current.close()]);
    },
  };
}
