import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { isInvalidOptionError } from '../../src/errors/index.js';
import { MEMORY_STORE_DEFAULTS, MemoryStore, memoryStore } from '../../src/stores/memory.js';
import type { EvictionReason } from '../../src/stores/types.js';
import { cacheStoreContract, makeEntry } from '../../src/testing/index.js';

cacheStoreContract('memory', ({ now }) => memoryStore({ clock: now }), {
  runner: { describe, it },
  countsLocally: true,
});
cacheStoreContract(
  'memory (reference isolation)',
  ({ now }) => memoryStore({ clock: now, isolation: 'reference' }),
  {
    runner: { describe, it },
    countsLocally: true,
    values: 'reference',
  },
);

const T0 = 1_000_000;

describe('memoryStore', () => {
  test('the documented defaults are the ones in effect', () => {
    assert.deepEqual(MEMORY_STORE_DEFAULTS, {
      maxEntries: 10_000,
      maxBytes: 64 * 1024 * 1024,
      maxEntrySize: 1024 * 1024,
      isolation: 'clone',
    });
    assert.ok(Object.isFrozen(MEMORY_STORE_DEFAULTS));
    const store = memoryStore();
    assert.ok(store instanceof MemoryStore);
    assert.equal(store.name, 'memory');
    assert.deepEqual({ ...store.options }, { ...MEMORY_STORE_DEFAULTS });
  });

  test('maxEntrySize defaults to maxBytes when maxBytes is below 1 MiB', () => {
    assert.equal(memoryStore({ maxBytes: 1000 }).options.maxEntrySize, 1000);
  });

  test('rejects invalid options at construction, naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxEntries: 0 }, 'maxEntries'],
      [{ maxEntries: 1.5 }, 'maxEntries'],
      [{ maxBytes: -1 }, 'maxBytes'],
      [{ maxBytes: '10' }, 'maxBytes'],
      [{ maxEntrySize: 0 }, 'maxEntrySize'],
      [{ maxBytes: 100, maxEntrySize: 200 }, 'maxEntrySize'],
      [{ isolation: 'copy' }, 'isolation'],
      [{ now: 5 }, 'now'],
      [{ clock: 5 }, 'clock'],
      [{ clock: () => 1, now: () => 2 }, 'now'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => memoryStore(options as never),
        (error: unknown) =>
          isInvalidOptionError(error) &&
          error.option === option &&
          error.message.includes(`options.${option}`),
        JSON.stringify(options),
      );
    }
  });

  test('answers synchronously', () => {
    const store = memoryStore({ clock: () => T0 });
    assert.equal(store.set('k', makeEntry(1, T0, { tags: ['t'] })), undefined);
    const got = store.get('k');
    assert.ok(got !== undefined && !(got instanceof Promise));
    assert.equal(store.invalidateTag('t'), 1);
    assert.equal(store.delete('k'), false);
  });

  test('evicts least recently used entries to stay within maxBytes', () => {
    const t = T0;
    const store = memoryStore({ maxBytes: 1000, maxEntrySize: 400, clock: () => t });
    const evicted: [string, EvictionReason][] = [];
    store.onEvict((key, reason) => evicted.push([key, reason]));
    const value = 'x'.repeat(298); // JSON is 300 bytes
    store.set('a', makeEntry(value, t, { tags: ['shared'] }));
    store.set('b', makeEntry(value, t, { tags: ['shared'] }));
    store.set('c', makeEntry(value, t));
    assert.equal(store.stats().bytes, 900);
    store.get('a'); // a is now the most recently used
    store.set('d', makeEntry(value, t));
    assert.deepEqual(evicted, [['b', 'evict']]);
    assert.equal(store.get('b'), undefined);
    assert.deepEqual(store.stats(), { entries: 3, bytes: 900, evictions: 1, expirations: 0, refused: 0 });
    assert.equal(store.invalidateTag('shared'), 1, 'the evicted entry left the tag index');
  });

  test('drops a tag carried by too many entries to list by walking the store, and only its entries', () => {
    const store = memoryStore({ clock: () => T0 });
    const evicted: [string, EvictionReason][] = [];
    store.onEvict((key, reason) => evicted.push([key, reason]));
    // Past 256 entries a tag is no longer listed in the index (see tag-index.ts).
    for (let i = 0; i < 600; i++) store.set(`k${i}`, makeEntry(i, T0, { tags: ['broad', `own:${i % 2}`] }));
    store.set('other', makeEntry('other', T0, { tags: ['narrow'] }));
    assert.equal(store.invalidateTag('own:1'), 300, 'a broad tag: every entry carrying it, found by a walk');
    assert.equal(store.get('k1'), undefined);
    assert.equal(store.get('k2')?.value, 2);
    assert.equal(store.invalidateTag('broad'), 300);
    assert.equal(store.stats().entries, 1);
    assert.equal(store.get('other')?.value, 'other');
    assert.equal(evicted.filter(([, reason]) => reason === 'invalidate').length, 600);
    assert.equal(store.invalidateTag('broad'), 0, 'forgotten once no entry carries it');
    store.set('again', makeEntry('again', T0, { tags: ['broad'] }));
    assert.equal(store.invalidateTag('broad'), 1);
  });

  test('evicts to stay within maxEntries', () => {
    const store = memoryStore({ maxEntries: 3, clock: () => T0 });
    for (const key of ['a', 'b', 'c', 'd', 'e']) store.set(key, makeEntry(key, T0));
    assert.equal(store.stats().entries, 3);
    assert.equal(store.stats().evictions, 2);
    assert.equal(store.get('a'), undefined);
    assert.equal(store.get('e')?.value, 'e');
  });

  test('refuses entries larger than maxEntrySize, counts them and drops the older entry', () => {
    const store = memoryStore({ maxEntrySize: 100, clock: () => T0 });
    store.set('k', makeEntry('small', T0, { tags: ['t'] }));
    store.set('k', makeEntry('x'.repeat(200), T0));
    assert.equal(store.get('k'), undefined);
    assert.equal(store.stats().refused, 1);
    assert.equal(store.stats().bytes, 0);
    assert.equal(store.invalidateTag('t'), 0);
  });

  test('tells listeners why each entry left, and not about replacements', () => {
    let t = T0;
    const store = memoryStore({ maxEntries: 2, clock: () => t });
    const log: string[] = [];
    const off = store.onEvict((key, reason) => log.push(`${key}:${reason}`));
    store.set('a', makeEntry(1, t, { freshMs: 10, tags: ['x'] }));
    store.set('a', makeEntry(2, t, { freshMs: 10, tags: ['x'] }));
    t += 11;
    assert.equal(store.get('a'), undefined);
    store.set('b', makeEntry(1, t, { tags: ['x'] }));
    store.invalidateTag('x');
    store.set('c', makeEntry(1, t));
    store.delete('c');
    store.set('d', makeEntry(1, t));
    store.set('e', makeEntry(1, t));
    store.set('f', makeEntry(1, t));
    store.clear();
    off();
    store.set('g', makeEntry(1, t));
    store.delete('g');
    assert.deepEqual(log, ['a:expire', 'b:invalidate', 'c:delete', 'd:evict', 'e:delete', 'f:delete']);
    assert.equal(store.stats().expirations, 1);
  });

  test('counts an expired entry found by invalidation as expired, not invalidated', () => {
    let t = T0;
    const store = memoryStore({ clock: () => t });
    const log: string[] = [];
    store.onEvict((key, reason) => log.push(`${key}:${reason}`));
    store.set('a', makeEntry(1, t, { freshMs: 10, tags: ['x'] }));
    t += 20;
    assert.equal(store.invalidateTag('x'), 0);
    assert.deepEqual(log, ['a:expire']);
  });

  test('a throwing listener does not disturb the store; its error surfaces asynchronously', async () => {
    const store = memoryStore({ clock: () => T0 });
    const seen: string[] = [];
    store.onEvict(() => {
      throw new Error('listener failed');
    });
    store.onEvict((key) => seen.push(key));
    // The runner's own handler would report the rethrown error as a failure; stand in for it.
    const runnerHandlers = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    try {
      const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
      store.set('a', makeEntry(1, T0, { tags: ['t'] }));
      assert.equal(store.invalidateTag('t'), 1);
      assert.deepEqual(seen, ['a']);
      assert.equal(((await uncaught) as Error).message, 'listener failed');
      assert.equal(store.stats().entries, 0);
    } finally {
      for (const handler of runnerHandlers) process.on('uncaughtException', handler);
    }
  });

  test("'clone' isolation freezes the stored copy; 'reference' keeps the caller's object", () => {
    const cloned = memoryStore({ clock: () => T0 });
    const value = { a: { b: 1 } };
    cloned.set('k', makeEntry(value, T0));
    const got = cloned.get('k')!;
    assert.notEqual(got.value, value);
    assert.ok(Object.isFrozen(got) && Object.isFrozen((got.value as typeof value).a));
    assert.equal(cloned.get('k'), got, 'reads return the stored object without copying');
    assert.ok(!Object.isFrozen(value), "the caller's object is left alone");

    const odd = JSON.parse('{"__proto__": {"polluted": true}, "when": null, "list": [1, [2, {"x": "y"}]]}');
    cloned.set('odd', makeEntry(odd, T0));
    const oddCopy = cloned.get('odd')!.value as Record<string, unknown>;
    assert.deepEqual(Object.keys(oddCopy), ['__proto__', 'when', 'list']);
    assert.equal(Object.getPrototypeOf(oddCopy), Object.prototype);
    assert.equal((oddCopy as { polluted?: boolean }).polluted, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(oddCopy)), JSON.parse(JSON.stringify(odd)));
    const dated = { at: new Date(T0) };
    cloned.set('dated', makeEntry(dated, T0));
    const datedCopy = cloned.get('dated')!.value as typeof dated;
    assert.ok(datedCopy.at instanceof Date && datedCopy.at !== dated.at && Object.isFrozen(datedCopy.at));
    assert.equal(datedCopy.at.getTime(), T0);

    const byReference = memoryStore({ clock: () => T0, isolation: 'reference' });
    const entry = makeEntry(value, T0);
    byReference.set('k', entry);
    assert.equal(byReference.get('k'), entry);
  });

  test('still takes the deprecated now as its clock', () => {
    let t = T0;
    const store = memoryStore({ now: () => t });
    store.set('k', makeEntry({ v: 1 }, T0));
    assert.ok(store.get('k'));
    t += 10 * 60_000;
    assert.equal(store.get('k'), undefined);
  });
});
