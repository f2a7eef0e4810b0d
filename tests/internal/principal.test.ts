import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { SSEClientTransport as SseV1 } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { principalKey } from '../../src/index.js';
import { bindTransport, endpointIdentity, endpointOf } from '../../src/internal/endpoint.js';
import { authPrincipal, PRINCIPAL_MEMO_MAX, principalDigest } from '../../src/internal/principal.js';
import { fakeContext } from '../helpers/request-context.js';

const v2 = await import('@modelcontextprotocol/client');

describe('principal digests', () => {
  it('hashes objects from their canonical JSON: key order does not matter, content does', () => {
    assert.equal(principalDigest({ id: 1, org: 'a' }), principalDigest({ org: 'a', id: 1 }));
    assert.notEqual(principalDigest({ id: 1 }), principalDigest({ id: 2 }));
    assert.notEqual(principalDigest({ id: 1 }), principalDigest('[object Object]'));
    assert.notEqual(principalDigest(1), principalDigest('1'));
    assert.match(principalDigest('alice'), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(principalDigest(undefined), '');
    assert.equal(principalDigest(null), '');
    assert.throws(() => principalDigest({ n: 1n }), TypeError);
  });

  it('a user id that is an object stays apart from other objects', () => {
    const auth = (sub: unknown) => ({
      token: 't',
      clientId: 'app',
      scopes: [],
      extra: { sub },
    });
    assert.notEqual(authPrincipal(auth({ id: 1 })), authPrincipal(auth({ id: 2 })));
    assert.equal(authPrincipal(auth({ id: 1, t: 'x' })), authPrincipal(auth({ t: 'x', id: 1 })));
    assert.notEqual(authPrincipal(auth('alice')), authPrincipal(auth('bob')));
  });

  it('principalKey and the cache share one derivation; the token never shows', () => {
    const secret = 'secret-bearer-token';
    const ctx = fakeContext({
      authInfo: { token: secret, clientId: 'app', scopes: [] },
    });
    const key = principalKey(ctx);
    assert.equal(key, authPrincipal({ token: secret, clientId: 'app', scopes: [] }));
    assert.ok(!key.includes(secret));
    assert.equal(principalKey(fakeContext()), 'anonymous');
  });

  it('the memo stays bounded', () => {
    for (let i = 0; i < PRINCIPAL_MEMO_MAX * 3; i++) principalDigest(`user-${i}`);
    assert.equal(principalDigest('user-1'), principalDigest('user-1'));
  });
});

describe('endpoints of client transports', () => {
  it('reads the URL of SDK v1 and v2 HTTP and SSE client transports', () => {
    const url = 'http://127.0.0.1:1/mcp';
    assert.equal(endpointOf(new HttpV1(new URL(url))), `url:${url}`);
    assert.equal(endpointOf(new SseV1(new URL(url))), `url:${url}`);
    assert.equal(endpointOf(new v2.StreamableHTTPClientTransport(new URL(url))), `url:${url}`);
    assert.equal(endpointOf(new v2.SSEClientTransport(new URL(url))), `url:${url}`);
  });

  it('reads command, arguments, directory and environment of SDK v1 and v2 stdio transports', () => {
    const a = endpointOf(new StdioV1({ command: 'node', args: ['a.js'] }));
    assert.ok(a?.startsWith('stdio:'));
    assert.equal(endpointOf(new StdioV2({ command: 'node', args: ['a.js'] })), a);
    assert.notEqual(endpointOf(new StdioV1({ command: 'node', args: ['b.js'] })), a);
    assert.notEqual(endpointOf(new StdioV1({ command: 'node', args: ['a.js'], cwd: '/srv' })), a);
    assert.notEqual(endpointOf(new StdioV1({ command: 'node', args: ['a.js'], env: { DB: 'x' } })), a);
  });

  it('a transport without an endpoint gets an identity of its own connection', () => {
    const [one] = InMemoryTransport.createLinkedPair();
    assert.equal(endpointOf(one), undefined);
    const first = {};
    const second = {};
    bindTransport(first, one);
    bindTransport(second, one);
    assert.match(endpointIdentity(first), /^c:/);
    assert.notEqual(endpointIdentity(first), endpointIdentity(second));
    const third = {};
    const fourth = {};
    bindTransport(third, new HttpV1(new URL('http://127.0.0.1:1/mcp')));
    bindTransport(fourth, new HttpV1(new URL('http://127.0.0.1:1/mcp')));
    assert.match(endpointIdentity(third), /^e:/);
    assert.equal(endpointIdentity(third), endpointIdentity(fourth));
    assert.ok(!endpointIdentity(third).includes('127.0.0.1'));
  });
});
