import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AuthInfo } from '../../../src/index.js';
import { memoryStore } from '../../../src/stores/memory.js';
import type { CacheEntry, CacheStore, EvictionReason } from '../../../src/stores/types.js';

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
