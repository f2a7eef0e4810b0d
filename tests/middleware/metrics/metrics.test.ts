import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pipeline, type PipelineEnds } from '../../../src/entries/core.js';
import {
  ErrorCodes,
  isInvalidOptionError,
  type JsonRpcMessage,
  type Middleware,
  OverloadedError,
} from '../../../src/index.js';
import { concurrencyLimit } from '../../../src/middleware/concurrency/index.js';
import {
  METRICS_DEFAULTS,
  metrics,
  type SlowRequestEvent,
  withMetrics,
} from '../../../src/middleware/metrics/index.js';
import type { TokenCounter } from '../../../src/tokens/types.js';
import { connectPair, createCountingServer, deferred } from '../../helpers/servers.js';

/** A pipeline whose handler end is answered by hand, for exact control of time. */
function harness(stack: Middleware[]) {
  const toHandler: JsonRpcMessage[] = [];
  const toCaller: JsonRpcMessage[] = [];
  const errors: Error[] = [];
  const ends: PipelineEnds = {
    toCaller: (m) => {
      toCaller.push(m);
    },
    toHandler: (m) => {
      toHandler.push(m);
    },
    sessionId: () => 's-1',
    reportError: (e) => errors.push(e),
  };
  return { pipeline: new Pipeline('server', ends, stack), toHandler, toCaller, errors };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A fake clock the middleware reads. */
function fakeClock(start = 0) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

async function callThrough(
  h: ReturnType<typeof harness>,
  clock: { now: number },
  id: number,
  name: string,
  latencyMs: number,
  result: Record<string, unknown> = { content: [] },
) {
  h.pipeline.fromCaller({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });
  await tick();
  clock.now += latencyMs;
  h.pipeline.fromHandler({ jsonrpc: '2.0', id, result });
  await tick();
}

describe('metrics options', () => {
  it('documents its real defaults', () => {
    assert.deepEqual(
      { ...METRICS_DEFAULTS },
      {
        maxTools: 100,
        maxMethods: 64,
        significantDigits: 3,
        windowSignificantDigits: 2,
        maxLatencyMs: 3_600_000,
        windowMs: 60_000,
        windowSlots: 6,
        tokens: false,
        tokenSampleRate: 1,
        bytes: false,
        slowThresholdMs: 1000,
      },
    );
    const s = metrics().snapshot();
    assert.equal(s.window.ms, METRICS_DEFAULTS.windowMs);
    assert.equal(s.tokens, null);
  });

  const bad: [string, Record<string, unknown>][] = [
    ['maxTools', { maxTools: 0 }],
    ['maxTools', { maxTools: 1.5 }],
    ['maxMethods', { maxMethods: -1 }],
    ['significantDigits', { significantDigits: 6 }],
    ['windowSignificantDigits', { windowSignificantDigits: 0 }],
    ['maxLatencyMs', { maxLatencyMs: 0.5 }],
    ['windowSlots', { windowSlots: 1 }],
    ['windowMs', { windowMs: 3, windowSlots: 6 }],
    ['windowMs', { windowMs: Number.POSITIVE_INFINITY }],
    ['tokens', { tokens: 'tiktoken' }],
    ['tokenSampleRate', { tokenSampleRate: 1.5 }],
    ['bytes', { bytes: 'yes' }],
    ['slowThresholdMs', { slowThresholdMs: -1 }],
    ['onSlowRequest', { onSlowRequest: 'log' }],
    ['sources', { sources: {} }],
    ['sources[0]', { sources: [{ name: 'x' }] }],
    ['clock', { clock: 5 }],
  ];
  for (const [option, value] of bad) {
    it(`rejects an invalid ${option} at factory time, naming it`, () => {
      assert.throws(
        () => metrics(value as never),
        (e: unknown) =>
          isInvalidOptionError(e) && e.option === option && e.message.startsWith('metrics: options.'),
      );
    });
  }
});

describe('metrics latency', () => {
  it('reports percentiles of a known distribution within the histogram precision', async () => {
    const clock = fakeClock();
    const m = metrics({ clock: clock.read, maxLatencyMs: 60_000 });
    const h = harness([m]);
    // 1 … 1000 ms, once each, in a scrambled order.
    for (let i = 0; i < 1000; i++) {
      const ms = ((i * 617) % 1000) + 1;
      await callThrough(h, clock, i, 'echo', ms);
    }
    const op = m.snapshot().operations[0]!;
    assert.equal(op.method, 'tools/call');
    assert.equal(op.tool, 'echo');
    assert.equal(op.requests, 1000);
    const close = (actual: number, expected: number) =>
      assert.ok(Math.abs(actual - expected) <= expected * 0.001 + 0.001, `${actual} ≈ ${expected}`);
    close(op.latency.p50Ms, 500);
    close(op.latency.p90Ms, 900);
    close(op.latency.p95Ms, 950);
    close(op.latency.p99Ms, 990);
    close(op.latency.p999Ms, 999);
    close(op.latency.maxMs, 1000);
    close(op.latency.meanMs, 500.5);
    // The recent window keeps two significant digits.
    assert.ok(Math.abs(op.recent.p99Ms - 990) <= 990 * 0.01);
  });

  it('measures from ctx.startedAt with the default clock, and records microseconds', async () => {
    const m = metrics();
    const h = harness([m]);
    h.pipeline.fromCaller({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await tick();
    h.pipeline.fromHandler({ jsonrpc: '2.0', id: 1, result: {} });
    await tick();
    const op = m.snapshot().operations[0]!;
    assert.equal(op.method, 'ping');
    assert.equal(op.tool, null);
    assert.ok(op.latency.maxMs > 0 && op.latency.maxMs < 1000);
  });

  it('clamps latencies beyond maxLatencyMs to it', async () => {
    const clock = fakeClock();
    const m = metrics({ clock: clock.read, maxLatencyMs: 1000 });
    const h = harness([m]);
    await callThrough(h, clock, 1, 'echo', 5000);
    assert.ok(Math.abs(m.snapshot().operations[0]!.latency.maxMs - 1000) <= 1);
  });
});

describe('metrics recent window', () => {
  it('rotates lazily with the clock: requests leave the window once their slot is reused', async () => {
    const clock = fakeClock(1_000_000);
    const m = metrics({ clock: clock.read, windowMs: 60_000, windowSlots: 6 });
    const h = harness([m]);
    for (let i = 0; i < 10; i++) await callThrough(h, clock, i, 'echo', 0);
    clock.now += 30_000;
    for (let i = 10; i < 15; i++) await callThrough(h, clock, i, 'echo', 0);
    let s = m.snapshot();
    assert.equal(s.totals.recentRequests, 15);
    assert.equal(s.operations[0]!.recent.count, 15);
    assert.equal(s.window.coveredMs, 30_000);
    assert.equal(s.totals.recentPerSecond, 0.5);

    clock.now += 35_000; // the first batch's 10 s slot has been reused
    s = m.snapshot();
    assert.equal(s.totals.recentRequests, 5);
    assert.equal(s.operations[0]!.recent.count, 5);
    assert.equal(s.window.coveredMs, 55_000, 'five full slots and half of the current one');
    assert.equal(s.operations[0]!.requests, 15, 'cumulative figures keep everything');

    clock.now += 600_000;
    s = m.snapshot();
    assert.equal(s.totals.recentRequests, 0);
    assert.equal(s.operations[0]!.recent.count, 0);
    assert.equal(s.operations[0]!.recent.p99Ms, 0);

    await callThrough(h, clock, 99, 'echo', 10);
    s = m.snapshot();
    assert.equal(s.operations[0]!.recent.count, 1);
    assert.equal(s.operations[0]!.recent.maxMs, 10);
  });
});

describe('metrics outcomes over a real connection', () => {
  it('classifies ok, tool_error, protocol_error, shed and timeout replies', async () => {
    const shedding: Middleware = {
      name: 'shedding',
      async request(ctx, next) {
        if (ctx.method === 'tools/call' && ctx.params?.name === 'add') {
          throw new OverloadedError('concurrency limit reached for tool "add": 1/1 running, 0/0 queued', {
            retryAfterMs: 100,
            scope: 'tool:add',
            limit: 1,
          });
        }
        if (ctx.method === 'tools/call' && ctx.params?.name === 'read_only') {
          return { error: { code: -32001, message: 'Request timed out' } };
        }
        return next();
      },
    };
    const m = metrics();
    const pair = await connectPair({ server: [m, shedding] });
    await pair.client.listTools();
    await pair.client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    await pair.client.callTool({ name: 'fail', arguments: {} });
    await assert.rejects(pair.client.getPrompt({ name: 'missing' }));
    await assert.rejects(pair.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }), /-31503|limit/);
    await assert.rejects(pair.client.callTool({ name: 'read_only', arguments: { q: 'x' } }));
    const s = m.snapshot();
    const find = (method: string, tool: string | null) =>
      s.operations.find((o) => o.method === method && o.tool === tool && o.side === 'server');
    assert.equal(find('tools/call', 'echo')?.outcomes.ok, 1);
    assert.equal(find('tools/call', 'fail')?.outcomes.tool_error, 1);
    assert.deepEqual(find('tools/call', 'fail')?.errorTypes, { tool_error: 1 });
    assert.equal(find('prompts/get', null)?.outcomes.protocol_error, 1);
    assert.deepEqual(find('prompts/get', null)?.errorTypes, { [String(ErrorCodes.InvalidParams)]: 1 });
    assert.equal(find('tools/call', 'add')?.outcomes.shed, 1);
    assert.deepEqual(find('tools/call', 'add')?.errorTypes, { '-31503': 1 });
    assert.equal(find('tools/call', 'read_only')?.outcomes.timeout, 1);
    assert.deepEqual(find('tools/call', 'read_only')?.errorTypes, { timeout: 1 });
    assert.equal(find('initialize', null)?.outcomes.ok, 1);
    assert.equal(s.totals.outcomes.shed, 1);
    assert.equal(s.totals.inFlight, 0);
    assert.equal(pair.counts.add, undefined, 'the shed call never ran');
    await pair.close();
  });

  it('classifies a cancelled request as cancelled and one the SDK timed out as timeout', async (t) => {
    const gate = deferred();
    const m = metrics();
    const pair = await connectPair({ server: [m], counting: { gate: () => gate.promise } });
    await pair.client.listTools();

    const controller = new AbortController();
    const cancelled = pair.client.callTool({ name: 'gate', arguments: {} }, undefined, {
      signal: controller.signal,
    });
    await tick();
    assert.equal(m.snapshot().totals.inFlight, 1);
    controller.abort('user pressed stop');
    await assert.rejects(cancelled);
    await tick();

    t.mock.timers.enable({ apis: ['setTimeout'] });
    const timedOut = pair.client.callTool({ name: 'gate', arguments: {} }, undefined, { timeout: 5000 });
    await tick();
    t.mock.timers.tick(5000);
    await assert.rejects(timedOut, /timed out/i);
    await tick();
    t.mock.timers.reset();

    const gateOp = m.snapshot().operations.find((o) => o.tool === 'gate')!;
    assert.equal(gateOp.outcomes.cancelled, 1);
    assert.equal(gateOp.outcomes.timeout, 1);
    assert.equal(m.snapshot().totals.inFlight, 0);
    gate.resolve();
    await pair.close();
  });

  it('measures the client side under its own side', async () => {
    const m = metrics();
    const pair = await connectPair({ client: [m] });
    await pair.client.listTools();
    await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
    const s = m.snapshot();
    assert.ok(s.operations.every((o) => o.side === 'client'));
    assert.equal(s.operations.find((o) => o.tool === 'echo')?.outcomes.ok, 1);
    assert.deepEqual(s.inFlight, { client: 0 });
    await pair.close();
  });

  it('withMetrics adds the middleware to a server and returns the server', async () => {
    const { server } = createCountingServer();
    const m = metrics();
    assert.equal(withMetrics(server, m), server);
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
    const client = new Client({ name: 'c', version: '1' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    await client.connect(a);
    await client.ping();
    assert.equal(m.snapshot().operations.find((o) => o.method === 'ping')?.requests, 1);
    await client.close();
    await server.close();

    const second = createCountingServer().server;
    assert.equal(withMetrics(second, m), second);
    const client2 = new Client({ name: 'c', version: '1' });
    const [c, d] = InMemoryTransport.createLinkedPair();
    await second.connect(d);
    await client2.connect(c);
    await client2.ping();
    assert.equal(m.snapshot().operations.find((o) => o.method === 'ping')?.requests, 2);
    await client2.close();
    await second.close();
  });
});

describe('metrics cardinality', () => {
  it('folds unknown and excess tool names into other', async () => {
    const m = metrics({ maxTools: 2 });
    const pair = await connectPair({ server: [m] });
    await pair.client.callTool({ name: 'nope', arguments: {} }); // unknown: an isError result, not listed
    await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } }); // ok: tracked
    await pair.client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }); // ok: tracked (2 of 2)
    await pair.client.callTool({ name: 'read_only', arguments: { q: 'a' } }); // beyond maxTools
    const tools = m
      .snapshot()
      .operations.filter((o) => o.method === 'tools/call')
      .map((o) => [o.tool, o.requests]);
    assert.deepEqual(tools, [
      ['other', 2],
      ['echo', 1],
      ['add', 1],
    ]);
    await pair.close();
  });

  it('tracks listed tools even when they fail, and folds methods beyond maxMethods', async () => {
    const m = metrics({ maxMethods: 3 });
    const pair = await connectPair({ server: [m] });
    await pair.client.listTools(); // initialize, tools/list
    await pair.client.callTool({ name: 'fail', arguments: {} }); // tools/call (3rd method)
    await pair.client.ping(); // 4th method: other
    await pair.client.listPrompts(); // other
    const s = m.snapshot();
    assert.deepEqual(
      s.operations.map((o) => [o.method, o.tool, o.requests]),
      [
        ['initialize', null, 1],
        ['tools/list', null, 1],
        ['tools/call', 'fail', 1],
        ['other', null, 2],
      ],
    );
    await pair.close();
  });
});

describe('metrics collaborators', () => {
  it('counts cache statuses from ctx.state.cache and passes queued time to onSlowRequest', async () => {
    const clock = fakeClock();
    const slow: SlowRequestEvent[] = [];
    const m = metrics({ clock: clock.read, slowThresholdMs: 100, onSlowRequest: (e) => slow.push(e) });
    const fakeCache: Middleware = {
      name: 'fake-cache',
      async request(ctx, next) {
        if (ctx.params?.name === 'cached') {
          ctx.state.cache = 'hit';
          return { result: { content: [] } };
        }
        ctx.state.cache = 'miss';
        ctx.state.queuedMs = 150;
        return next();
      },
    };
    const h = harness([m, fakeCache]);
    h.pipeline.fromCaller({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'cached' } });
    await tick();
    await callThrough(h, clock, 2, 'echo', 400);
    await callThrough(h, clock, 3, 'echo', 50);
    const s = m.snapshot();
    assert.deepEqual(s.totals.cache, { hit: 1, miss: 2, stale: 0, coalesced: 0, bypass: 0 });
    assert.equal(slow.length, 1);
    assert.deepEqual(slow[0], {
      side: 'server',
      method: 'tools/call',
      tool: 'echo',
      id: 2,
      sessionId: 's-1',
      outcome: 'ok',
      totalMs: 400,
      queuedMs: 150,
      serviceMs: 250,
      cache: 'miss',
    });
  });

  it('reports a throwing onSlowRequest through onerror and still answers', async () => {
    const clock = fakeClock();
    const m = metrics({
      clock: clock.read,
      slowThresholdMs: 0,
      onSlowRequest: () => {
        throw new Error('boom');
      },
    });
    const h = harness([m]);
    await callThrough(h, clock, 1, 'echo', 1);
    assert.equal(h.toCaller.length, 1);
    assert.match(h.errors[0]?.message ?? '', /onSlowRequest failed: boom/);
  });

  it('reads numeric figures of its sources at snapshot time', () => {
    let queued = 3;
    const limiter = {
      name: 'concurrency',
      stats: () => ({ running: 8, queued, shed: 2, label: 'x', scopes: { tool: { queued: 1 } } }),
    };
    const m = metrics({ sources: [limiter] });
    assert.deepEqual(m.snapshot().sources, {
      concurrency: { running: 8, queued: 3, shed: 2, 'scopes.tool.queued': 1 },
    });
    queued = 0;
    assert.equal(m.snapshot().sources.concurrency?.queued, 0);
    assert.match(m.report(), /concurrency: running 8, queued 0, shed 2/);
  });

  it('counts the tokens the model writes and reads, sampled deterministically', async () => {
    const chars: TokenCounter = { name: 'chars', exact: true, count: (text) => text.length };
    const m = metrics({ tokens: chars, tokenSampleRate: 0.5 });
    const pair = await connectPair({ server: [m] });
    for (let i = 0; i < 4; i++) await pair.client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    const op = m.snapshot().operations.find((o) => o.tool === 'echo')!;
    // name 'echo' (4) + '{"text":"hello"}' (16) in; 'hello' (5) out; two of four counted.
    assert.deepEqual(op.tokens, { sampledRequests: 2, in: 40, out: 10, inPerRequest: 20, outPerRequest: 5 });
    assert.deepEqual(m.snapshot().tokens, { counter: 'chars', exact: true, sampleRate: 0.5 });
    await pair.close();
  });

  it("counts tool definitions of tools/list with the 'approximate' counter", async () => {
    const m = metrics({ tokens: 'approximate' });
    const pair = await connectPair({ server: [m] });
    await pair.client.listTools();
    const op = m.snapshot().operations.find((o) => o.method === 'tools/list')!;
    assert.equal(op.tokens?.sampledRequests, 1);
    assert.ok((op.tokens?.out ?? 0) > 50, `tools/list costs tokens (${op.tokens?.out})`);
    assert.equal(m.snapshot().tokens?.exact, false);
    await pair.close();
  });

  it('measures request and reply sizes as UTF-8 JSON when bytes is on', async () => {
    const clock = fakeClock();
    const m = metrics({ clock: clock.read, bytes: true });
    const h = harness([m]);
    await callThrough(h, clock, 1, 'echo', 1, { content: [{ type: 'text', text: 'é' }] });
    const op = m.snapshot().operations[0]!;
    assert.deepEqual(op.bytes, {
      requests: 1,
      in: Buffer.byteLength(JSON.stringify({ name: 'echo', arguments: {} })),
      out: Buffer.byteLength(JSON.stringify({ content: [{ type: 'text', text: 'é' }] })),
    });
    assert.equal(metrics().snapshot().operations.length, 0);
  });
});

describe('metrics with the concurrency limiter', () => {
  for (const shedAs of ['error', 'tool-result'] as const) {
    it(`counts requests it sheds (as ${shedAs}) and reads its figures as a source`, async () => {
      const gate = deferred();
      const limiter = concurrencyLimit({ limit: 1, maxQueue: 0, shedAs });
      const m = metrics({ sources: [limiter] });
      const pair = await connectPair({ server: [m, limiter], counting: { gate: () => gate.promise } });
      await pair.client.listTools();
      const held = pair.client.callTool({ name: 'gate', arguments: {} });
      await tick();
      const shed = pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      if (shedAs === 'error') await assert.rejects(shed);
      else assert.equal((await shed).isError, true);
      const running = m.snapshot().sources.concurrencyLimit ?? {};
      assert.equal(running['scopes.global.running'], 1);
      gate.resolve();
      await held;
      const s = m.snapshot();
      const echo = s.operations.find((o) => o.tool === 'echo')!;
      assert.equal(echo.outcomes.shed, 1);
      assert.deepEqual(echo.errorTypes, { '-31503': 1 });
      assert.equal(s.sources.concurrencyLimit?.['scopes.global.shed'], 1);
      assert.equal(s.sources.concurrencyLimit?.['scopes.global.running'], 0);
      await pair.close();
    });
  }
});

describe('metrics snapshot and report', () => {
  it('is plain JSON and the report has one row per operation', async () => {
    const m = metrics();
    const pair = await connectPair({ server: [m] });
    await pair.client.listTools();
    await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
    const s = m.snapshot();
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    const report = m.report();
    const lines = report.trimEnd().split('\n');
    assert.match(lines[0]!, /^requests 3 \(ok 3,/);
    assert.match(lines[1]!, /^side\s+method\s+tool\s+requests/);
    assert.ok(lines.some((l) => /^server\s+tools\/call\s+echo\s+1\s+0\s/.test(l)));
    assert.equal(lines.length, 2 + s.operations.length);
    await pair.close();
  });
});
