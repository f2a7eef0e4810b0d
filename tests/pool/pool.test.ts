import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createUpstreamPool,
  PoolErrorCodes,
  type PoolEvent,
  type UpstreamPool,
} from '../../src/pool/index.js';
import { clientOf, type Replica, replica, tally, textOf, whoami } from './replicas.js';

const pools: UpstreamPool[] = [];
after(() => Promise.all(pools.map((p) => p.close())));

function three(): [Replica, Replica, Replica] {
  return [replica('a'), replica('b'), replica('c')];
}

function poolOf(
  replicas: readonly Replica[],
  options: Omit<Parameters<typeof createUpstreamPool>[0], 'upstreams'> = {},
) {
  const pool = createUpstreamPool({
    upstreams: replicas.map((r) => r.spec),
    health: { intervalMs: 0, ...options.health },
    ...options,
  });
  pools.push(pool);
  return pool;
}

describe('upstream pool: strategies', () => {
  it('round robin spreads a spread session evenly', async () => {
    const replicas = three();
    const client = await clientOf(poolOf(replicas, { strategy: 'round-robin', sessions: 'spread' }));
    assert.deepEqual(tally(await whoami(client, 30)), { a: 10, b: 10, c: 10 });
    // Each replica saw the handshake once: the pool replayed it on the two it opened later.
    assert.deepEqual(
      replicas.map((r) => r.initializes),
      [1, 1, 1],
    );
    await client.close();
  });

  it('least in flight keeps requests off a replica that holds them', async () => {
    const replicas = three();
    replicas[0].delayMs = 300;
    const client = await clientOf(poolOf(replicas, { sessions: 'spread' }));
    const names = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        await sleep(i);
        return textOf(await client.callTool({ name: 'read', arguments: {} }));
      }),
    );
    const counts = tally(names);
    assert.ok((counts.a ?? 0) <= 4, `the slow replica took ${counts.a} of 30`);
    assert.ok((counts.b ?? 0) >= 8 && (counts.c ?? 0) >= 8, JSON.stringify(counts));
    await client.close();
  });

  it('consistent hashing on a tool argument keeps a key on one replica and spreads keys', async () => {
    const replicas = three();
    const pool = poolOf(replicas, {
      strategy: 'consistent-hash',
      hashKey: { argument: 'key' },
      sessions: 'spread',
    });
    const client = await clientOf(pool);
    const homes = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 30; k++) {
        const name = textOf(await client.callTool({ name: 'read', arguments: { key: `user-${k}` } }));
        if (round === 0) homes.set(`user-${k}`, name);
        else assert.equal(name, homes.get(`user-${k}`), `user-${k} moved`);
      }
    }
    const spread = tally([...homes.values()]);
    assert.equal(Object.keys(spread).length, 3, JSON.stringify(spread));
    await client.close();
  });

  it('legacy sessions stick to the replica that answered initialize', async () => {
    const replicas = three();
    const pool = poolOf(replicas, { strategy: 'round-robin' });
    const clients = await Promise.all([0, 1, 2].map((i) => clientOf(pool, `s${i}`)));
    const homes: string[] = [];
    for (const client of clients) {
      const names = await whoami(client, 6);
      assert.equal(new Set(names).size, 1, `one session went to ${names.join(', ')}`);
      homes.push(names[0]!);
    }
    assert.equal(new Set(homes).size, 3, 'round robin placed the three sessions on three replicas');
    assert.deepEqual(
      replicas.map((r) => r.initializes),
      [1, 1, 1],
    );
    await Promise.all(clients.map((c) => c.close()));
  });
});

describe('upstream pool: health', () => {
  it('ejects a replica after failures in a row and re-admits it after the cool-off', async () => {
    const replicas = three();
    const events: PoolEvent[] = [];
    const pool = poolOf(replicas, {
      strategy: 'round-robin',
      sessions: 'spread',
      breaker: false,
      health: { ejectAfterFailures: 2, cooloffMs: 150 },
      onEvent: (e) => events.push(e),
    });
    const client = await clientOf(pool);
    await whoami(client, 3);
    replicas[1].refuse = true;
    // Every call still succeeds: a refused send never reached b, so it is retried elsewhere.
    const during = await whoami(client, 12);
    assert.ok(!during.includes('b'));
    assert.deepEqual(
      events.filter((e) => e.type === 'eject').map((e) => [e.type, (e as { upstream: string }).upstream]),
      [['eject', 'b']],
    );
    assert.equal(pool.stats().upstreams[1]!.state, 'ejected');
    const triedWhileOut = replicas[1].calls.whoami ?? 0;
    replicas[1].refuse = false;
    await sleep(200);
    assert.ok(events.some((e) => e.type === 'readmit' && e.upstream === 'b'));
    assert.equal(pool.stats().upstreams[1]!.state, 'up');
    const back = await whoami(client, 6);
    assert.ok(back.includes('b'), 'b takes traffic again');
    assert.ok((replicas[1].calls.whoami ?? 0) > triedWhileOut);
    await client.close();
  });

  it('ejects a replica whose latency is far above the pool median', async () => {
    const replicas = three();
    replicas[2].delayMs = 25;
    const events: PoolEvent[] = [];
    const pool = poolOf(replicas, {
      strategy: 'round-robin',
      sessions: 'spread',
      health: { minSamples: 4, outlierIntervalMs: 20, latencyFactor: 5, cooloffMs: 60_000 },
      onEvent: (e) => events.push(e),
    });
    const client = await clientOf(pool);
    for (let i = 0; i < 15; i++) await client.callTool({ name: 'read', arguments: {} });
    await sleep(50);
    assert.deepEqual(
      events.filter((e) => e.type === 'eject'),
      [{ type: 'eject', upstream: 'c', reason: 'latency', untilMs: 60_000 }],
    );
    const names = await Promise.all(
      Array.from({ length: 9 }, () => client.callTool({ name: 'read', arguments: {} }).then(textOf)),
    );
    assert.ok(!names.includes('c'));
    await client.close();
  });

  it('active checks take a replica that stops answering pings out, and back in', async () => {
    const replicas = three();
    const events: PoolEvent[] = [];
    const pool = poolOf(replicas, {
      strategy: 'round-robin',
      sessions: 'spread',
      health: { intervalMs: 30, timeoutMs: 100, unhealthyAfter: 1 },
      onEvent: (e) => events.push(e),
    });
    const client = await clientOf(pool);
    replicas[0].refuse = true;
    await sleep(100);
    assert.equal(pool.stats().upstreams[0]!.state, 'down');
    assert.ok(!(await whoami(client, 6)).includes('a'));
    replicas[0].refuse = false;
    await sleep(150);
    assert.equal(pool.stats().upstreams[0]!.state, 'up');
    assert.deepEqual(
      events.filter((e) => e.type === 'health').map((e) => (e as { healthy: boolean }).healthy),
      [false, true],
    );
    await client.close();
  });
});

describe('upstream pool: failover and retries', () => {
  it('loses no call and runs no unsafe call twice when a replica drops mid-call', async () => {
    const replicas = three();
    const pool = poolOf(replicas, { strategy: 'round-robin', sessions: 'spread', breaker: false });
    const client = await clientOf(pool);
    replicas[1].dropAfterWrite = true;
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        client.callTool({ name: 'write', arguments: { id: `w${i}` } }).then(
          () => 'ok' as const,
          (error: { code?: number }) => error.code,
        ),
      ),
    );
    const executed = replicas.flatMap((r) => r.writes);
    assert.equal(new Set(executed).size, executed.length, 'no write ran twice');
    const failed = outcomes.filter((o) => o !== 'ok');
    assert.ok(failed.length > 0, 'the dropped writes were reported');
    assert.ok(failed.every((code) => code === PoolErrorCodes.Unavailable));
    // Every call was answered, and each write ran exactly once: the failed ones ran on b.
    assert.equal(executed.length, 30);
    assert.equal(outcomes.filter((o) => o === 'ok').length + replicas[1].writes.length, 30);
    await client.close();
  });

  it('retries a refused unsafe call elsewhere (it never reached the replica)', async () => {
    const replicas = three();
    const pool = poolOf(replicas, { strategy: 'round-robin', sessions: 'spread', breaker: false });
    const client = await clientOf(pool);
    await whoami(client, 3);
    replicas[0].refuse = true;
    for (let i = 0; i < 6; i++) await client.callTool({ name: 'write', arguments: { id: `r${i}` } });
    assert.deepEqual(replicas[0].writes, []);
    assert.equal(replicas[1].writes.length + replicas[2].writes.length, 6);
    assert.ok(pool.stats().retries >= 1);
    await client.close();
  });

  it('the retry budget holds under a full outage', async () => {
    const replicas = three();
    for (const r of replicas) r.refuse = false;
    const pool = poolOf(replicas, {
      sessions: 'spread',
      breaker: false,
      retry: { budget: 0.1, minPerSecond: 0, attempts: 3 },
      health: { ejectAfterFailures: 1_000_000 },
    });
    const client = await clientOf(pool);
    await whoami(client, 6);
    for (const r of replicas) r.refuse = true;
    let attemptsBefore = 0;
    for (const u of pool.stats().upstreams) attemptsBefore += u.requests;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => client.callTool({ name: 'whoami', arguments: {} })),
    );
    assert.ok(results.every((r) => r.status === 'rejected'));
    let attempts = 0;
    for (const u of pool.stats().upstreams) attempts += u.requests;
    attempts -= attemptsBefore;
    // 206 requests in the window (6 warm-up + 200) allow 20 retries.
    assert.ok(attempts >= 200 && attempts <= 200 + 21, `${attempts} attempts for 200 calls`);
    await client.close();
  });
});

describe('upstream pool: timeouts, breaker, hedging', () => {
  it('times out a tool call by its own timeout, cancels it upstream and does not retry it', async () => {
    const replicas: [Replica, Replica] = [replica('a'), replica('b')];
    replicas[0].delayMs = 1000;
    replicas[1].delayMs = 1000;
    const pool = poolOf(replicas, { sessions: 'spread', timeouts: { tools: { write: 40 } } });
    const client = await clientOf(pool);
    const started = Date.now();
    await assert.rejects(
      client.callTool({ name: 'write', arguments: { id: 'x' } }),
      (error: { code?: number }) => {
        assert.equal(error.code, PoolErrorCodes.Timeout);
        return true;
      },
    );
    assert.ok(Date.now() - started < 500);
    await sleep(20);
    assert.equal(replicas[0].cancelled + replicas[1].cancelled, 1);
    assert.equal((replicas[0].calls.write ?? 0) + (replicas[1].calls.write ?? 0), 1);
    await client.close();
  });

  it('opens the breaker of a failing replica, samples it half-open and closes it again', async () => {
    const replicas = three();
    const events: string[] = [];
    const pool = poolOf(replicas, {
      strategy: 'round-robin',
      sessions: 'spread',
      breaker: { failureRatio: 0.5, minRequests: 2, openMs: 80, halfOpenRequests: 1 },
      health: { ejectAfterFailures: 1_000_000 },
      onEvent: (e) => {
        if (e.type === 'breaker') events.push(`${e.upstream}:${e.from}->${e.to}`);
      },
    });
    const client = await clientOf(pool);
    await whoami(client, 3);
    replicas[0].refuse = true;
    await whoami(client, 6);
    assert.deepEqual(events, ['a:closed->open']);
    assert.equal(pool.stats().upstreams[0]!.breaker, 'open');
    await sleep(100);
    await whoami(client, 3); // a half-open trial fails: open again
    assert.deepEqual(events, ['a:closed->open', 'a:open->half-open', 'a:half-open->open']);
    replicas[0].refuse = false;
    await sleep(100);
    await whoami(client, 3);
    assert.deepEqual(events.slice(3), ['a:open->half-open', 'a:half-open->closed']);
    await client.close();
  });

  it('hedges a slow safe read after the p95 and cancels the loser', async () => {
    const replicas = three();
    const events: PoolEvent[] = [];
    const pool = poolOf(replicas, {
      strategy: 'round-robin',
      sessions: 'spread',
      hedge: { minSamples: 6, minDelayMs: 5 },
      onEvent: (e) => events.push(e),
    });
    const client = await clientOf(pool);
    await client.listTools(); // the pool learns from the annotations that read is read-only
    for (let i = 0; i < 9; i++) await client.callTool({ name: 'read', arguments: {} });
    replicas[0].delayMs = 2000;
    const started = Date.now();
    const names: string[] = [];
    for (let i = 0; i < 3; i++) names.push(textOf(await client.callTool({ name: 'read', arguments: {} })));
    assert.ok(Date.now() - started < 1000, 'the hedge answered, not the slow replica');
    assert.ok(!names.includes('a'));
    assert.equal(events.filter((e) => e.type === 'hedge').length, 1);
    await sleep(20);
    assert.equal(replicas[0].cancelled, 1, 'the slow copy was cancelled');
    // Unsafe calls are never hedged.
    replicas[0].delayMs = 60;
    for (let i = 0; i < 3; i++) await client.callTool({ name: 'write', arguments: { id: `h${i}` } });
    assert.equal(events.filter((e) => e.type === 'hedge').length, 1);
    await client.close();
  });
});
