import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import type { AuthInfo, Middleware } from '../../../src/index.js';
import { memoryStore } from '../../../src/stores/memory.js';
import type { CacheEntry, CacheStore, EvictionReason } from '../../../src/stores/types.js';
import { createCountingServer, deferred, linkPair } from '../../helpers/servers.js';

/** A settable fake clock in epoch milliseconds. */
export function fakeClock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/**
 * Makes every message a client transport sends carry `authInfo` (the in-memory transport
 * hands it to the server side as `extra.authInfo`, as the HTTP transport does).
 */
export function authenticate(transport: Transport): { as(auth: AuthInfo | undefined): void } {
  let current: AuthInfo | undefined;
  const send = transport.send.bind(transport);
  transport.send = (message, options) => send(message, { ...options, authInfo: current } as never);
  return {
    as(auth) {
      current = auth;
    },
  };
}

/** An auth info for principal tests. */
export function user(
  clientId: string,
  sub: string | undefined,
  token = `token-${clientId}-${sub}`,
): AuthInfo {
  return { token, clientId, scopes: [], ...(sub === undefined ? {} : { extra: { sub } }) };
}

/**
 * A store whose behaviour a test steers: wraps a memory store, can fail, can answer
 * asynchronously, can hand back a corrupt entry, and can announce remote invalidations.
 */
export function steerableStore(now: () => number) {
  const inner = memoryStore({ now });
  const remote = new Set<(tag: string) => void>();
  const control = {
    failGet: false,
    failSet: false,
    async: false,
    corrupt: undefined as unknown,
    /** While set, `invalidateTag` and `clear` wait for it before acting. */
    holdInvalidation: undefined as Promise<void> | undefined,
    gets: 0,
    sets: 0,
    invalidatedTags: [] as string[],
  };
  const answer = <T>(value: () => T): T | Promise<T> => {
    if (control.async) return Promise.resolve().then(value);
    return value();
  };
  const store: CacheStore & { remoteInvalidate(tag: string): void } = {
    name: 'steerable',
    get(key) {
      control.gets++;
      if (control.failGet)
        return control.async ? Promise.reject(new Error('get exploded')) : fail('get exploded');
      if (control.corrupt !== undefined) return answer(() => control.corrupt as CacheEntry);
      return answer(() => inner.get(key));
    },
    set(key, entry) {
      control.sets++;
      if (control.failSet)
        return control.async ? Promise.reject(new Error('set exploded')) : fail('set exploded');
      return answer(() => inner.set(key, entry));
    },
    delete: (key) => answer(() => inner.delete(key)),
    invalidateTag(tag) {
      control.invalidatedTags.push(tag);
      const hold = control.holdInvalidation;
      if (hold !== undefined) return hold.then(() => inner.invalidateTag(tag));
      return answer(() => inner.invalidateTag(tag));
    },
    clear: () => answer(() => inner.clear()),
    stats: () => inner.stats(),
    onEvict: (listener: (key: string, reason: EvictionReason) => void) => inner.onEvict(listener),
    onRemoteInvalidate(listener) {
      remote.add(listener);
      return () => remote.delete(listener);
    },
    remoteInvalidate(tag) {
      inner.invalidateTag(tag);
      for (const listener of remote) listener(tag);
    },
  };
  return { store, control, inner, remoteListeners: remote };
}

function fail(message: string): never {
  throw new Error(message);
}

/** The text of the first content block of a tool result. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content;
  return content?.[0]?.text ?? '';
}

/**
 * A v1 in-memory pair around the counting server, plus a `gated_progress` tool that waits
 * for the same gate as `gate`, then reports `steps` progress notifications.
 * `gate` is called each time a gated tool runs.
 */
export async function gatedPair(options: {
  server?: readonly Middleware[];
  client?: readonly Middleware[];
  gate: () => Promise<void>;
}) {
  const { server, counts } = createCountingServer({ gate: options.gate });
  server.registerTool('gated_progress', { inputSchema: { steps: z.number() } }, async ({ steps }, extra) => {
    counts.gated_progress = (counts.gated_progress ?? 0) + 1;
    await options.gate();
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps },
        });
      }
    }
    if (extra.signal.aborted) counts['gated_progress:aborted'] = (counts['gated_progress:aborted'] ?? 0) + 1;
    return { content: [{ type: 'text', text: `done ${steps}` }] };
  });
  return linkPair(server, counts, options);
}

/**
 * A gate a test opens by hand: `gate()` is what the tool awaits; `started` resolves
 * each time a tool reaches the gate (count in `arrivals`).
 */
export function manualGate() {
  let open = deferred();
  let arrived = deferred();
  const state = {
    arrivals: 0,
    gate: () => {
      state.arrivals++;
      arrived.resolve();
      return open.promise;
    },
    /** Resolves when a tool is waiting at the gate (the next arrival, or one already there). */
    waitForArrival: () => arrived.promise,
    /** Re-arms arrival tracking for the next tool run. */
    expectArrival() {
      arrived = deferred();
    },
    open() {
      open.resolve();
    },
    /** Closes the gate again for later runs. */
    close() {
      open = deferred();
    },
  };
  return state;
}

/** Waits until `condition()` holds, yielding to the event loop between checks (bounded). */
export async function until(condition: () => boolean, what: string, rounds = 5_000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}
