/**
 * The proxy's upstream pool: built from `--upstream` given more than once and the
 * config's `pool` section (validated there), logging what the pool does to stderr.
 */

import { createUpstreamPool, type UpstreamPool, type UpstreamPoolOptions } from '../pool/index.js';
import { log } from './log.js';

/**
 * A pool over `urls` (from the command line; they replace the config's upstreams) with
 * the config's pool options, or `undefined` when neither asks for a pool (one URL and no
 * `pool` section).
 */
export function proxyPool(
  urls: readonly URL[],
  config: Record<string, unknown> | undefined,
): UpstreamPool | undefined {
  if (config === undefined && urls.length < 2) return undefined;
  const options = { ...(config ?? {}) } as unknown as UpstreamPoolOptions;
  const upstreams = urls.length > 0 ? urls.map((u) => u.href) : options.upstreams;
  return createUpstreamPool({
    ...options,
    upstreams,
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
