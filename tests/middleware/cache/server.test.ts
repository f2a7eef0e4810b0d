import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CallToolResultSchema,
  ReadResourceResultSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Middleware } from '../../../src/index.js';
import { CACHE_META_KEY, type CacheMiddleware, cache } from '../../../src/middleware/cache/index.js';
import { connectPair } from '../../helpers/servers.js';
import { authenticate, fakeClock, steerableStore, textOf, user } from './helpers.js';

/** Counts requests that reach the inside of the cache, i.e. the real handler, by method. */
function handlerCounter() {
  const seen: Record<string, number> = {};
  const layer: Middleware = async function countHandlerCalls(ctx, next) {
    seen[ctx.method] = (seen[ctx.method] ?? 0) + 1;
    return next();
  };
  return { seen, layer };
}

async function serverPair(c: CacheMiddleware, extra: Middleware[] = []) {
  const counter = handlerCounter();
  const pair = await connectPair({ server: [...extra, c, counter.layer] });
  return { ...pair, seen: counter.seen };
}

const echo = (text: string, meta?: Record<string, unknown>) => ({
  name: 'echo',
  arguments: { text },
  ...(meta ? { _meta: meta } : {}),
});

describe('cache on the server side', () => {
  it('serves a repeated opted-in tool call from the cache; other arguments miss', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await serverPair(c);
    try {
      const first = await pair.client.callTool(echo('a'));
      const second = await pair.client.callTool(echo('a'));
      assert.deepEqual(second, first);
      assert.equal(pair.counts.echo, 1);
      await pair.client.callTool(echo('b'));
      assert.equal(pair.counts.echo, 2);
      const stats = c.stats();
      assert.equal(stats.hits, 1);
      assert.equal(stats.misses, 2);
      assert.equal(stats.stored, 2);
      assert.equal(stats.entries, 2);
    } finally {
      await pair.close();
    }
  });

  it('keys on params without _meta: a progress token or trace context does not split entries', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await serverPair(c);
    try {
      await pair.client.callTool(echo('a', { traceparent: '00-aa-bb-01' }));
      await pair.client.callTool(echo('a'), undefined, { onprogress: () => {} });
      assert.equal(pair.counts.echo, 1);
    } finally {
      await pair.close();
    }
  });

  it('caches no tool call unless the tool is included', async () => {
    const c = cache();
    const pair = await serverPair(c);
    try {
      await pair.client.callTool(echo('a'));
      await pair.client.callTool(echo('a'));
      assert.equal(pair.counts.echo, 2);
      assert.equal(c.stats().hits, 0);
    } finally {
      await pair.close();
    }
  });

  it('include and exclude globs pick the tools', async () => {
    const c = cache({ tools: { include: ['e*', 'add'], exclude: ['add'] } });
    const pair = await serverPair(c);
    try {
      for (let i = 0; i < 2; i++) {
        await pair.client.callTool(echo('a'));
        await pair.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
      }
      assert.equal(pair.counts.echo, 1);
      assert.equal(pair.counts.add, 2);
      assert.equal(c.stats().bypassed, 2);
    } finally {
      await pair.close();
    }
  });

  it('caches lists, resource reads and prompts by default, each page on its own', async () => {
    const c = cache();
    const pair = await serverPair(c);
    try {
      for (let i = 0; i < 3; i++) {
        await pair.client.listTools();
        await pair.client.listResources();
        await pair.client.listPrompts();
        await pair.client.readResource({ uri: 'file:///readme.txt' });
        await pair.client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
      }
      assert.equal(pair.seen['tools/list'], 1);
      assert.equal(pair.seen['resources/list'], 1);
      assert.equal(pair.seen['prompts/list'], 1);
      assert.equal(pair.counts['resource:readme'], 1);
      assert.equal(pair.counts['prompt:greet'], 1);
      await pair.client.listTools({ cursor: 'page-2' }).catch(() => undefined);
      assert.equal(pair.seen['tools/list'], 2, 'another cursor is another entry');
    } finally {
      await pair.close();
    }
  });

  it('a disabled policy leaves that kind alone', async () => {
    const c = cache({ lists: { enabled: false }, resources: { exclude: ['file:///readme.*'] } });
    const pair = await serverPair(c);
    try {
      await pair.client.listTools();
      await pair.client.listTools();
      await pair.client.readResource({ uri: 'file:///readme.txt' });
      await pair.client.readResource({ uri: 'file:///readme.txt' });
      assert.equal(pair.seen['tools/list'], 2);
      assert.equal(pair.counts['resource:readme'], 2);
    } finally {
      await pair.close();
    }
  });

  it('expires entries after ttlMs (per-kind TTL overrides the default)', async () => {
    const clock = fakeClock();
    const c = cache({ clock: clock.now, ttlMs: 1_000, tools: { include: ['echo'], ttlMs: 5_000 } });
    const pair = await serverPair(c);
    try {
      await pair.client.listTools();
      await pair.client.callTool(echo('a'));
      clock.advance(999);
      await pair.client.listTools();
      await pair.client.callTool(echo('a'));
      assert.equal(pair.seen['tools/list'], 1);
      clock.advance(1);
      await pair.client.listTools();
      await pair.client.callTool(echo('a'));
      assert.equal(pair.seen['tools/list'], 2, 'list expired at 1,000 ms');
      assert.equal(pair.counts.echo, 1, 'tool entry still fresh');
      clock.advance(4_000);
      await pair.client.callTool(echo('a'));
      assert.equal(pair.counts.echo, 2, 'tool entry expired at 5,000 ms');
    } finally {
      await pair.close();
    }
  });

  describe('invalidation by notification (seen leaving the server, before the peer gets it)', () => {
    it('tools/list_changed drops tool lists and tool results; the new tool is listed at once', async () => {
      const c = cache({ tools: { include: ['echo'] } });
      const pair = await serverPair(c);
      try {
        await pair.client.listTools();
        await pair.client.callTool(echo('a'));
        const changed = new Promise<void>((resolve) => {
          pair.client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve());
        });
        pair.server.registerTool('late', { description: 'added later' }, async () => ({ content: [] }));
        await changed;
        const { tools } = await pair.client.listTools();
        assert.ok(tools.some((t) => t.name === 'late'));
        assert.equal(pair.seen['tools/list'], 2);
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 2);
      } finally {
        await pair.close();
      }
    });

    it('prompts/list_changed drops prompt lists and prompts', async () => {
      const c = cache();
      const pair = await serverPair(c);
      try {
        await pair.client.listPrompts();
        await pair.client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
        pair.server.sendPromptListChanged();
        await pair.client.listPrompts();
        await pair.client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } });
        assert.equal(pair.seen['prompts/list'], 2);
        assert.equal(pair.counts['prompt:greet'], 2);
      } finally {
        await pair.close();
      }
    });

    it('resources/list_changed drops resource lists but keeps reads; resources/updated drops that URI', async () => {
      const c = cache();
      const pair = await serverPair(c);
      try {
        await pair.client.listResources();
        await pair.client.listResourceTemplates();
        await pair.client.readResource({ uri: 'file:///readme.txt' });
        pair.server.sendResourceListChanged();
        await pair.client.listResources();
        await pair.client.listResourceTemplates();
        await pair.client.readResource({ uri: 'file:///readme.txt' });
        assert.equal(pair.seen['resources/list'], 2);
        assert.equal(pair.seen['resources/templates/list'], 2);
        assert.equal(pair.counts['resource:readme'], 1);
        await pair.server.server.sendResourceUpdated({ uri: 'file:///other.txt' });
        await pair.client.readResource({ uri: 'file:///readme.txt' });
        assert.equal(pair.counts['resource:readme'], 1, 'another URI changed');
        await pair.server.server.sendResourceUpdated({ uri: 'file:///readme.txt' });
        await pair.client.readResource({ uri: 'file:///readme.txt' });
        assert.equal(pair.counts['resource:readme'], 2);
        assert.equal(c.stats().invalidations, 3);
      } finally {
        await pair.close();
      }
    });
  });

  describe('explicit invalidation', () => {
    it('by method, by tool, by glob, and clear()', async () => {
      const c = cache({ tools: { include: ['echo', 'add'] } });
      const pair = await serverPair(c);
      const warm = async () => {
        await pair.client.callTool(echo('a'));
        await pair.client.callTool({ name: 'add', arguments: { a: 1, b: 1 } });
        await pair.client.readResource({ uri: 'file:///readme.txt' });
        await pair.client.listTools();
      };
      try {
        await warm();
        assert.equal(await c.invalidate('tool:echo'), 1);
        await warm();
        assert.deepEqual([pair.counts.echo, pair.counts.add], [2, 1]);

        assert.equal(await c.invalidate('tools/call'), 2);
        await warm();
        assert.deepEqual([pair.counts.echo, pair.counts.add], [3, 2]);

        assert.equal(await c.invalidate('tool:a*'), 1);
        assert.equal(await c.invalidate('uri:file:///**'), 1);
        await warm();
        assert.deepEqual([pair.counts.echo, pair.counts.add, pair.counts['resource:readme']], [3, 3, 2]);
        assert.equal(pair.seen['tools/list'], 1);

        await c.clear();
        assert.equal(c.stats().entries, 0);
        await warm();
        assert.deepEqual([pair.counts.echo, pair.counts.add, pair.seen['tools/list']], [4, 4, 2]);
      } finally {
        await pair.close();
      }
    });

    it('rejects an empty pattern', async () => {
      const c = cache();
      await assert.rejects(c.invalidate(''), { name: 'InvalidOptionError', option: 'pattern' });
    });

    it('applies invalidations announced by the store from other replicas', async () => {
      const clock = fakeClock();
      const steer = steerableStore(clock.now);
      const c = cache({ store: steer.store, clock: clock.now, tools: { include: ['echo'] } });
      const seen: unknown[] = [];
      c.onInvalidate((e) => seen.push(e));
      const pair = await serverPair(c);
      try {
        await pair.client.callTool(echo('a'));
        steer.store.remoteInvalidate('tool:echo');
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 2);
        assert.deepEqual(seen, [{ tags: ['tool:echo'], source: 'remote' }]);
        await c.close();
        assert.equal(steer.remoteListeners.size, 0, 'close() unsubscribes');
      } finally {
        await pair.close();
      }
    });
  });

  describe('never cached', () => {
    it('isError results', async () => {
      const c = cache({ tools: { include: ['fail'] } });
      const pair = await serverPair(c);
      try {
        await pair.client.callTool({ name: 'fail', arguments: {} });
        await pair.client.callTool({ name: 'fail', arguments: {} });
        assert.equal(pair.counts.fail, 2);
        assert.equal(c.stats().uncacheable, 2);
      } finally {
        await pair.close();
      }
    });

    it('error responses', async () => {
      const c = cache();
      const pair = await serverPair(c);
      try {
        for (let i = 0; i < 2; i++) {
          await assert.rejects(pair.client.readResource({ uri: 'file:///missing.txt' }));
        }
        assert.equal(pair.seen['resources/read'], 2);
        assert.equal(c.stats().stored, 0);
      } finally {
        await pair.close();
      }
    });

    it('requests carrying requestState, inputResponses or task', async () => {
      const c = cache({ tools: { include: ['echo'] } });
      const pair = await serverPair(c);
      try {
        for (const extra of [{ requestState: 'opaque' }, { inputResponses: {} }, { task: { ttl: 1000 } }]) {
          for (let i = 0; i < 2; i++) {
            await pair.client
              .request({ method: 'tools/call', params: { ...echo('x'), ...extra } }, CallToolResultSchema)
              .catch(() => undefined);
          }
        }
        assert.equal(pair.seen['tools/call'], 6);
        assert.equal(c.stats().bypassed, 6);
        assert.equal(c.stats().stored, 0);
      } finally {
        await pair.close();
      }
    });

    it('control methods (ping) pass straight through', async () => {
      const c = cache();
      const pair = await serverPair(c);
      try {
        await pair.client.ping();
        await pair.client.ping();
        assert.equal(pair.seen.ping, 2);
        const s = c.stats();
        assert.equal(s.hits + s.misses + s.bypassed, 0);
      } finally {
        await pair.close();
      }
    });

    it('results larger than maxEntryBytes', async () => {
      const c = cache({ maxEntryBytes: 200, tools: { include: ['echo'] } });
      const pair = await serverPair(c);
      try {
        await pair.client.callTool(echo('x'.repeat(300)));
        await pair.client.callTool(echo('x'.repeat(300)));
        await pair.client.callTool(echo('small'));
        await pair.client.callTool(echo('small'));
        assert.equal(pair.counts.echo, 3);
        assert.equal(c.stats().tooLarge, 2);
      } finally {
        await pair.close();
      }
    });
  });

  describe('per-call control through _meta', () => {
    it('"bypass" neither reads nor writes; "refresh" skips the read and stores the fresh result', async () => {
      const c = cache({ tools: { include: ['echo'] } });
      const pair = await serverPair(c);
      try {
        await pair.client.callTool(echo('a', { [CACHE_META_KEY]: 'bypass' }));
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 2, 'the bypassed call stored nothing');
        await pair.client.callTool(echo('a', { [CACHE_META_KEY]: 'bypass' }));
        assert.equal(pair.counts.echo, 3, 'the bypassed call read nothing');
        await pair.client.callTool(echo('a', { [CACHE_META_KEY]: 'refresh' }));
        assert.equal(pair.counts.echo, 4);
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 4);
      } finally {
        await pair.close();
      }
    });
  });

  it('marks hits in _meta only when markHits is on, and never adds top-level keys', async () => {
    const plain = cache({ tools: { include: ['echo'] } });
    const marking = cache({ tools: { include: ['echo'] }, markHits: true });
    for (const c of [plain, marking]) {
      const pair = await serverPair(c);
      try {
        const miss = await pair.client.callTool(echo('a'));
        const hit = await pair.client.callTool(echo('a'));
        assert.equal(miss._meta, undefined);
        assert.deepEqual(
          Object.keys(hit).sort(),
          Object.keys(miss)
            .concat(c === marking ? ['_meta'] : [])
            .sort(),
        );
        assert.deepEqual(hit._meta, c === marking ? { [CACHE_META_KEY]: 'hit' } : undefined);
        assert.equal(textOf(hit), 'a');
      } finally {
        await pair.close();
      }
    }
  });

  it('leaves its verdict in ctx.state.cache for outer middleware', async () => {
    const verdicts: unknown[] = [];
    const observe: Middleware = async function observe(ctx, next) {
      const reply = await next();
      if (ctx.method !== 'initialize') verdicts.push(`${ctx.method}:${String(ctx.state.cache)}`);
      return reply;
    };
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await serverPair(c, [observe]);
    try {
      await pair.client.callTool(echo('a'));
      await pair.client.callTool(echo('a'));
      await pair.client.callTool(echo('a', { [CACHE_META_KEY]: 'bypass' }));
      await pair.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } });
      assert.deepEqual(verdicts, [
        'tools/call:miss',
        'tools/call:hit',
        'tools/call:bypass',
        'tools/call:bypass',
      ]);
    } finally {
      await pair.close();
    }
  });

  it('emits typed events', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const events: string[] = [];
    c.onMiss((e) => events.push(`miss ${e.method} ${e.target} ${e.side}`));
    const offHit = c.onHit((e) => events.push(`hit ${e.target} age=${typeof e.ageMs}`));
    const pair = await serverPair(c);
    try {
      await pair.client.callTool(echo('a'));
      await pair.client.callTool(echo('a'));
      offHit();
      await pair.client.callTool(echo('a'));
      assert.deepEqual(events, ['miss tools/call echo server', 'hit echo age=number']);
    } finally {
      await pair.close();
    }
  });

  describe('read-only tools', () => {
    it('with readOnlyTools, caches tools annotated readOnlyHint once tools/list has been seen', async () => {
      const c = cache({ readOnlyTools: true });
      const pair = await serverPair(c);
      try {
        const find = { name: 'read_only', arguments: { q: 'x' } };
        await pair.client.callTool(find);
        await pair.client.callTool(find);
        assert.equal(pair.counts.read_only, 2, 'annotations not learned yet');
        await pair.client.listTools();
        await pair.client.callTool(find);
        await pair.client.callTool(find);
        assert.equal(pair.counts.read_only, 3);
        await pair.client.callTool(echo('a'));
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 2, 'echo is not annotated read-only');
      } finally {
        await pair.close();
      }
    });

    it('without it, annotations are ignored', async () => {
      const c = cache();
      const pair = await serverPair(c);
      try {
        await pair.client.listTools();
        await pair.client.callTool({ name: 'read_only', arguments: { q: 'x' } });
        await pair.client.callTool({ name: 'read_only', arguments: { q: 'x' } });
        assert.equal(pair.counts.read_only, 2);
      } finally {
        await pair.close();
      }
    });
  });

  describe('principals', () => {
    it('never serves one principal an entry filled by another; no auth is one public partition', async () => {
      const c = cache({ tools: { include: ['echo'] } });
      const pair = await serverPair(c);
      const auth = authenticate(pair.clientTransport);
      try {
        auth.as(user('app', 'alice'));
        await pair.client.callTool(echo('a'));
        auth.as(user('app', 'bob'));
        await pair.client.callTool(echo('a'));
        auth.as(undefined);
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 3);
        auth.as(user('app', 'alice', 'a-rotated-token'));
        await pair.client.callTool(echo('a'));
        auth.as(undefined);
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 3, 'alice (new token) and the public partition hit their own entries');
        auth.as(user('other-app', 'alice'));
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 4, 'the same user of another OAuth client is another principal');
      } finally {
        await pair.close();
      }
    });

    it('without a user id, the token itself partitions (hashed, never in the key)', async () => {
      const c = cache({ tools: { include: ['echo'] } });
      const keys: string[] = [];
      c.onMiss((e) => keys.push(e.key));
      const pair = await serverPair(c);
      const auth = authenticate(pair.clientTransport);
      try {
        auth.as(user('app', undefined, 'secret-token-1'));
        await pair.client.callTool(echo('a'));
        auth.as(user('app', undefined, 'secret-token-2'));
        await pair.client.callTool(echo('a'));
        assert.equal(pair.counts.echo, 2);
        for (const key of keys) assert.ok(!key.includes('secret'), key);
      } finally {
        await pair.close();
      }
    });

    it('a custom principal and key function take over', async () => {
      const c = cache({
        tools: { include: ['echo'] },
        principal: () => 'everyone',
        key: (ctx, key) =>
          (ctx.params?.arguments as { text?: string } | undefined)?.text === 'nocache'
            ? undefined
            : `t1:${key}`,
      });
      const keys: string[] = [];
      c.onMiss((e) => keys.push(e.key));
      const pair = await serverPair(c);
      const auth = authenticate(pair.clientTransport);
      try {
        auth.as(user('app', 'alice'));
        await pair.client.callTool(echo('a'));
        auth.as(user('app', 'bob'));
        await pair.client.callTool(echo('a'));
        await pair.client.callTool(echo('nocache'));
        await pair.client.callTool(echo('nocache'));
        assert.equal(pair.counts.echo, 3);
        assert.match(keys[0]!, /^t1:tools\/call:/);
      } finally {
        await pair.close();
      }
    });
  });

  describe('store failures', () => {
    for (const mode of ['sync', 'async'] as const) {
      it(`a failing store (${mode}) is a miss plus a reported error, never a failed request`, async () => {
        const clock = fakeClock();
        const steer = steerableStore(clock.now);
        steer.control.async = mode === 'async';
        const c = cache({ store: steer.store, clock: clock.now, tools: { include: ['echo'] } });
        const errors: string[] = [];
        c.onError((e) => errors.push(e.message));
        const pair = await serverPair(c);
        const transportErrors: Error[] = [];
        pair.server.server.onerror = (e) => transportErrors.push(e);
        try {
          steer.control.failGet = true;
          steer.control.failSet = true;
          assert.equal(textOf(await pair.client.callTool(echo('a'))), 'a');
          assert.equal(textOf(await pair.client.callTool(echo('a'))), 'a');
          assert.equal(pair.counts.echo, 2);
          await new Promise((resolve) => setImmediate(resolve));
          assert.ok(errors.length >= 4, errors.join('; '));
          assert.match(errors[0]!, /steerable store: get failed: get exploded/);
          assert.ok(transportErrors.length >= 4, 'reported through the connection');
          steer.control.failGet = false;
          steer.control.failSet = false;
          await pair.client.callTool(echo('a'));
          await pair.client.callTool(echo('a'));
          assert.equal(pair.counts.echo, 3, 'works again once the store recovers');
        } finally {
          await pair.close();
        }
      });
    }

    it('a corrupt entry never reaches a caller: it is dropped and counted as a miss', async () => {
      const clock = fakeClock();
      const steer = steerableStore(clock.now);
      const c = cache({ store: steer.store, clock: clock.now, tools: { include: ['echo'] } });
      const errors: string[] = [];
      c.onError((e) => errors.push(e.message));
      const pair = await serverPair(c);
      try {
        for (const corrupt of [{ value: 'not an object' }, { value: { x: 1 } }, 42]) {
          steer.control.corrupt = corrupt;
          assert.equal(textOf(await pair.client.callTool(echo('a'))), 'a');
        }
        assert.equal(pair.counts.echo, 3);
        assert.equal(errors.length, 3);
        assert.match(errors[0]!, /corrupt entry/);
      } finally {
        await pair.close();
      }
    });
  });

  it('reads from the memory store answer without waiting on the store', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await serverPair(c);
    try {
      await pair.client.callTool(echo('a'));
      const calls: number[] = [];
      const reply = c.request!(
        {
          id: 99,
          method: 'tools/call',
          params: echo('a'),
          session: { serverInfo: { name: 'counting', version: '1.0.0' } },
          connection: { side: 'server', session: { serverInfo: { name: 'counting', version: '1.0.0' } } },
          side: 'server',
          control: false,
          authInfo: undefined,
          state: {},
        } as never,
        async () => {
          calls.push(1);
          return { result: {} };
        },
      );
      let settled = false;
      reply.then(() => {
        settled = true;
      });
      await Promise.resolve();
      assert.equal(settled, true, 'resolved within one microtask: no await on the store');
      assert.deepEqual(calls, []);
      assert.equal(textOf((await reply).result), 'a');
    } finally {
      await pair.close();
    }
  });

  it('reads a resource through a generic request as well', async () => {
    const c = cache();
    const pair = await serverPair(c);
    try {
      const params = { uri: 'file:///readme.txt' };
      await pair.client.request({ method: 'resources/read', params }, ReadResourceResultSchema);
      await pair.client.request({ method: 'resources/read', params }, ReadResourceResultSchema);
      assert.equal(pair.counts['resource:readme'], 1);
    } finally {
      await pair.close();
    }
  });
});
