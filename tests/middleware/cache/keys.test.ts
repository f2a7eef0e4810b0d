import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cache } from '../../../src/middleware/cache/index.js';
import { KeyBuilder, SHORT_KEY_MAX } from '../../../src/middleware/cache/keys.js';
import { connectPair } from '../../helpers/servers.js';
import { authenticate, user } from './helpers.js';

describe('cache keys', () => {
  it('uses short key text as it is and hashes long text', () => {
    const keys = new KeyBuilder();
    const short = keys.key('tools/call', 'srv@1', '', { name: 'echo', arguments: { text: 'a' } });
    assert.ok(short.length <= SHORT_KEY_MAX);
    assert.ok(short.startsWith('tools/call:') && short.includes('\n'));
    const long = keys.key('tools/call', 'srv@1', '', { name: 'echo', arguments: { text: 'a'.repeat(500) } });
    assert.match(long, /^tools\/call:[A-Za-z0-9_-]{43}$/);
  });

  it('separates servers, principals, methods and params; ignores _meta and key order', () => {
    const keys = new KeyBuilder();
    const base = keys.key('tools/call', 'srv@1', '', { name: 'a', arguments: { x: 1, y: 2 } });
    assert.equal(
      keys.key('tools/call', 'srv@1', '', {
        arguments: { y: 2, x: 1 },
        name: 'a',
        _meta: { progressToken: 7 },
      }),
      base,
    );
    const others = [
      keys.key('tools/call', 'srv@2', '', { name: 'a', arguments: { x: 1, y: 2 } }),
      keys.key('tools/call', 'srv@1', 'alice', { name: 'a', arguments: { x: 1, y: 2 } }),
      keys.key('prompts/get', 'srv@1', '', { name: 'a', arguments: { x: 1, y: 2 } }),
      keys.key('tools/call', 'srv@1', '', { name: 'a', arguments: { x: 1, y: '2' } }),
      // A server identity that looks like the start of another partition's text.
      keys.key('tools/call', 'srv@1\n', '', { name: 'a', arguments: { x: 1, y: 2 } }),
    ];
    assert.equal(new Set([base, ...others]).size, others.length + 1);
  });

  it('never puts a raw principal (it may be a bearer token) in a key', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const keys: string[] = [];
    c.onMiss((e) => keys.push(e.key));
    const pair = await connectPair({ server: [c] });
    const auth = authenticate(pair.clientTransport);
    try {
      auth.as(user('app', undefined, 'secret-bearer-token'));
      await pair.client.callTool({ name: 'echo', arguments: { text: 'short' } });
      await pair.client.callTool({ name: 'echo', arguments: { text: 'long'.repeat(100) } });
      auth.as(user('app', 'alice-subject'));
      await pair.client.callTool({ name: 'echo', arguments: { text: 'short' } });
      assert.equal(keys.length, 3);
      for (const key of keys) {
        assert.ok(!key.includes('secret-bearer-token'), key);
        assert.ok(!key.includes('alice-subject'), key);
      }
    } finally {
      await pair.close();
    }
  });

  it('keeps arguments that differ only in lone surrogates apart', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPair({ server: [c] });
    try {
      await pair.client.callTool({ name: 'echo', arguments: { text: '\ud800' } });
      await pair.client.callTool({ name: 'echo', arguments: { text: '\ud801' } });
      assert.equal(pair.counts.echo, 2);
      assert.equal(c.stats().misses, 2);
    } finally {
      await pair.close();
    }
  });
});
