import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CACHE_DEFAULTS, cache, isCacheMiddleware, withCache } from '../../../src/middleware/cache/index.js';
import { resolveOptions } from '../../../src/middleware/cache/options.js';
import { MEMORY_STORE_DEFAULTS, MemoryStore } from '../../../src/stores/memory.js';
import { connectPair, createCountingServer } from '../../helpers/servers.js';

describe('cache options', () => {
  it('the documented defaults are the real ones', () => {
    assert.deepEqual(
      { ...CACHE_DEFAULTS, lists: { ...CACHE_DEFAULTS.lists }, tools: { ...CACHE_DEFAULTS.tools } },
      {
        ...CACHE_DEFAULTS,
        ttlMs: 60_000,
        staleMs: 0,
        maxEntryBytes: 262_144,
        readOnlyTools: false,
        coalesce: true,
        markHits: false,
        hints: 'respect',
        lists: { enabled: true, include: ['**'], exclude: [] },
        tools: { enabled: true, include: [], exclude: [] },
      },
    );
    const r = resolveOptions({});
    assert.equal(r.maxEntryBytes, CACHE_DEFAULTS.maxEntryBytes);
    assert.equal(r.coalesce, CACHE_DEFAULTS.coalesce);
    assert.equal(r.markHits, CACHE_DEFAULTS.markHits);
    assert.equal(r.readOnlyTools, CACHE_DEFAULTS.readOnlyTools);
    for (const kind of ['lists', 'resources', 'prompts', 'tools'] as const) {
      assert.equal(r[kind].ttlMs, CACHE_DEFAULTS.ttlMs, kind);
      assert.equal(r[kind].staleMs, CACHE_DEFAULTS.staleMs, kind);
      assert.equal(r[kind].hints, CACHE_DEFAULTS.hints === 'respect', kind);
      assert.equal(r[kind].enabled, CACHE_DEFAULTS[kind].enabled, kind);
    }
    assert.equal(r.tools.include, null, 'no tool is cached by default');
    assert.equal(r.lists.includeAll, true);
  });

  it('the default store is a bounded memory store', () => {
    const c = cache();
    assert.ok(c.store instanceof MemoryStore);
    const bounds = (c.store as MemoryStore).options;
    assert.equal(bounds.maxEntries, MEMORY_STORE_DEFAULTS.maxEntries);
    assert.equal(bounds.maxBytes, MEMORY_STORE_DEFAULTS.maxBytes);
    assert.equal(bounds.maxEntrySize, CACHE_DEFAULTS.maxEntryBytes);
  });

  it('policies inherit the top-level ttlMs and staleMs, and may override them', () => {
    const r = resolveOptions({ ttlMs: 5, staleMs: 7, tools: { ttlMs: 9 } });
    assert.deepEqual([r.lists.ttlMs, r.lists.staleMs, r.tools.ttlMs, r.tools.staleMs], [5, 7, 9, 7]);
  });

  const invalid: [string, unknown, RegExp][] = [
    ['ttlMs', { ttlMs: -1 }, /cache: options\.ttlMs must be a finite number/],
    ['staleMs', { staleMs: Number.NaN }, /options\.staleMs/],
    ['maxEntryBytes', { maxEntryBytes: 1.5 }, /options\.maxEntryBytes must be a positive integer/],
    ['coalesce', { coalesce: 'yes' }, /options\.coalesce must be a boolean/],
    ['markHits', { markHits: 1 }, /options\.markHits/],
    ['readOnlyTools', { readOnlyTools: 'yes' }, /options\.readOnlyTools/],
    ['key', { key: 'k' }, /options\.key must be a function/],
    ['principal', { principal: {} }, /options\.principal/],
    ['now', { now: 5 }, /options\.now/],
    ['clock', { clock: 5 }, /options\.clock must be a function/],
    ['clock and now', { clock: () => 1, now: () => 2 }, /options\.now must be left out when clock is given/],
    ['store', { store: { get() {} } }, /options\.store must be a CacheStore/],
    ['tools.include', { tools: { include: 'echo' } }, /options\.tools\.include must be an array/],
    ['lists.exclude', { lists: { exclude: [''] } }, /options\.lists\.exclude/],
    ['resources.hints', { resources: { hints: 'maybe' } }, /options\.resources\.hints/],
    ['prompts.ttlMs', { prompts: { ttlMs: '1s' } }, /options\.prompts\.ttlMs/],
    ['tools.enabled', { tools: { enabled: 'no' } }, /options\.tools\.enabled/],
    ['unknown key', { tll: 5 }, /options\.tll must be a known cache option/],
    ['unknown policy key', { lists: { tll: 5 } }, /options\.lists\.tll must be a known policy option/],
  ];
  for (const [what, options, message] of invalid) {
    it(`rejects a bad ${what} at factory time, naming it`, () => {
      assert.throws(() => cache(options as never), { name: 'InvalidOptionError', message });
    });
  }

  it('withCache takes options or an instance and returns the target', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    assert.ok(isCacheMiddleware(c));
    assert.ok(!isCacheMiddleware({ name: 'cache' }));
    const { server } = createCountingServer();
    assert.equal(withCache(server, c), server);
    const pair = await connectPair();
    try {
      assert.equal(withCache(pair.server, { ttlMs: 1 }), pair.server);
    } finally {
      await pair.close();
    }
  });
});
