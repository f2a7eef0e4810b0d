import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  BATCH_CAPABILITY,
  BATCH_METHOD,
  BATCHING_DEFAULTS,
  type BatchEvent,
  batching,
  cache,
  type JsonObject,
  type Middleware,
  withMiddleware,
  wrapTransport,
} from '../../../src/index.js';
import { FakeTransport } from '../../helpers/fake-transport.js';
import { fakeContext } from '../../helpers/request-context.js';
import { createCountingServer, deferred } from '../../helpers/servers.js';
import { methodCounter, RecordingTransport, textOf } from '../../helpers/stacks.js';
import { cancelOneOfABatch } from './cancel-one.js';

/** A batch tool `lookup` over ids: each id answers `user <id>`; `bad` ids fail on their own. */
function lookupTool(runs: unknown[][], extra: { maxBatchSize?: number; maxWaitMs?: number } = {}) {
  return {
    ...extra,
    run: async (argsList: JsonObject[]) => {
      runs.push(argsList.map((a) => a.id));
      return argsList.map((a) =>
        String(a.id).startsWith('bad')
          ? new Error(`no user ${a.id}`)
          : { content: [{ type: 'text', text: `user ${a.id}` }] },
      );
    },
  };
}

/** A v1 pair around the counting server, plus a `lookup` tool registered on it (it never runs when batched). */
async function pair(server: readonly Middleware[], client: readonly Middleware[] = []) {
  const { server: mcp, counts } = createCountingServer();
  const { z } = await import('zod');
  mcp.registerTool('lookup', { inputSchema: { id: z.string() } }, async ({ id }) => {
    counts.lookup = (counts.lookup ?? 0) + 1;
    return { content: [{ type: 'text', text: `plain ${id}` }] };
  });
  withMiddleware(mcp, server);
  const c = new Client({ name: 'c', version: '1' });
  if (client.length) withMiddleware(c, client);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const recorder = new RecordingTransport(a);
  await mcp.connect(b);
  await c.connect(recorder);
  return {
    client: c,
    counts,
    recorder,
    close: async () => {
      await c.close();
      await mcp.close();
    },
  };
}

const call = (client: Client, id: string) => client.callTool({ name: 'lookup', arguments: { id } });

describe('batching: batch handlers', () => {
  it('runs concurrent calls once, with identical arguments deduplicated, each caller answered with its own result', async () => {
    const runs: unknown[][] = [];
    const b = batching({ tools: { lookup: lookupTool(runs) } });
    const p = await pair([b]);
    const ids = ['1', '2', '1', '3', '2'];
    const results = await Promise.all(ids.map((id) => call(p.client, id)));
    assert.deepEqual(runs, [['1', '2', '3']]);
    assert.deepEqual(
      results.map(textOf),
      ids.map((id) => `user ${id}`),
    );
    assert.equal(p.counts.lookup, undefined, 'the server tool never ran');
    const s = b.stats();
    assert.equal(s.batches, 1);
    assert.equal(s.items, 3);
    assert.equal(s.calls, 5);
    assert.equal(s.dedupHits, 2);
    assert.equal(s.meanBatchSize, 3);
    await p.close();
  });

  it("isolates one item's error, keeps order, and leaves other tools alone", async () => {
    const runs: unknown[][] = [];
    const p = await pair([batching({ tools: { lookup: lookupTool(runs) } })]);
    const [ok, bad, other] = await Promise.all([
      call(p.client, 'a'),
      call(p.client, 'bad1'),
      p.client.callTool({ name: 'echo', arguments: { text: 'x' } }),
    ]);
    assert.equal(textOf(ok), 'user a');
    assert.equal(ok.isError, undefined);
    assert.equal(bad.isError, true);
    assert.equal(textOf(bad), 'no user bad1');
    assert.equal(textOf(other), 'x');
    assert.equal(p.counts.echo, 1);
    await p.close();
  });

  it('splits at maxBatchSize distinct inputs', async () => {
    const runs: unknown[][] = [];
    const p = await pair([batching({ tools: { lookup: lookupTool(runs, { maxBatchSize: 2 }) } })]);
    await Promise.all(['1', '2', '3', '4', '5'].map((id) => call(p.client, id)));
    assert.deepEqual(runs, [['1', '2'], ['3', '4'], ['5']]);
    await p.close();
  });

  it('answers every caller of a batch whose run returns the wrong number of results with a clear error', async () => {
    const events: BatchEvent[] = [];
    const b = batching({
      tools: { lookup: { run: async () => [{ content: [] }] } },
      onBatch: (e) => events.push(e),
    });
    const p = await pair([b]);
    const outcomes = await Promise.allSettled([call(p.client, '1'), call(p.client, '2')]);
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      assert.match(
        String((o as PromiseRejectedResult).reason),
        /run of tool "lookup" returned 1 results for 2 items/,
      );
    }
    assert.equal(b.stats().failedBatches, 1);
    assert.match(events[0]?.error ?? '', /returned 1 results for 2 items/);
    await p.close();
  });

  it('sends progress of a batched item to each caller under its own token', async () => {
    const p = await pair([
      batching({
        tools: {
          lookup: {
            run: async (argsList, items) => {
              for (const item of items) item.progress({ progress: 1, total: 1 });
              return argsList.map((a) => ({
                content: [{ type: 'text', text: String(a.id) }],
              }));
            },
          },
        },
      }),
    ]);
    const seen: string[] = [];
    await Promise.all(
      ['x', 'x', 'y'].map((id, i) =>
        p.client.callTool({ name: 'lookup', arguments: { id } }, undefined, {
          onprogress: () => seen.push(`${i}:${id}`),
        }),
      ),
    );
    assert.deepEqual(seen.sort(), ['0:x', '1:x', '2:y']);
    await p.close();
  });

  it('takes a cancelled call out of the pending batch', async () => {
    const runs: unknown[][] = [];
    const p = await pair([batching({ tools: { lookup: lookupTool(runs, { maxWaitMs: 30 }) } })]);
    const controller = new AbortController();
    const kept = call(p.client, 'kept');
    const dropped = p.client.callTool({ name: 'lookup', arguments: { id: 'gone' } }, undefined, {
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await assert.rejects(dropped);
    assert.equal(textOf(await kept), 'user kept');
    assert.deepEqual(runs, [['kept']]);
    await p.close();
  });

  it('waits maxWaitMs for more calls (fake timers)', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const runs: unknown[][] = [];
      const b = batching({
        tools: { lookup: lookupTool(runs, { maxWaitMs: 10 }) },
      });
      const request = b.request!;
      const next = () => Promise.reject(new Error('not batched'));
      const ctx = (id: string) => fakeContext({ params: { name: 'lookup', arguments: { id } } });
      const first = request(ctx('1'), next);
      mock.timers.tick(9);
      const second = request(ctx('2'), next);
      await Promise.resolve();
      assert.deepEqual(runs, []);
      mock.timers.tick(1);
      const replies = await Promise.all([first, second]);
      assert.deepEqual(runs, [['1', '2']]);
      assert.deepEqual(
        replies.map((r) => (r.result?.content as { text: string }[] | undefined)?.[0]?.text),
        ['user 1', 'user 2'],
      );
      const third = request(ctx('3'), next);
      mock.timers.tick(10);
      await third;
      assert.deepEqual(runs, [['1', '2'], ['3']]);
    } finally {
      mock.timers.reset();
    }
  });

  it('batches resources/read over matching URIs and answers an item error as a JSON-RPC error', async () => {
    const runs: string[][] = [];
    const p = await pair([
      batching({
        resources: [
          {
            uris: ['user://*'],
            run: async (uris) => {
              runs.push(uris);
              return uris.map((uri) =>
                uri.endsWith('x') ? new Error(`missing ${uri}`) : { contents: [{ uri, text: uri }] },
              );
            },
          },
        ],
      }),
    ]);
    const [a, x, readme] = await Promise.allSettled([
      p.client.readResource({ uri: 'user://a' }),
      p.client.readResource({ uri: 'user://x' }),
      p.client.readResource({ uri: 'file:///readme.txt' }),
    ]);
    assert.deepEqual(runs, [['user://a', 'user://x']]);
    assert.equal(a.status === 'fulfilled' && (a.value.contents[0] as { text?: string })?.text, 'user://a');
    assert.match(String(x.status === 'rejected' && x.reason), /missing user:\/\/x/);
    assert.equal(
      readme.status === 'fulfilled' && (readme.value.contents[0] as { text?: string })?.text,
      'hello',
    );
    await p.close();
  });

  it('validates options when created, naming the option', () => {
    assert.throws(
      () => batching({ tools: { t: {} as never } }),
      /batching: options\.tools\.t\.run must be a function/,
    );
    assert.throws(
      () => batching({ tools: { t: { run: () => [], maxBatchSize: 0 } } }),
      /options\.tools\.t\.maxBatchSize must be a positive integer/,
    );
    assert.throws(
      () => batching({ tools: { t: { run: () => [], maxWaitMs: -1 } } }),
      /options\.tools\.t\.maxWaitMs/,
    );
    assert.throws(
      () => batching({ resources: [{ uris: [], run: () => [] }] }),
      /options\.resources\[0\]\.uris/,
    );
    assert.throws(() => batching({ requests: { maxWaitMs: Number.NaN } }), /options\.requests\.maxWaitMs/);
    assert.throws(() => batching({ onBatch: 1 as never }), /options\.onBatch must be a function/);
    assert.equal(BATCHING_DEFAULTS.maxBatchSize, 64);
    assert.equal(BATCHING_DEFAULTS.maxWaitMs, 0);
  });
});

describe('batching: requests between two mcp-perf peers (SDK v1, legacy era)', () => {
  it('sends concurrent requests as one batch the server runs through its stack, answering each caller', async () => {
    const counter = methodCounter();
    const server = batching();
    const client = batching();
    const p = await pair([server, counter], [client]);
    const init = p.recorder.received.find((m) => 'result' in m && (m.result as JsonObject).serverInfo);
    assert.ok(
      (
        (init as { result: JsonObject }).result.capabilities as JsonObject & {
          experimental: JsonObject;
        }
      ).experimental[BATCH_CAPABILITY],
    );
    p.recorder.sent.length = 0;
    const results = await Promise.all([
      p.client.callTool({ name: 'echo', arguments: { text: 'first' } }),
      p.client.callTool({ name: 'echo', arguments: { text: 'a' } }),
      p.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }),
      p.client.readResource({ uri: 'file:///readme.txt' }),
    ]);
    assert.equal(textOf(results[0]), 'first');
    assert.equal(textOf(results[1]), 'a');
    assert.equal(textOf(results[2]), '3');
    assert.equal((results[3] as { contents: { text: string }[] }).contents[0]?.text, 'hello');
    const sent = p.recorder.sent.map((s) => s.message as { method?: string; params?: JsonObject });
    assert.deepEqual(
      sent.map((m) => m.method),
      ['tools/call', BATCH_METHOD],
      'the first request of the turn goes at once, the ones issued while it is awaited follow as one batch',
    );
    assert.equal(sent[0]?.params?.requests, undefined);
    const inner = sent[1]?.params?.requests as { id: number; method: string }[];
    assert.deepEqual(
      inner.map((r) => r.method),
      ['tools/call', 'tools/call', 'resources/read'],
    );
    assert.equal(counter.counts['tools/call'], 3, 'each request crossed the server stack on its own');
    assert.equal(p.counts.echo, 2);
    assert.equal(client.stats().requestBatchesSent, 1);
    assert.equal(client.stats().requestsBatched, 3);
    assert.equal(server.stats().requestsUnbatched, 3);
    // A lone request goes out plain, and so do requests awaited one after another.
    p.recorder.sent.length = 0;
    await p.client.callTool({ name: 'echo', arguments: { text: 'solo' } });
    await p.client.callTool({ name: 'echo', arguments: { text: 'then' } });
    assert.deepEqual(
      p.recorder.sent.map((s) => (s.message as { method: string }).method),
      ['tools/call', 'tools/call'],
    );
    assert.equal(client.stats().requestBatchesSent, 1);
    await p.close();
  });

  it('routes progress of a batched request to its own caller', async () => {
    const p = await pair([batching()], [batching()]);
    const seen: string[] = [];
    const [a, b] = await Promise.all([
      p.client.callTool({ name: 'progress', arguments: { steps: 2 } }, undefined, {
        onprogress: () => seen.push('a'),
      }),
      p.client.callTool({ name: 'progress', arguments: { steps: 1 } }, undefined, {
        onprogress: () => seen.push('b'),
      }),
    ]);
    assert.equal(textOf(a), 'done 2');
    assert.equal(textOf(b), 'done 1');
    assert.deepEqual(seen.sort(), ['a', 'a', 'b']);
    await p.close();
  });

  it('cancels one request of a sent batch on the server by its own id, the others answering normally', async () => {
    const gate = deferred();
    const { server: mcp, counts } = createCountingServer({ gate: () => gate.promise });
    withMiddleware(mcp, [batching()]);
    const c = new Client({ name: 'c', version: '1' });
    const client = batching();
    withMiddleware(c, [client]);
    const errors: Error[] = [];
    c.onerror = (error) => errors.push(error);
    const [x, y] = InMemoryTransport.createLinkedPair();
    const recorder = new RecordingTransport(x);
    await mcp.connect(y);
    await c.connect(recorder);
    await cancelOneOfABatch(
      (name, args, signal) => c.callTool({ name, arguments: args }, undefined, { signal }),
      { recorder, counts, gate, client },
    );
    assert.deepEqual(errors, []);
    await c.close();
    await mcp.close();
  });

  it('falls back to plain requests, identical on the wire, when the server does not batch', async () => {
    const plain = await pair([]);
    const batched = await pair([], [batching()]);
    for (const p of [plain, batched]) {
      p.recorder.sent.length = 0;
      await Promise.all([
        p.client.callTool({ name: 'echo', arguments: { text: 'a' } }),
        p.client.callTool({ name: 'echo', arguments: { text: 'b' } }),
      ]);
    }
    assert.deepEqual(
      batched.recorder.sent.map((s) => JSON.stringify(s.message)),
      plain.recorder.sent.map((s) => JSON.stringify(s.message)),
    );
    await plain.close();
    await batched.close();
  });

  it('does not accept batching for a client that does not offer it', async () => {
    const p = await pair([batching()]);
    const init = p.recorder.received.find(
      (m) => 'result' in m && (m.result as JsonObject).serverInfo,
    ) as unknown as {
      result: { capabilities: { experimental?: JsonObject } };
    };
    assert.equal(init.result.capabilities.experimental?.[BATCH_CAPABILITY], undefined);
    await p.close();
  });

  it('lets an early answer of a layer inside it through on a client', () => {
    const t = wrapTransport(new FakeTransport(), [batching(), cache()], { side: 'client' });
    assert.ok(t.pipeline.answersEarly);
  });

  it('sends nothing off the wire with requests: false', async () => {
    const p = await pair([batching()], [batching({ requests: false })]);
    p.recorder.sent.length = 0;
    await Promise.all([
      p.client.callTool({ name: 'echo', arguments: { text: 'a' } }),
      p.client.callTool({ name: 'echo', arguments: { text: 'b' } }),
    ]);
    assert.equal(p.recorder.sent.length, 2);
    await p.close();
  });
});

describe('batching from a config', () => {
  it('builds request batching from its settings and refuses bad ones', async () => {
    const { createStack, parseConfig } = await import('../../../src/config/index.js');
    const serverStack = await createStack(
      parseConfig('middleware:\n  - batching: { requests: { maxBatchSize: 4, maxWaitMs: 1ms } }\n'),
    );
    const clientStack = await createStack(parseConfig('middleware:\n  - batching: {}\n'));
    const server = serverStack.find('batching') as ReturnType<typeof batching>;
    const p = await pair(serverStack.middleware, clientStack.middleware);
    await Promise.all(
      ['a', 'b', 'c'].map((text) => p.client.callTool({ name: 'echo', arguments: { text } })),
    );
    assert.equal(server.stats().requestBatchesReceived, 1);
    await p.close();
    assert.throws(() => parseConfig('middleware:\n  - batching: { requests: { maxBatchSize: 0 } }\n'));
  });
});
