/**
 * Every map and queue of the cache stays bounded while a fill or a store never answers:
 * the generation guard, the pending invalidations, the waiters of one flight and the
 * background refreshes. Each test floods one of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REFRESHES_MAX, WAITERS_MAX } from '../../../src/middleware/cache/coalesce.js';
import { cache } from '../../../src/middleware/cache/index.js';
import { GUARD_MAX, PENDING_MAX } from '../../../src/middleware/cache/invalidation.js';
import { connectPair, deferred } from '../../helpers/servers.js';
import { fakeClock, manualGate, steerableStore, textOf, until } from './helpers.js';

/** The cache's internals a bound is checked on (read only). */
function internals(c: unknown) {
  const inner = c as {
    invalidator: { remembered: { guard: number; pending: number } };
    flights: { refreshing: number; size: number };
  };
  return { remembered: () => inner.invalidator.remembered, flights: inner.flights };
}

const gateCall = (label: string) => ({ name: 'gate', arguments: { label } });

describe('cache state stays bounded', () => {
  it('a stuck fill does not make invalidation guard records pile up; its result is still not written', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] } });
    const pair = await connectPair({ server: [c], counting: { gate: g.gate } });
    try {
      const stuck = pair.client.callTool(gateCall('a'));
      await g.waitForArrival();
      for (let i = 0; i < 5_000; i++) await c.invalidate(`tool:other-${i % 7}`);
      assert.ok(
        internals(c).remembered().guard <= GUARD_MAX,
        `${internals(c).remembered().guard} guard records`,
      );
      await c.invalidate('tool:gate');
      g.open();
      assert.equal(textOf(await stuck), 'opened a');
      assert.equal(internals(c).remembered().guard, 0, 'forgotten once no fill is in flight');
      await pair.client.callTool(gateCall('a'));
      assert.equal(pair.counts.gate, 2, 'the fill that an invalidation overtook was not stored');
    } finally {
      g.open();
      await pair.close();
    }
  });

  it('a store that never confirms invalidations keeps a bounded list, and serves nothing they cover', async () => {
    const clock = fakeClock();
    const steer = steerableStore(clock.now);
    const c = cache({ store: steer.store, tools: { include: ['echo'] }, now: clock.now });
    const pair = await connectPair({ server: [c] });
    try {
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      const hold = deferred();
      steer.control.holdInvalidation = hold.promise;
      clock.advance(1);
      const drops: Promise<number>[] = [];
      for (let i = 0; i < 5_000; i++) drops.push(c.invalidate(`tool:t${i}`));
      drops.push(c.invalidate('tool:echo'));
      assert.ok(
        internals(c).remembered().pending <= PENDING_MAX,
        `${internals(c).remembered().pending} pending`,
      );
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      assert.equal(pair.counts.echo, 2, 'an entry stored before the invalidations is not served');
      steer.control.holdInvalidation = undefined;
      hold.resolve();
      await Promise.all(drops);
      assert.equal(internals(c).remembered().pending, 0, 'every folded invalidation settled');
      clock.advance(1);
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      assert.equal(pair.counts.echo, 3, 'served again once confirmed');
    } finally {
      await pair.close();
    }
  });

  it('identical requests piling onto a stuck fill wait in bounded groups', async () => {
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] } });
    const pair = await connectPair({ server: [c], counting: { gate: g.gate } });
    try {
      const n = 2 * (WAITERS_MAX + 1) + 10;
      const calls = Array.from({ length: n }, () => pair.client.callTool(gateCall('same')));
      await until(() => pair.counts.gate === 3, 'three leaders');
      assert.equal(c.stats().coalesced, n - 3);
      g.open();
      for (const call of await Promise.all(calls)) assert.equal(textOf(call), 'opened same');
      assert.equal(pair.counts.gate, 3);
    } finally {
      g.open();
      await pair.close();
    }
  });

  it('stale entries on a server that stopped answering start a bounded number of refreshes', async () => {
    const clock = fakeClock();
    const g = manualGate();
    const c = cache({ tools: { include: ['gate'] }, ttlMs: 1_000, staleMs: 60_000, now: clock.now });
    const pair = await connectPair({ server: [c], counting: { gate: g.gate } });
    try {
      const keys = REFRESHES_MAX * 2;
      g.open();
      for (let i = 0; i < keys; i++) await pair.client.callTool(gateCall(String(i)));
      g.close();
      clock.advance(2_000);
      for (let i = 0; i < keys; i++) {
        assert.equal(textOf(await pair.client.callTool(gateCall(String(i)))), `opened ${i}`);
      }
      assert.equal(c.stats().stale, keys);
      assert.equal(internals(c).flights.refreshing, REFRESHES_MAX);
      assert.equal(c.stats().refreshes, REFRESHES_MAX);
      g.open();
      await until(() => internals(c).flights.refreshing === 0, 'the refreshes to end');
    } finally {
      g.open();
      await pair.close();
    }
  });
});
