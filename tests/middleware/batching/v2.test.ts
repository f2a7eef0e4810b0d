import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import {
  BATCH_METHOD,
  type BatchingMiddleware,
  batching,
  type JsonObject,
  type Middleware,
  withMiddleware,
  wrapTransport,
} from '../../../src/index.js';
import { type Counts, deferred } from '../../helpers/servers.js';
import { createCountingServerV2, MODERN_AND_LEGACY_VERSIONS } from '../../helpers/servers-v2.js';
import { RecordingTransport, textOf } from '../../helpers/stacks.js';
import { cancelOneOfABatch } from './cancel-one.js';

const MODERN = '2026-07-28';

/** A v2 counting server with a `lookup` tool, batched by `server` when it has a handler. */
function serverV2(counts: Counts, modern: boolean, gate?: () => Promise<void>) {
  const { server } = createCountingServerV2({
    counts,
    gate,
    serverOptions: modern ? { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS } : undefined,
  });
  server.registerTool('lookup', { inputSchema: z.object({ id: z.string() }) }, async ({ id }) => {
    counts.lookup = (counts.lookup ?? 0) + 1;
    return { content: [{ type: 'text', text: `plain ${id}` }] };
  });
  return server;
}

/** A v2 pair in the given era, the server stack wrapping its transport, the client's wire recorded. */
async function pairV2(
  era: 'legacy' | 'modern',
  server: Middleware[],
  client: Middleware[],
  gate?: () => Promise<void>,
  perRequestStream = false,
) {
  const counts: Counts = {};
  const eras: string[] = [];
  const spy: Middleware = async function eraSpy(ctx, next) {
    eras.push(String(ctx.session.era));
    return next();
  };
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const wrapped = wrapTransport(serverSide, [...server, spy], { side: 'server' });
  let close: () => Promise<void>;
  if (era === 'modern') {
    const handle = serveStdio(() => serverV2(counts, true, gate), { transport: wrapped });
    close = () => handle.close();
  } else {
    const mcp = serverV2(counts, false, gate);
    await mcp.connect(wrapped);
    close = () => mcp.close();
  }
  const c = new Client(
    { name: 'v2-client', version: '2.0.0' },
    era === 'modern'
      ? { supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS, versionNegotiation: { mode: 'auto' } }
      : undefined,
  );
  withMiddleware(c, client);
  const recorder = perRequestStream
    ? new PerRequestStreamRecorder(clientSide)
    : new RecordingTransport(clientSide);
  await c.connect(recorder);
  return {
    client: c,
    counts,
    eras,
    recorder,
    async close() {
      await c.close();
      await close();
    },
  };
}

/**
 * A recorder that says it gives each request a stream of its own (as Streamable HTTP does):
 * a modern-era SDK v2 client then cancels a request by aborting its send's `requestSignal`
 * instead of sending `notifications/cancelled`.
 */
class PerRequestStreamRecorder extends RecordingTransport {
  get hasPerRequestStream(): boolean {
    return true;
  }
}

const lookup = (runs: unknown[][]) => ({
  run: async (argsList: JsonObject[]) => {
    runs.push(argsList.map((a) => a.id));
    return argsList.map((a) =>
      a.id === 'bad' ? new Error('no such user') : { content: [{ type: 'text', text: `user ${a.id}` }] },
    );
  },
});

for (const era of ['legacy', 'modern'] as const) {
  describe(`batching on SDK v2, ${era} era`, () => {
    it('batch handlers: one run, deduplicated, per-item errors, valid results for the era', async () => {
      const runs: unknown[][] = [];
      const p = await pairV2(era, [batching({ tools: { lookup: lookup(runs) } })], []);
      try {
        if (era === 'modern') assert.equal(p.client.getNegotiatedProtocolVersion?.(), MODERN);
        const results = await Promise.all(
          ['1', '2', '1', 'bad'].map((id) => p.client.callTool({ name: 'lookup', arguments: { id } })),
        );
        assert.deepEqual(runs, [['1', '2', 'bad']]);
        assert.deepEqual(results.map(textOf), ['user 1', 'user 2', 'user 1', 'no such user']);
        assert.equal(results[3]?.isError, true);
        assert.equal(p.counts.lookup, undefined);
      } finally {
        await p.close();
      }
    });

    it('request batching: negotiated in the handshake, one batch on the wire, each caller answered', async () => {
      const server: BatchingMiddleware = batching();
      const p = await pairV2(era, [server], [batching()]);
      try {
        p.recorder.sent.length = 0;
        const seen: number[] = [];
        const [first, a, b, c] = await Promise.all([
          p.client.callTool({ name: 'echo', arguments: { text: 'first' } }),
          p.client.callTool({ name: 'echo', arguments: { text: 'a' } }),
          p.client.callTool({ name: 'add', arguments: { a: 2, b: 3 } }),
          p.client.callTool(
            { name: 'progress', arguments: { steps: 2 } },
            { onprogress: (e) => seen.push(e.progress) },
          ),
        ]);
        assert.equal(textOf(first), 'first');
        assert.equal(textOf(a), 'a');
        assert.equal(textOf(b), '5');
        assert.equal(textOf(c), 'done 2');
        assert.deepEqual(seen, [1, 2]);
        const methods = p.recorder.sent.map((s) => (s.message as { method?: string }).method);
        assert.deepEqual(methods, ['tools/call', BATCH_METHOD]);
        assert.equal(server.stats().requestsUnbatched, 3);
        assert.ok(p.eras.length > 0 && p.eras.every((e) => e === era), p.eras.join());
      } finally {
        await p.close();
      }
    });

    for (const perRequestStream of era === 'modern' ? [false, true] : [false]) {
      const how = perRequestStream ? 'its per-request signal' : 'notifications/cancelled';
      it(`cancelling one request of a sent batch (by ${how}) reaches the server for that request alone`, async () => {
        const gate = deferred();
        const client = batching();
        const p = await pairV2(era, [batching()], [client], () => gate.promise, perRequestStream);
        try {
          await cancelOneOfABatch(
            (name, args, signal) => p.client.callTool({ name, arguments: args }, { signal }),
            { recorder: p.recorder, counts: p.counts, gate, client },
          );
          assert.ok(
            p.eras.every((e) => e === era),
            p.eras.join(),
          );
        } finally {
          gate.resolve();
          await p.close();
        }
      });
    }

    it('falls back to plain requests when the server does not batch', async () => {
      const p = await pairV2(era, [], [batching()]);
      try {
        p.recorder.sent.length = 0;
        const results = await Promise.all(
          ['a', 'b'].map((text) => p.client.callTool({ name: 'echo', arguments: { text } })),
        );
        assert.deepEqual(results.map(textOf), ['a', 'b']);
        assert.deepEqual(
          p.recorder.sent.map((s) => (s.message as { method?: string }).method),
          ['tools/call', 'tools/call'],
        );
      } finally {
        await p.close();
      }
    });
  });
}
