import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonRpcMessage } from '../../../src/index.js';
import { cache } from '../../../src/middleware/cache/index.js';
import { deferred } from '../../helpers/servers.js';
import { fakeClock, gatedPair, manualGate, steerableStore, textOf, until } from './helpers.js';

const gateCall = (label = 'x') => ({ name: 'gate', arguments: { label } });

/** Records the ids of the responses a server sends to its peer. */
function recordResponses(transport: { send(message: JsonRpcMessage, options?: unknown): Promise<void> }) {
  const ids: unknown[] = [];
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    if ('id' in message && ('result' in message || 'error' in message)) ids.push(message.id);
    return send(message, options);
  };
  return ids;
}

describe('cache coalescing (single flight)', () => {
  it('N identical calls in flight run the tool once; each caller gets its own answer under its own id', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    const ids = recordResponses(pair.serverTransport);
    try {
      const first = pair.client.callTool(gateCall());
      await g.waitForArrival();
      const rest = Array.from({ length: 4 }, () => pair.client.callTool(gateCall()));
      await until(() => c.stats().coalesced === 4, 'four callers to join');
      g.open();
      const results = await Promise.all([first, ...rest]);
      assert.equal(pair.counts.gate, 1);
      for (const result of results) assert.equal(textOf(result), 'opened x');
      assert.equal(ids.length, 5);
      assert.equal(new Set(ids).size, 5, 'five distinct ids answered');
      const stats = c.stats();
      assert.deepEqual([stats.misses, stats.coalesced, stats.inflight], [1, 4, 0]);
    } finally {
      await pair.close();
    }
  });

  it('relays the handler progress to every caller under its own token', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gated_progress'] } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    try {
      const progress: number[][] = [[], [], []];
      const call = (i: number) =>
        pair.client.callTool({ name: 'gated_progress', arguments: { steps: 3 } }, undefined, {
          onprogress: (p) => progress[i]!.push(p.progress),
        });
      const first = call(0);
      await g.waitForArrival();
      const rest = [call(1), call(2)];
      await until(() => c.stats().coalesced === 2, 'two callers to join');
      g.open();
      await Promise.all([first, ...rest]);
      assert.equal(pair.counts.gated_progress, 1);
      assert.deepEqual(progress, [
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
      ]);
    } finally {
      await pair.close();
    }
  });

  it('cancelling some waiters leaves the others and the call in flight alone', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    const ids = recordResponses(pair.serverTransport);
    try {
      const first = pair.client.callTool(gateCall());
      await g.waitForArrival();
      const controllers = [new AbortController(), new AbortController(), new AbortController()];
      const waiters = controllers.map((ac) =>
        pair.client.callTool(gateCall(), undefined, { signal: ac.signal }),
      );
      await until(() => c.stats().coalesced === 3, 'three callers to join');
      controllers[0]!.abort();
      controllers[2]!.abort();
      await assert.rejects(waiters[0]!);
      await assert.rejects(waiters[2]!);
      g.open();
      const answers = await Promise.all([first, waiters[1]!]);
      for (const a of answers) assert.equal(textOf(a), 'opened x');
      assert.equal(pair.counts.gate, 1);
      assert.equal(pair.counts['gate:aborted'], undefined, 'the call itself was not cancelled');
      assert.equal(ids.length, 2, 'only the two callers still waiting were answered');
    } finally {
      await pair.close();
    }
  });

  it('cancelling every caller cancels the call in flight', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    try {
      const controllers = [new AbortController(), new AbortController(), new AbortController()];
      const first = pair.client.callTool(gateCall(), undefined, { signal: controllers[0]!.signal });
      await g.waitForArrival();
      const rest = controllers
        .slice(1)
        .map((ac) => pair.client.callTool(gateCall(), undefined, { signal: ac.signal }));
      await until(() => c.stats().coalesced === 2, 'two callers to join');
      for (const ac of controllers.reverse()) ac.abort();
      for (const p of [first, ...rest]) await assert.rejects(p);
      g.open();
      await until(() => pair.counts['gate:aborted'] === 1, 'the tool to see its signal aborted');
      assert.equal(pair.counts.gate, 1);
      assert.equal(c.stats().stored, 0);
    } finally {
      await pair.close();
    }
  });

  it('when the caller whose call is in flight cancels, a waiter calls again for the rest', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    try {
      const ac = new AbortController();
      const first = pair.client.callTool(gateCall(), undefined, { signal: ac.signal });
      await g.waitForArrival();
      const rest = [pair.client.callTool(gateCall()), pair.client.callTool(gateCall())];
      await until(() => c.stats().coalesced === 2, 'two callers to join');
      ac.abort();
      await assert.rejects(first);
      await until(() => g.arrivals === 2, 'a waiter to call again');
      g.open();
      for (const r of await Promise.all(rest)) assert.equal(textOf(r), 'opened x');
      assert.equal(pair.counts.gate, 2, 'the cancelled call and one new call');
      assert.equal(pair.counts['gate:aborted'], 1);
    } finally {
      await pair.close();
    }
  });

  it('with coalesce: false, identical calls in flight each run', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] }, coalesce: false });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    try {
      const calls = [pair.client.callTool(gateCall()), pair.client.callTool(gateCall())];
      await until(() => g.arrivals === 2, 'both calls to reach the tool');
      g.open();
      await Promise.all(calls);
      assert.equal(pair.counts.gate, 2);
      assert.equal(c.stats().coalesced, 0);
    } finally {
      await pair.close();
    }
  });
});

describe('cache generation guard', () => {
  const cases: { name: string; invalidate: (ctx: Awaited<ReturnType<typeof setup>>) => unknown }[] = [
    { name: 'an explicit invalidation of the tool', invalidate: ({ c }) => c.invalidate('tool:gate') },
    { name: 'an explicit glob invalidation', invalidate: ({ c }) => c.invalidate('tool:g*') },
    { name: 'clear()', invalidate: ({ c }) => c.clear() },
    {
      name: 'tools/list_changed from the server',
      invalidate: ({ pair }) => pair.server.sendToolListChanged(),
    },
    { name: 'a remote invalidation', invalidate: ({ steer }) => steer.store.remoteInvalidate('tool:gate') },
  ];

  async function setup() {
    const clock = fakeClock();
    const steer = steerableStore(clock.now);
    const g = manualGate();
    const c = cache({ store: steer.store, clock: clock.now, tools: { include: ['gate'] } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    return { clock, steer, g, c, pair };
  }

  for (const { name, invalidate } of cases) {
    it(`a result in flight during ${name} is not written back`, async () => {
      const ctx = await setup();
      const { g, c, pair } = ctx;
      try {
        const call = pair.client.callTool(gateCall());
        await g.waitForArrival();
        await invalidate(ctx);
        g.open();
        assert.equal(textOf(await call), 'opened x', 'the caller still gets its answer');
        assert.equal(c.stats().stored, 0);
        await pair.client.callTool(gateCall());
        assert.equal(pair.counts.gate, 2);
      } finally {
        await pair.close();
      }
    });
  }

  it('without an invalidation, the same sequence stores the result', async () => {
    const { g, c, pair } = await setup();
    try {
      const call = pair.client.callTool(gateCall());
      await g.waitForArrival();
      await c.invalidate('tool:echo');
      g.open();
      await call;
      await pair.client.callTool(gateCall());
      assert.equal(pair.counts.gate, 1);
    } finally {
      await pair.close();
    }
  });

  it('while an asynchronous store has not confirmed an invalidation, its entries are not served', async () => {
    const { steer, g, c, pair } = await setup();
    try {
      g.open();
      await pair.client.callTool(gateCall());
      const hold = deferred();
      steer.control.holdInvalidation = hold.promise;
      const removing = c.invalidate('tool:gate');
      await pair.client.callTool(gateCall());
      assert.equal(pair.counts.gate, 2, 'the entry being removed was not served');
      hold.resolve();
      assert.equal(await removing, 1);
    } finally {
      await pair.close();
    }
  });
});

describe('cache stale-while-revalidate', () => {
  it('serves a stale entry at once and refreshes it in the background exactly once', async () => {
    const clock = fakeClock();
    const g = manualGate();
    const c = cache({
      clock: clock.now,
      tools: { include: ['gate'], ttlMs: 1_000, staleMs: 10_000 },
      markHits: true,
    });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    try {
      g.open();
      await pair.client.callTool(gateCall());
      g.close();
      g.expectArrival();
      clock.advance(1_500);
      const served = await Promise.all([1, 2, 3].map(() => pair.client.callTool(gateCall())));
      for (const s of served) {
        assert.equal(textOf(s), 'opened x');
        assert.deepEqual(s._meta, { 'mcp-perf/cache': 'stale' });
      }
      await g.waitForArrival();
      assert.equal(pair.counts.gate, 2, 'one refresh for three stale serves');
      assert.deepEqual([c.stats().stale, c.stats().refreshes], [3, 1]);
      g.open();
      await until(() => c.stats().stored === 2, 'the refresh to be stored');
      const fresh = await pair.client.callTool(gateCall());
      assert.deepEqual(fresh._meta, { 'mcp-perf/cache': 'hit' });
      assert.equal(pair.counts.gate, 2);
    } finally {
      await pair.close();
    }
  });

  it('a request past the stale window waits for the refresh in flight instead of calling again', async () => {
    const clock = fakeClock();
    const g = manualGate();
    const c = cache({ clock: clock.now, tools: { include: ['gate'], ttlMs: 1_000, staleMs: 1_000 } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    try {
      g.open();
      await pair.client.callTool(gateCall());
      g.close();
      g.expectArrival();
      clock.advance(1_500);
      await pair.client.callTool(gateCall());
      await g.waitForArrival();
      clock.advance(1_000);
      const late = pair.client.callTool(gateCall());
      await until(() => c.stats().coalesced === 1, 'the late request to join the refresh');
      g.open();
      assert.equal(textOf(await late), 'opened x');
      assert.equal(pair.counts.gate, 2);
    } finally {
      await pair.close();
    }
  });

  it('past staleUntil an entry is a plain miss', async () => {
    const clock = fakeClock();
    const g = manualGate();
    g.open();
    const c = cache({ clock: clock.now, tools: { include: ['gate'], ttlMs: 1_000, staleMs: 1_000 } });
    const pair = await gatedPair({ server: [c], gate: g.gate });
    try {
      await pair.client.callTool(gateCall());
      clock.advance(2_000);
      await pair.client.callTool(gateCall());
      assert.equal(pair.counts.gate, 2);
      assert.deepEqual([c.stats().stale, c.stats().misses], [0, 2]);
    } finally {
      await pair.close();
    }
  });
});
