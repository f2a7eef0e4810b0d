/**
 * Access to a full garbage collection between measurement blocks, so that a block does
 * not pay for the garbage the previous one left behind.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cached: (() => void) | null | undefined;

/**
 * Returns a function that runs a full GC: `globalThis.gc` when node runs with
 * `--expose-gc`, otherwise one obtained by enabling the flag at run time (V8 exposes
 * `gc` to contexts created after the flag is set). Returns `null` if neither works, in
 * which case measurements simply carry more GC noise.
 */
export function getGc(): (() => void) | null {
  if (cached !== undefined) return cached;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    cached = exposed as () => void;
    return cached;
  }
  try {
    setFlagsFromString('--expose-gc');
    const fromContext = runInNewContext('gc') as unknown;
    cached = typeof fromContext === 'function' ? (fromContext as () => void) : null;
  } catch {
    cached = null;
  }
  return cached;
}
