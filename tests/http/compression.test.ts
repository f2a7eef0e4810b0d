import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import {
  type CompressedHandler,
  type CompressHandlerOptions,
  compressHandler,
  compressionFetch,
  negotiate,
} from '../../src/http/index.js';
import { isInvalidOptionError } from '../../src/index.js';
import { rawPost } from '../helpers/http.js';
import { type Deferred, deferred } from '../helpers/servers.js';
import { textOf } from '../helpers/stacks.js';

/** Gates the `steps` tool: it sends progress i, then waits for gate i (opened by the test). */
let gates: Deferred[] = [];

function buildServer(): McpServer {
  const server = new McpServer({ name: 'http-enc', version: '1.0.0' });
  server.registerTool('big', { inputSchema: { size: z.number() } }, async ({ size }) => ({
    content: [
      {
        type: 'text',
        text: JSON.stringify(Array.from({ length: size / 20 }, (_, i) => ({ i, s: 'abc' }))).slice(0, size),
      },
    ],
  }));
  server.registerTool('steps', { inputSchema: { n: z.number() } }, async ({ n }, extra) => {
    for (let i = 0; i < n; i++) {
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: extra._meta?.progressToken ?? 0, progress: i + 1, total: n },
      });
      await gates[i]?.promise;
    }
    return { content: [{ type: 'text', text: `done ${n}` }] };
  });
  return server;
}

interface Hosted {
  url: URL;
  handle: CompressedHandler;
  close(): Promise<void>;
}

async function host(mode: 'stateful' | 'stateless', options: CompressHandlerOptions = {}): Promise<Hosted> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const inner = async (req: IncomingMessage, res: ServerResponse, body?: unknown) => {
    if (mode === 'stateless') {
      const server = buildServer();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => void server.close());
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    const sid = req.headers['mcp-session-id'];
    const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport),
    });
    await buildServer().connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const handle = compressHandler(inner, options);
  const http = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/mcp`),
    handle,
    close: async () => {
      for (const t of sessions.values()) await t.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const JSON_AND_SSE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

for (const mode of ['stateful', 'stateless'] as const) {
  describe(`HTTP content encoding (${mode})`, () => {
    it('an SDK client with compressionFetch gets compressed answers, identical to the plain ones', async () => {
      const hosted = await host(mode);
      const fetcher = compressionFetch();
      const client = new Client({ name: 'c', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(hosted.url, { fetch: fetcher() }));
      try {
        const result = await client.callTool({ name: 'big', arguments: { size: 50_000 } });
        assert.equal(textOf(result)?.length, 50_000);
        const server = hosted.handle.stats().responses;
        const compressed = Object.entries(server).filter(([, f]) => f.count > 0);
        assert.ok(compressed.length > 0, 'the server compressed something');
        for (const [, f] of compressed) assert.ok(f.bytesOut < f.bytesIn, 'fewer bytes on the wire');
        assert.ok(Object.keys(fetcher.stats().responses).length > 0, 'the client saw encoded responses');
      } finally {
        await client.close();
        await hosted.close();
      }
    });

    it('a client without Accept-Encoding gets the bytes untouched', async () => {
      const hosted = await host(mode);
      try {
        const res = await rawPost(hosted.url, INIT, JSON_AND_SSE);
        assert.equal(res.status, 200);
        assert.equal(res.headers['content-encoding'], undefined);
        assert.match(res.body.toString('utf8'), /"protocolVersion"/);
        assert.deepEqual(hosted.handle.stats().responses, {});
      } finally {
        await hosted.close();
      }
    });

    it('a gzip request body is decoded when the server reads it, and the server says so', async () => {
      const hosted = await host(mode);
      try {
        const res = await rawPost(hosted.url, gzipSync(INIT), {
          ...JSON_AND_SSE,
          'content-encoding': 'gzip',
        });
        assert.equal(res.status, 200);
        assert.match(res.body.toString('utf8'), /"protocolVersion"/);
        assert.match(String(res.headers['accept-encoding']), /gzip/);
        assert.equal(hosted.handle.stats().requests.count, 1);
      } finally {
        await hosted.close();
      }
    });

    it('SSE: each event reaches the client before the server produces the next', async () => {
      const hosted = await host(mode, { threshold: 1 });
      const client = new Client({ name: 'c', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(hosted.url, { fetch: compressionFetch()() }));
      try {
        gates = [deferred(), deferred(), deferred()];
        const seen: number[] = [];
        const result = await client.callTool({ name: 'steps', arguments: { n: 3 } }, undefined, {
          onprogress: (p) => {
            seen.push(p.progress);
            // The tool waits for this gate before its next event: were the event held in a
            // compressor's buffer, the call would never finish.
            gates[p.progress - 1]?.resolve();
          },
        });
        assert.equal(textOf(result), 'done 3');
        assert.deepEqual(seen, [1, 2, 3]);
        const sse = Object.entries(hosted.handle.stats().responses).filter(([k]) =>
          k.startsWith('text/event-stream/'),
        );
        assert.ok(sse.length > 0 && sse.every(([, f]) => f.count > 0), 'the SSE stream was compressed');
      } finally {
        await client.close();
        await hosted.close();
      }
    });
  });
}

describe('HTTP content encoding: limits and options', () => {
  it('a zip bomb is refused with 413 at maxRequestBytes, not decompressed whole', async () => {
    const hosted = await host('stateless', { maxRequestBytes: 1024 * 1024 });
    try {
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
      assert.ok(bomb.length < 200_000);
      const res = await rawPost(hosted.url, bomb, { ...JSON_AND_SSE, 'content-encoding': 'gzip' });
      assert.equal(res.status, 413);
      assert.match(res.body.toString('utf8'), /maxRequestBytes/);
    } finally {
      await hosted.close();
    }
  });

  it('a corrupt compressed body gets 400, an unknown coding 415', async () => {
    const hosted = await host('stateless');
    try {
      const corrupt = await rawPost(hosted.url, Buffer.from('not gzip at all'), {
        ...JSON_AND_SSE,
        'content-encoding': 'gzip',
      });
      assert.equal(corrupt.status, 400);
      const unknown = await rawPost(hosted.url, INIT, { ...JSON_AND_SSE, 'content-encoding': 'lzma' });
      assert.equal(unknown.status, 415);
    } finally {
      await hosted.close();
    }
  });

  it('small JSON answers stay uncompressed below the threshold', async () => {
    const hosted = await host('stateless', { threshold: 100_000 });
    try {
      const res = await rawPost(hosted.url, INIT, {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'accept-encoding': 'gzip',
      });
      assert.equal(res.status, 200);
      // The SDK answers a POST with an SSE stream unless JSON responses are enabled; SSE is
      // always compressed, so only the coding's presence on JSON is checked here.
      if (String(res.headers['content-type']).startsWith('application/json'))
        assert.equal(res.headers['content-encoding'], undefined);
    } finally {
      await hosted.close();
    }
  });

  it('compressionFetch compresses large request bodies once the server advertised gzip', async () => {
    const hosted = await host('stateful');
    const fetcher = compressionFetch({ requestThreshold: 200 });
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(hosted.url, { fetch: fetcher() }));
    try {
      await client.callTool({ name: 'big', arguments: { size: 100, pad: 'x'.repeat(5000) } as never });
      assert.ok(fetcher.stats().requests.count >= 1);
      assert.ok(hosted.handle.stats().requests.count >= 1);
    } finally {
      await client.close();
      await hosted.close();
    }
  });

  it('Accept-Encoding negotiation honours q-values and *', () => {
    assert.equal(negotiate('gzip, br', ['br', 'gzip']), 'br');
    assert.equal(negotiate('br;q=0, gzip', ['br', 'gzip']), 'gzip');
    assert.equal(negotiate('*', ['br', 'gzip']), 'br');
    assert.equal(negotiate('identity', ['br', 'gzip']), undefined);
    assert.equal(negotiate(undefined, ['br', 'gzip']), undefined);
  });

  it('options are validated and name the option', () => {
    assert.throws(
      () => compressHandler(() => {}, { brotliQuality: 12 }),
      (e: unknown) => isInvalidOptionError(e) && /brotliQuality/.test((e as Error).message),
    );
    assert.throws(() => compressHandler(() => {}, { encodings: ['lzma' as never] }), isInvalidOptionError);
    assert.throws(() => compressionFetch({ requestThreshold: -1 }), isInvalidOptionError);
  });
});
