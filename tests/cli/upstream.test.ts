import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pooledFetch, unpooledFetch } from '../../src/cli/upstream.js';

describe('the --upstream fetches', () => {
  let url: string;
  let connections = 0;
  let releaseStream: () => void = () => {};
  const http = createServer((req, res) => {
    if (req.url === '/stream') {
      // An SSE response that stays open until the test lets it end.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      releaseStream = () => res.end('data: last\n\n');
      return;
    }
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  http.on('connection', () => connections++);

  before(async () => {
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    http.closeAllConnections();
    http.close();
    await once(http, 'close');
  });

  const post = async (fetch: (url: string, init: RequestInit) => Promise<Response>) => {
    const response = await fetch(`${url}/mcp`, { method: 'POST', body: '{}' });
    assert.deepEqual(await response.json(), { ok: true });
  };

  it('the pool keeps its connections alive across sequential requests', async () => {
    const pool = pooledFetch();
    connections = 0;
    try {
      for (let i = 0; i < 10; i++) await post(pool.fetch as never);
      // A request sent the moment the previous answer is read may find that connection
      // not yet back in the pool and open a second one; never one per request.
      assert.ok(connections <= 2, `${connections} connections for 10 requests`);
    } finally {
      await pool.close();
    }
  });

  it('the baseline opens a connection per request, and streams a body as it comes', async () => {
    const fetch = unpooledFetch() as unknown as (url: string, init?: RequestInit) => Promise<Response>;
    connections = 0;
    for (let i = 0; i < 3; i++) await post(fetch);
    assert.equal(connections, 3);
    const response = await fetch(`${url}/stream`);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /first/, 'read before the stream ended');
    releaseStream();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value);
    assert.match(rest, /last/);
  });
});
