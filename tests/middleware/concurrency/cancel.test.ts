/**
 * A cancelled request keeps its slot while its handler still runs: a client that sends
 * requests and cancels them at once cannot push the server past the limit, even when the
 * handler ignores its abort signal. The slot is freed when the handler's late answer
 * arrives, or after `cancelGraceMs` (the SDK's servers send no answer for a cancelled
 * request, so the grace is what bounds the wait with them).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pipeline } from '../../../src/entries/core.js';
import { InvalidOptionError } from '../../../src/errors/index.js';
import type { JsonRpcMessage, JsonRpcRequest } from '../../../src/index.js';
import {
  CONCURRENCY_DEFAULTS,
  concurrencyLimit,
  type GraceExpiredEvent,
} from '../../../src/middleware/concurrency/index.js';
import { connectPair, deferred } from '../../helpers/servers.js';
import { connectPairV2 } from '../../helpers/servers-v2.js';
import { flush } from './harness.js';

/** A gate for the counting server's `gate` tool (which ignores its abort signal): counts holders. */
function gates() {
  const waiting: (() => void)[] = [];
  const state = {
    running: 0,
    maxRunning: 0,
    gate: () => {
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      const d = deferred();
      waiting.push(d.resolve);
      return d.promise.finally(() => state.running--);
    },
    openAll() {
      for (const open of waiting.splice(0)) open();
    },
  };
  return state;
}

/** `callTool` with an abort signal: SDK v1 takes it third (after a result schema), SDK v2 second. */
function call(
  sdk: 'v1' | 'v2',
  client: unknown,
  params: { name: string; arguments: Record<string, unknown> },
  signal: AbortSignal,
): Promise<unknown> {
  const callTool = (client as { callTool(...args: unknown[]): Promise<unknown> }).callTool.bind(client);
  return sdk === 'v1' ? callTool(params, undefined, { signal }) : callTool(params, { signal });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await flush();
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('concurrencyLimit under a cancel-spamming client', () => {
  for (const sdk of ['v1', 'v2'] as const) {
    it(`never runs more than limit handlers at once; the grace frees the slots afterwards (SDK ${sdk})`, async (t) => {
      const g = gates();
      const expired: GraceExpiredEvent[] = [];
      const limiter = concurrencyLimit({
        limit: 2,
        maxQueue: 100,
        maxQueueWaitMs: Number.POSITIVE_INFINITY,
        onGraceExpired: (e) => expired.push(e),
      });
      const connect = sdk === 'v1' ? connectPair : connectPairV2;
      const pair = await connect({ server: [limiter], counting: { gate: g.gate } });
      // Fake timers from here on: the SDK v2 handshake paces itself with real ones.
      t.mock.timers.enable({ apis: ['setTimeout'] });
      try {
        const controllers = Array.from({ length: 12 }, () => new AbortController());
        const calls = controllers.map((controller, i) =>
          call(sdk, pair.client, { name: 'gate', arguments: { label: String(i) } }, controller.signal).then(
            () => 'answered',
            () => 'cancelled',
          ),
        );
        await until(() => g.running === 2, 'two handlers running');
        // Cancel each request as soon as it is sent, oldest first, letting the server act in between.
        for (const controller of controllers) {
          controller.abort();
          await flush();
          await flush();
        }
        const global = () => limiter.stats().scopes.global!;
        await until(() => global().queued === 0, 'every queued request to be cancelled');
        assert.equal(g.maxRunning, 2, 'never more than the limit in the handler');
        assert.equal(global().running, 2, 'the two cancelled handlers still hold their slots');
        assert.equal(global().lingering, 2);

        // The handlers finish; the SDK server drops their answers, so only the grace frees the slots.
        g.openAll();
        await until(() => g.running === 0, 'the handlers to finish');
        assert.equal(global().running, 2);
        t.mock.timers.tick(CONCURRENCY_DEFAULTS.cancelGraceMs);
        assert.equal(global().running, 0);
        assert.equal(global().lingering, 0);
        assert.equal(global().graceExpired, 2);
        assert.equal(expired.length, 2);
        assert.equal(expired[0]!.scope, 'global');
        assert.equal(expired[0]!.graceMs, CONCURRENCY_DEFAULTS.cancelGraceMs);
        assert.equal(g.maxRunning, 2);
        assert.deepEqual(await Promise.all(calls), Array(12).fill('cancelled'));
        // The slots are usable again.
        const next = pair.client.callTool({ name: 'gate', arguments: { label: 'after' } });
        await until(() => g.running === 1, 'a new call to run');
        g.openAll();
        await next;
      } finally {
        g.openAll();
        await pair.close();
      }
    });
  }

  it('cancelGraceMs: 0 frees the slot on cancel, as before', async () => {
    const g = gates();
    const limiter = concurrencyLimit({ limit: 1, maxQueue: 10, cancelGraceMs: 0 });
    const pair = await connectPair({ server: [limiter], counting: { gate: g.gate } });
    try {
      const controller = new AbortController();
      const first = pair.client
        .callTool({ name: 'gate', arguments: {} }, undefined, { signal: controller.signal })
        .catch(() => 'cancelled');
      await until(() => g.running === 1, 'the first handler');
      controller.abort();
      await first;
      const second = pair.client.callTool({ name: 'gate', arguments: {} });
      await until(() => g.running === 2, 'a second handler beside the abandoned one');
      g.openAll();
      await second;
    } finally {
      g.openAll();
      await pair.close();
    }
  });
});

describe('concurrencyLimit and a handler that answers after the cancel', () => {
  it('frees the slot when the late answer arrives, before the grace ends', async () => {
    const limiter = concurrencyLimit({ limit: 1, maxQueue: 10, cancelGraceMs: 60_000 });
    const handled: JsonRpcRequest[] = [];
    const answered: unknown[] = [];
    const pipeline = new Pipeline(
      'server',
      {
        toCaller: (message: JsonRpcMessage) => {
          if ('id' in message && !('method' in message)) answered.push(message.id);
        },
        toHandler: (message: JsonRpcMessage) => {
          if ('method' in message && 'id' in message) handled.push(message);
        },
        sessionId: () => undefined,
        reportError: () => {},
      },
      [limiter],
    );
    pipeline.fromCaller({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
    await flush();
    assert.equal(handled.length, 1);
    pipeline.fromCaller({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } });
    pipeline.fromCaller({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x' } });
    await flush();
    assert.equal(handled.length, 1, 'the second request waits: the first handler still runs');
    assert.equal(limiter.stats().scopes.global!.lingering, 1);
    pipeline.fromHandler({ jsonrpc: '2.0', id: 1, result: { content: [] } });
    await flush();
    assert.deepEqual(
      handled.map((m) => m.id),
      [1, 2],
      'the late answer freed the slot',
    );
    assert.deepEqual(answered, [], 'the late answer is not sent to the caller');
    assert.equal(limiter.stats().scopes.global!.graceExpired, 0);
    pipeline.fromHandler({ jsonrpc: '2.0', id: 2, result: { content: [] } });
    await flush();
    assert.deepEqual(answered, [2]);
    pipeline.close();
  });

  it('the pipeline remembers a bounded number of cancelled requests; the grace frees the rest', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const limiter = concurrencyLimit({ limit: 5_000, cancelGraceMs: 1_000 });
    const pipeline = new Pipeline(
      'server',
      { toCaller: () => {}, toHandler: () => {}, sessionId: () => undefined, reportError: () => {} },
      [limiter],
    );
    const n = 1_500;
    for (let id = 1; id <= n; id++) {
      pipeline.fromCaller({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x' } });
    }
    await flush();
    for (let id = 1; id <= n; id++) {
      pipeline.fromCaller({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } });
    }
    await flush();
    const global = () => limiter.stats().scopes.global!;
    assert.equal(global().lingering, n);
    const remembered = (pipeline as unknown as { lingering: Map<unknown, unknown> }).lingering.size;
    assert.ok(remembered <= 1_024, `${remembered} remembered`);
    // Late answers free what the pipeline still remembers; the grace frees the rest.
    for (let id = 1; id <= n; id++) pipeline.fromHandler({ jsonrpc: '2.0', id, result: {} });
    await flush();
    assert.equal(global().lingering, n - remembered);
    t.mock.timers.tick(1_000);
    assert.equal(global().lingering, 0);
    assert.equal(global().running, 0);
    assert.equal(global().graceExpired, n - remembered);
    pipeline.close();
  });

  it('validates cancelGraceMs', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      assert.throws(
        () => concurrencyLimit({ cancelGraceMs: bad as number }),
        (e: unknown) => e instanceof InvalidOptionError && /cancelGraceMs/.test(e.message),
      );
    }
  });
});
