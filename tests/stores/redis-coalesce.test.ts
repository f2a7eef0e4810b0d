/**
 * Coalescing across replicas in the Redis cache store: a miss claims the key's fill, other
 * replicas wait for its entry, and fall back to their own call when the leader stores
 * nothing, dies or takes too long. Then three replicas (cache middleware, one Redis) under
 * a burst of identical calls: one execution.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisStore, tieredStore } from '../../src/entries/redis.js';
import { cache } from '../../src/index.js';
import { makeEntry } from '../../src/testing/index.js';
import { createCountingServer, deferred, linkPair } from '../helpers/servers.js';
import { closeAfter, sharedRedis } from './redis-env.js';

const { admin, skip, nextPrefix } = await sharedRedis('cross-replica coalescing');

async function pair(coalesce: Parameters<typeof redisStore>[0]['coalesce'] = true) {
  const prefix = nextPrefix();
  const make = () => closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000, coalesce }));
  const a = make();
  const b = make();
  await Promise.all([a.ready, b.ready]);
  return { a, b, prefix };
}

describe('redisStore({ coalesce })', { skip }, () => {
  test("a replica missing a key another is filling waits and answers that replica's entry", async () => {
    const { a, b } = await pair();
    assert.equal(await a.get('k'), undefined, 'a claims the fill');
    const waiting = b.get('k');
    await sleep(20);
    assert.equal(b.stats().coalesce!.waiting, 1);
    await a.set('k', makeEntry({ v: 1 }, Date.now()));
    const started = Date.now();
    assert.deepEqual((await waiting)?.value, { v: 1 });
    assert.ok(Date.now() - started < 90, 'woken by the message, not by polling');
    assert.deepEqual({ a: a.stats().coalesce!.claimed, b: b.stats().coalesce!.coalesced }, { a: 1, b: 1 });
  });

  test('a leader that finishes between a late miss and its claim: the late replica answers its entry', async () => {
    const prefix = nextPrefix();
    const a = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000, coalesce: true }));
    let race: (() => Promise<void>) | undefined;
    // b's client runs the leader's fill to its end just before b's claim reaches Redis.
    const late = new Proxy(admin!, {
      get(target, property, receiver) {
        if (property !== 'sendCommand') return Reflect.get(target, property, receiver);
        return async (args: ReadonlyArray<string>, options?: Parameters<typeof target.sendCommand>[1]) => {
          if (args[0] === 'SET' && args.includes('NX') && race !== undefined) {
            const run = race;
            race = undefined;
            await run();
          }
          return target.sendCommand(args as string[], options);
        };
      },
    });
    const b = closeAfter(redisStore({ client: late, prefix, timeoutMs: 2_000, coalesce: true }));
    await Promise.all([a.ready, b.ready]);
    assert.equal(await a.get('k'), undefined, 'a claims the fill');
    race = () => a.set('k', makeEntry({ v: 1 }, Date.now()));
    assert.deepEqual(
      (await b.get('k'))?.value,
      { v: 1 },
      'b finds the entry instead of leading a second call',
    );
    assert.deepEqual(b.stats().coalesce, { claimed: 0, coalesced: 1, fellBack: 0, waiting: 0 });
    await sleep(20);
    assert.equal(await admin!.exists(`${prefix}f:k`), 0, "b's claim is released");
  });

  test('a fill ended without an entry releases the waiters at once, each to its own call', async () => {
    const { a, b } = await pair({ waitMs: 3_000 });
    assert.equal(await a.get('k'), undefined);
    const waiting = b.get('k');
    await sleep(20);
    const started = Date.now();
    a.abandonFill('k');
    assert.equal(await waiting, undefined);
    assert.ok(Date.now() - started < 500, `released after ${Date.now() - started} ms`);
    assert.equal(b.stats().coalesce!.fellBack, 1);
  });

  test('a leader that dies: its lock expires and the first waiter to claim it leads', async () => {
    const { a, b } = await pair({ lockMs: 100, waitMs: 3_000, pollMs: 20 });
    assert.equal(await a.get('k'), undefined);
    await a.close();
    const started = Date.now();
    assert.equal(await b.get('k'), undefined);
    const waited = Date.now() - started;
    assert.ok(waited >= 60 && waited < 1_000, `took over after ${waited} ms`);
    assert.equal(b.stats().coalesce!.claimed, 1);
  });

  test('a wait is bounded by waitMs', async () => {
    const { a, b } = await pair({ lockMs: 10_000, waitMs: 60, pollMs: 20 });
    assert.equal(await a.get('k'), undefined);
    const started = Date.now();
    assert.equal(await b.get('k'), undefined);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(b.stats().coalesce!.fellBack, 1);
  });

  test('off by default: a miss writes no lock and waits for nobody', async () => {
    const prefix = nextPrefix();
    const a = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const b = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    assert.equal(await a.get('k'), undefined);
    assert.equal(await b.get('k'), undefined);
    assert.equal(await admin!.exists(`${prefix}f:k`), 0);
    assert.equal(a.stats().coalesce, undefined);
  });
});

describe('three replicas with cross-replica coalescing', { skip }, () => {
  test('a burst of identical calls across the replicas runs the tool once', async () => {
    const prefix = nextPrefix();
    const gate = deferred();
    const replicas = await Promise.all(
      [0, 1, 2].map(async () => {
        const l2 = redisStore({ client: admin!, prefix, timeoutMs: 2_000, coalesce: { pollMs: 20 } });
        await l2.ready;
        const store = closeAfter(tieredStore({ l2 }));
        const { server, counts } = createCountingServer({ gate: () => gate.promise });
        const p = await linkPair(server, counts, {
          server: [cache({ store, tools: { include: ['gate'] } })],
        });
        return { counts, client: p.client, close: p.close };
      }),
    );
    try {
      const calls = Array.from({ length: 9 }, (_, i) =>
        replicas[i % 3]!.client.callTool({ name: 'gate', arguments: { label: 'same' } }),
      );
      await sleep(60);
      gate.resolve();
      const results = await Promise.all(calls);
      for (const r of results) assert.deepEqual(r.content, [{ type: 'text', text: 'opened same' }]);
      assert.equal(
        replicas.reduce((n, r) => n + (r.counts.gate ?? 0), 0),
        1,
        'one execution for the whole fleet',
      );
    } finally {
      for (const r of replicas) await r.close();
    }
  });
});
