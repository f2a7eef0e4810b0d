/**
 * The proxy's upstream pool: built from `--upstream` given more than once and the
 * config's `pool` section (validated there), logging what the pool does to stderr, and
 * reconfigured in place when the config file's `pool` section changes.
 */

import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../config/errors.js';
import { isInvalidOptionError } from '../errors/index.js';
import {
  createUpstreamPool,
  type PoolChanges,
  type UpstreamPool,
  type UpstreamPoolOptions,
} from '../pool/index.js';
import { log } from './log.js';

/** The pool options of `urls` (from the command line; they replace the config's upstreams) and the config's section. */
function optionsOf(urls: readonly URL[], config: Record<string, unknown> | undefined): UpstreamPoolOptions {
  const options = { ...(config ?? {}) } as unknown as UpstreamPoolOptions;
  return { ...options, upstreams: urls.length > 0 ? urls.map((u) => u.href) : options.upstreams };
}

/**
 * A pool over `urls` with the config's pool options, or `undefined` when neither asks
 * for a pool (one URL and no `pool` section).
 */
export function proxyPool(
  urls: readonly URL[],
  config: Record<string, unknown> | undefined,
): UpstreamPool | undefined {
  if (config === undefined && urls.length < 2) return undefined;
  return createUpstreamPool({
    ...optionsOf(urls, config),
    onerror: (error) => log(`upstream: ${error.message}`),
    onEvent: (event) => {
      switch (event.type) {
        case 'eject':
          return log(`pool: ${event.upstream} ejected (${event.reason}) for ${event.untilMs} ms`);
        case 'readmit':
          return log(`pool: ${event.upstream} re-admitted`);
        case 'health':
          return log(
            `pool: ${event.upstream} ${event.healthy ? 'healthy again' : `unhealthy: ${event.error}`}`,
          );
        case 'breaker':
          return log(`pool: ${event.upstream} breaker ${event.from} → ${event.to}`);
      }
    },
  });
}

/**
 * Applies a changed `pool` section to the running pool (or checks that a proxy without
 * a pool still gets none). Returns what changed, or `undefined` when the section is the
 * same. Throws a {@link ConfigError} naming the section's path when it cannot be
 * applied; the pool is then unchanged.
 */
export function reloadPool(
  pool: UpstreamPool | undefined,
  urls: readonly URL[],
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
): PoolChanges | undefined {
  if (isDeepStrictEqual(before, after)) return undefined;
  if (pool === undefined) {
    throw new ConfigError([
      {
        path: 'pool',
        message:
          'the proxy was started without a pool (a command, or a single --upstream): restart it to use a pool section',
      },
    ]);
  }
  if (after === undefined && urls.length < 2) {
    throw new ConfigError([
      {
        path: 'pool',
        message:
          'the proxy was started with a pool: the section cannot be removed while it runs (restart it)',
      },
    ]);
  }
  try {
    return pool.reconfigure(optionsOf(urls, after));
  } catch (error) {
    if (!isInvalidOptionError(error)) throw error;
    throw new ConfigError([{ path: `pool.${error.option}`, message: error.message }]);
  }
}

/** One line about a reload's changes to the pool. */
export function describeChanges(changes: PoolChanges): string {
  const parts: string[] = [];
  if (changes.added.length > 0) parts.push(`added ${changes.added.join(', ')}`);
  if (changes.removed.length > 0) parts.push(`removed ${changes.removed.join(', ')} (draining)`);
  if (changes.replaced.length > 0)
    parts.push(`replaced ${changes.replaced.join(', ')} (address or command changed; the old one drains)`);
  if (parts.length === 0) parts.push('options changed');
  return `pool reconfigured: ${parts.join('; ')}; ${changes.added.length + changes.replaced.length + changes.kept.length} upstreams`;
}
