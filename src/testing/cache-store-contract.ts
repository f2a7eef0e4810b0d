/**
 * One behavioural contract every `CacheStore` must pass, runnable under node:test and
 * vitest: a store's test file calls `cacheStoreContract(name, makeStore, { describe, it })`.
 */
import assert from 'node:assert/strict';
import type { CacheEntry, CacheStore } from '../stores/types.js';
import { resolveRunner, type TestRunner } from './runner.js';

/** What a store factory receives: the fake clock the contract drives. */
export interface ContractContext {
  /** Epoch milliseconds of the fake clock; pass it as the store's `now` option. */
  now: () => number;
}

/** Options of {@link cacheStoreContract}. */
export interface ContractOptions {
  /**
   * The test runner's `describe` and `it` (node:test's or vitest's). Default: the
   * globals `describe` / `it` (vitest with `globals: true`, Jest, Mocha).
   */
  runner?: TestRunner;
  /** The store holds entries in this process, so `stats().entries` / `bytes` count them. */
  countsLocally?: boolean;
  /**
   * `'reference'` for a store configured to keep and return the caller's objects as they
   * are (its users promise never to mutate them): the isolation test then checks that
   * promise's other side, that the very object stored is returned. Default `'isolated'`.
   */
  values?: 'isolated' | 'reference';
  /** Skip every contract test with this reason. */
  skip?: string;
  /** Runs after each test, after `store.close()`. */
  teardown?: (store: CacheStore) => unknown;
}

const START = Date.UTC(2026, 0, 1);

/** Builds an entry the way the cache does: `size` is the byte length of the value's JSON. */
export function makeEntry(
  value: unknown,
  now: number,
  options: { freshMs?: number; staleMs?: number; tags?: string[] } = {},
): CacheEntry {
  const freshMs = options.freshMs ?? 60_000;
  return {
    value,
    size: Buffer.byteLength(JSON.stringify(value)),
    storedAt: now,
    freshUntil: now + freshMs,
    staleUntil: now + freshMs + (options.staleMs ?? 0),
    tags: options.tags ?? [],
  };
}

/**
 * Registers the cache-store contract tests for one store implementation: misses,
 * round trips, freshness and staleness, tag invalidation, clearing, synchronous stats,
 * value isolation, large values and odd keys. `makeStore` gets a fake clock to pass as
 * the store's `now` option and returns a fresh, empty store (for a shared store: one
 * with a fresh key prefix); `close()` is called after each test.
 *
 * @example
 * ```ts
 * import { describe, it } from 'node:test'; // or from 'vitest'
 * import { cacheStoreContract } from 'mcp-perf/testing';
 * cacheStoreContract('my store', ({ now }) => new MyStore({ now }), { runner: { describe, it } });
 * ```
 */
export function cacheStoreContract(
  name: string,
  makeStore: (ctx: ContractContext) => Promise<CacheStore> | CacheStore,
  options: ContractOptions = {},
): void {
  const withStore = async (fn: (store: CacheStore, clock: { t: number }) => Promise<void>): Promise<void> => {
    const clock = { t: START };
    const store = await makeStore({ now: () => clock.t });
    try {
      await fn(store, clock);
    } finally {
      await store.close?.();
      await options.teardown?.(store);
    }
  };
  const runner = resolveRunner(options.runner, 'cacheStoreContract');
  const it = (title: string, fn: (store: CacheStore, clock: { t: number }) => Promise<void>): void => {
    runner.it(title, () => withStore(fn));
  };

  runner.describe(
    `CacheStore contract: ${name}${options.skip === undefined ? '' : ` (skipped: ${options.skip})`}`,
    () => {
      if (options.skip !== undefined) {
        runner.skip(`every contract test: ${options.skip}`);
        return;
      }
      it('has a name and answers a miss for an unknown key', async (store) => {
        assert.equal(typeof store.name, 'string');
        assert.ok(store.name.length > 0);
        assert.equal(await store.get('never-set'), undefined);
      });

      it('round-trips get / set / delete', async (store, clock) => {
        const value = { content: [{ type: 'text', text: 'hello' }], structuredContent: { n: 1, ok: true } };
        const entry = makeEntry(value, clock.t, { freshMs: 1_000, staleMs: 4_000, tags: ['tool:echo'] });
        await store.set('k1', entry);
        const got = await store.get('k1');
        assert.ok(got);
        assert.deepEqual(got.value, value);
        assert.equal(got.size, entry.size);
        assert.equal(got.storedAt, entry.storedAt);
        assert.equal(got.freshUntil, entry.freshUntil);
        assert.equal(got.staleUntil, entry.staleUntil);
        assert.deepEqual([...got.tags], ['tool:echo']);
        assert.equal(await store.delete('k1'), true);
        assert.equal(await store.get('k1'), undefined);
        assert.equal(await store.delete('k1'), false);
      });

      it('serves a stale entry until staleUntil and nothing after it', async (store, clock) => {
        await store.set('k', makeEntry({ v: 1 }, clock.t, { freshMs: 1_000, staleMs: 1_000 }));
        clock.t += 1_500;
        assert.deepEqual((await store.get('k'))?.value, { v: 1 });
        clock.t += 501;
        assert.equal(await store.get('k'), undefined);
      });

      it('does not store an entry already past staleUntil, and drops the older one under its key', async (store, clock) => {
        await store.set('k', makeEntry({ v: 1 }, clock.t));
        await store.set('k', makeEntry({ v: 2 }, clock.t - 10_000, { freshMs: 5_000 }));
        assert.equal(await store.get('k'), undefined);
      });

      it('invalidates by tag: only tagged entries go, and the count is returned', async (store, clock) => {
        await store.set('a', makeEntry('a', clock.t, { tags: ['method:tools/list'] }));
        await store.set('b', makeEntry('b', clock.t, { tags: ['method:tools/list', 'uri:file:///b.txt'] }));
        await store.set('c', makeEntry('c', clock.t, { tags: ['uri:file:///b.txt'] }));
        await store.set('d', makeEntry('d', clock.t));
        assert.equal(await store.invalidateTag('method:tools/list'), 2);
        assert.equal(await store.get('a'), undefined);
        assert.equal(await store.get('b'), undefined);
        assert.equal((await store.get('c'))?.value, 'c');
        assert.equal((await store.get('d'))?.value, 'd');
        assert.equal(await store.invalidateTag('method:tools/list'), 0);
        assert.equal(await store.invalidateTag('never-used'), 0);
        assert.equal(await store.invalidateTag('uri:file:///b.txt'), 1);
        assert.equal(await store.get('c'), undefined);
      });

      it('does not count expired entries as invalidated', async (store, clock) => {
        await store.set('short', makeEntry(1, clock.t, { freshMs: 100, tags: ['t'] }));
        await store.set('long', makeEntry(2, clock.t, { freshMs: 10_000, tags: ['t'] }));
        clock.t += 200;
        assert.equal(await store.invalidateTag('t'), 1);
        assert.equal(await store.get('long'), undefined);
      });

      it('replaces tags when a key is overwritten', async (store, clock) => {
        await store.set('k', makeEntry(1, clock.t, { tags: ['old'] }));
        await store.set('k', makeEntry(2, clock.t, { tags: ['new'] }));
        assert.equal(await store.invalidateTag('old'), 0);
        assert.equal((await store.get('k'))?.value, 2);
        assert.equal(await store.invalidateTag('new'), 1);
        assert.equal(await store.get('k'), undefined);
      });

      it('forgets tag memberships of an entry removed through another tag', async (store, clock) => {
        await store.set('k', makeEntry(1, clock.t, { tags: ['x', 'y'] }));
        assert.equal(await store.invalidateTag('x'), 1);
        await store.set('k', makeEntry(2, clock.t, { tags: ['x'] }));
        assert.equal(await store.invalidateTag('y'), 0);
        assert.equal((await store.get('k'))?.value, 2);
      });

      it('clears every entry', async (store, clock) => {
        for (let i = 0; i < 20; i++) await store.set(`k${i}`, makeEntry(i, clock.t, { tags: [`t${i % 3}`] }));
        await store.clear();
        for (let i = 0; i < 20; i++) assert.equal(await store.get(`k${i}`), undefined);
        assert.equal(await store.invalidateTag('t0'), 0);
        await store.set('after', makeEntry('x', clock.t));
        assert.equal((await store.get('after'))?.value, 'x');
      });

      it('reports stats synchronously', async (store, clock) => {
        const a = makeEntry({ a: 'x'.repeat(100) }, clock.t);
        const b = makeEntry({ b: 'y'.repeat(50) }, clock.t);
        await store.set('a', a);
        await store.set('b', b);
        const stats = store.stats();
        assert.ok(!(stats instanceof Promise));
        for (const field of ['entries', 'bytes', 'evictions'] as const) {
          assert.ok(Number.isSafeInteger(stats[field]) && stats[field] >= 0, `${field} = ${stats[field]}`);
        }
        if (options.countsLocally) {
          assert.equal(stats.entries, 2);
          assert.equal(stats.bytes, a.size + b.size);
          await store.delete('a');
          assert.equal(store.stats().entries, 1);
          assert.equal(store.stats().bytes, b.size);
        }
      });

      if (options.values === 'reference') {
        it('returns the stored object itself (reference mode)', async (store, clock) => {
          const entry = makeEntry({ a: 1 }, clock.t);
          await store.set('k', entry);
          assert.equal(await store.get('k'), entry);
        });
      } else {
        it('keeps stored values isolated from the writer and from readers', async (store, clock) => {
          const value = { content: [{ type: 'text', text: 'original' }] };
          await store.set('k', makeEntry(value, clock.t, { tags: ['t'] }));
          value.content[0]!.text = 'changed by writer';
          value.content.push({ type: 'text', text: 'added by writer' });
          const first = await store.get('k');
          assert.deepEqual(first?.value, { content: [{ type: 'text', text: 'original' }] });
          try {
            (first!.value as typeof value).content[0]!.text = 'changed by reader';
            (first!.tags as string[]).push('added-by-reader');
          } catch (error) {
            assert.ok(error instanceof TypeError, 'a refused mutation throws TypeError');
          }
          const second = await store.get('k');
          assert.deepEqual(second?.value, { content: [{ type: 'text', text: 'original' }] });
          assert.deepEqual([...second!.tags], ['t']);
        });
      }

      it('stores a large value', async (store, clock) => {
        const text = 'é€𝄞abc'.repeat(40_000);
        const entry = makeEntry({ content: [{ type: 'text', text }] }, clock.t);
        assert.ok(entry.size > 300_000);
        await store.set('large', entry);
        const got = await store.get('large');
        assert.ok(got);
        assert.equal((got.value as { content: { text: string }[] }).content[0]!.text, text);
      });

      it('treats unicode and punctuation keys as distinct opaque strings', async (store, clock) => {
        const keys = [
          'ключ',
          'ключ ',
          '鍵/🔑',
          'a*b',
          'a?b',
          'a[b]c',
          'a\\b',
          'line\nbreak',
          'tools/call:{"x":1}',
          '',
        ];
        for (const [i, key] of keys.entries())
          await store.set(key, makeEntry(i, clock.t, { tags: [`tag-${key}`] }));
        for (const [i, key] of keys.entries())
          assert.equal((await store.get(key))?.value, i, JSON.stringify(key));
        assert.equal(await store.invalidateTag('tag-a*b'), 1);
        assert.equal(await store.get('a*b'), undefined);
        assert.equal((await store.get('a?b'))?.value, 4);
      });
    },
  );
}
