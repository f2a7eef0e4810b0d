import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CodecClientTransport, CodecServerTransport } from '../../src/codec/index.js';
import { createProxy } from '../../src/index.js';
import { fixtureCommand } from '../helpers/child.js';
import { MODERN_AND_LEGACY_VERSIONS } from '../helpers/servers-v2.js';
import { textOf } from '../helpers/stacks.js';

type AnyClient = Pick<Client, 'callTool' | 'close'>;

function serverCommand(env: Record<string, string>) {
  return fixtureCommand('codec-server.ts', env);
}

async function wireFormat(client: AnyClient): Promise<string> {
  const result = await client.callTool({ name: 'wire', arguments: {} });
  return (JSON.parse(textOf(result) ?? '{}') as { format: string }).format;
}

/** Calls that cross the wire both ways: a small echo, a 100 KB text, unicode. */
async function exercise(client: AnyClient): Promise<void> {
  assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'héllo 😀' } })), 'héllo 😀');
  assert.equal(textOf(await client.callTool({ name: 'big', arguments: { size: 100_000 } }))?.length, 100_000);
  const [a, b] = await Promise.all([
    client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }),
    client.callTool({ name: 'echo', arguments: { text: 'x'.repeat(70_000) } }),
  ]);
  assert.equal(textOf(a), '5');
  assert.equal(textOf(b)?.length, 70_000);
}

describe('codec over real child processes', { concurrency: 3 }, () => {
  it('two codec peers agree (legacy era, SDK v1): both switch to msgpack', async () => {
    const transport = new CodecClientTransport({ ...serverCommand({}), stderr: 'pipe' });
    const client = new Client({ name: 'codec', version: '1.0.0' });
    await client.connect(transport);
    try {
      await exercise(client);
      assert.equal(transport.format, 'msgpack');
      assert.equal(await wireFormat(client), 'msgpack');
    } finally {
      await client.close();
    }
  });

  it('codec client with a plain SDK server: stays JSON and works', async () => {
    const transport = new CodecClientTransport({
      ...serverCommand({ CODEC_TRANSPORT: 'plain' }),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'codec', version: '1.0.0' });
    await client.connect(transport);
    try {
      await exercise(client);
      assert.equal(transport.format, 'json');
      assert.equal(await wireFormat(client), 'plain');
    } finally {
      await client.close();
    }
  });

  it('plain SDK client with a codec server: stays JSON and works', async () => {
    const client = new Client({ name: 'plain', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ ...serverCommand({}), stderr: 'pipe' }));
    try {
      await exercise(client);
      assert.equal(await wireFormat(client), 'json');
    } finally {
      await client.close();
    }
  });

  it('codec: false on the client: no offer, JSON both ways', async () => {
    const transport = new CodecClientTransport({ ...serverCommand({}), stderr: 'pipe' }, { codec: false });
    const client = new Client({ name: 'codec-off', version: '1.0.0' });
    await client.connect(transport);
    try {
      await exercise(client);
      assert.equal(transport.format, 'json');
      assert.equal(await wireFormat(client), 'json');
    } finally {
      await client.close();
    }
  });

  it('SDK v2, legacy era: the initialize handshake carries the agreement', async () => {
    const transport = new CodecClientTransport({ ...serverCommand({ CODEC_SDK: 'v2' }), stderr: 'pipe' });
    const client = new ClientV2({ name: 'codec-v2', version: '2.0.0' });
    await client.connect(transport);
    try {
      await exercise(client as unknown as AnyClient);
      assert.equal(transport.format, 'msgpack');
      assert.equal(await wireFormat(client as unknown as AnyClient), 'msgpack');
    } finally {
      await client.close();
    }
  });

  it('SDK v2, modern era (2026-07-28): server/discover carries the agreement', async () => {
    const transport = new CodecClientTransport({
      ...serverCommand({ CODEC_SDK: 'v2', CODEC_MODERN: '1' }),
      stderr: 'pipe',
    });
    const client = new ClientV2(
      { name: 'codec-modern', version: '2.0.0' },
      {
        supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS,
        versionNegotiation: { mode: { pin: '2026-07-28' } },
      },
    );
    await client.connect(transport);
    try {
      await exercise(client as unknown as AnyClient);
      assert.equal(transport.format, 'msgpack');
      assert.equal(await wireFormat(client as unknown as AnyClient), 'msgpack');
    } finally {
      await client.close();
    }
  });

  it('SDK v2, modern era, plain SDK server: stays JSON', async () => {
    const transport = new CodecClientTransport({
      ...serverCommand({ CODEC_SDK: 'v2', CODEC_MODERN: '1', CODEC_TRANSPORT: 'plain' }),
      stderr: 'pipe',
    });
    const client = new ClientV2(
      { name: 'codec-modern', version: '2.0.0' },
      {
        supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS,
        versionNegotiation: { mode: { pin: '2026-07-28' } },
      },
    );
    await client.connect(transport);
    try {
      await exercise(client as unknown as AnyClient);
      assert.equal(transport.format, 'json');
    } finally {
      await client.close();
    }
  });

  it('through createProxy: a binary hop to the proxy, plain JSON from the proxy to the server', async () => {
    // The proxy runs here; its downstream is a codec server transport on an in-process
    // stream pair, its upstream a plain SDK stdio child.
    const { PassThrough } = await import('node:stream');
    const toProxy = new PassThrough();
    const fromProxy = new PassThrough();
    const downstream = new CodecServerTransport(toProxy, fromProxy);
    const upstream = new StdioClientTransport({
      ...serverCommand({ CODEC_TRANSPORT: 'plain' }),
      stderr: 'pipe',
    });
    const proxy = createProxy({ downstream, upstream });
    await proxy.start();
    const transport = new CodecClientTransport({ readable: fromProxy, writable: toProxy });
    const client = new Client({ name: 'via-proxy', version: '1.0.0' });
    await client.connect(transport);
    try {
      await exercise(client);
      assert.equal(transport.format, 'msgpack');
      assert.equal(downstream.format, 'msgpack');
      assert.equal(await wireFormat(client), 'plain');
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('through createProxy: plain JSON to the proxy, a binary hop from the proxy to a codec server', async () => {
    const { PassThrough } = await import('node:stream');
    const toProxy = new PassThrough();
    const fromProxy = new PassThrough();
    const upstream = new CodecClientTransport({ ...serverCommand({}), stderr: 'pipe' });
    const proxy = createProxy({
      downstream: new CodecServerTransport(toProxy, fromProxy, { codec: false }),
      upstream,
    });
    await proxy.start();
    const client = new Client({ name: 'via-proxy', version: '1.0.0' });
    await client.connect(new CodecClientTransport({ readable: fromProxy, writable: toProxy }));
    try {
      await exercise(client);
      assert.equal(upstream.format, 'msgpack');
      assert.equal(await wireFormat(client), 'msgpack');
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('a plain JSON relay between two codec peers: the offer does not cross it, both hops stay JSON', async () => {
    const { PassThrough } = await import('node:stream');
    const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
    const toRelay = new PassThrough();
    const fromRelay = new PassThrough();
    const relay = createProxy({
      downstream: new StdioServerTransport(toRelay, fromRelay),
      upstream: new StdioClientTransport({ ...serverCommand({}), stderr: 'pipe' }),
    });
    await relay.start();
    const transport = new CodecClientTransport({ readable: fromRelay, writable: toRelay });
    const client = new Client({ name: 'via-relay', version: '1.0.0' });
    await client.connect(transport);
    try {
      await exercise(client);
      assert.equal(transport.format, 'json');
      assert.equal(await wireFormat(client), 'json');
    } finally {
      await client.close();
      await relay.close();
    }
  });
});
