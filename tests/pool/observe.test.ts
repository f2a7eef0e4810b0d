/**
 * The pool observed (stats and Prometheus series) and reconfigured while it runs, over
 * in-memory replicas.
 */
import assert from 'node:assert/strict';
import { after, describe, it, mock } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { observePool } from '../../src/entries/otel.js';
import { poolPrometheusExporter } from '../../src/entries/prometheus.js';
import { isInvalidOptionError } from '../../src/index.js';
import { createUpstreamPool, type UpstreamPool } from '../../src/pool/index.js';
import { clientOf, replica, tally, textOf, whoami } from './replicas.js';

const pools: UpstreamPool[] = [];
after(() => Promise.all(pools.map((p) => p.close())));

function poolOf(options: Parameters<typeof createUpstreamPool>[0]): UpstreamPool {
  const pool = createUpstreamPool({ ...options, health: { intervalMs: 0, ...options.health } });
  pools.push(pool);
  return pool;
}

async function scrape(pool: UpstreamPool): Promise<string> {
  const registry = new Registry();
  poolPrometheusExporter(pool, { registry });
  return registry.metrics();
}

/** The value of one sample in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('upstream pool: stats and Prometheus series', () => {
  it('shows breaker transitions (on a fake clock) in stats() and in the Prometheus text', async () => {
    let clock = 1_000_000;
    mock.method(performance, 'now', () => clock);
    try {
      const [a, b] = [replica('a'), replica('b')];
      const pool = poolOf({
        upstreams: [a.spec, b.spec],
        strategy: 'round-robin',
        sessions: 'spread',
        breaker: { failureRatio: 0.5, minRequests: 2, openMs: 5000, halfOpenRequests: 1 },
        health: { ejectAfterFailures: 1000 },
      });
      const client = await clientOf(pool);
      await whoami(client, 2);
      a.refuse = true;
      assert.deepEqual(tally(await whoami(client, 4)), { b: 4 });
      let stats = pool.stats();
      const [sa, sb] = stats.upstreams;
      assert.equal(sa!.breaker, 'open');
      assert.deepEqual(sa!.breakerTransitions, { closed: 0, open: 1, 'half-open': 0 });
      assert.equal(sa!.failures, 2);
      assert.equal(sa!.retries, 2, 'each refused attempt was retried on b');
      assert.equal(sb!.breaker, 'closed');
      assert.equal(stats.retries, 2);
      assert.equal(stats.budget.retries, 2);
      assert.ok(stats.budget.allowed >= 100, 'minPerSecond 10 over a 10 s window');
      let text = await scrape(pool);
      assert.match(text, /^# HELP mcp_perf_pool_breaker_state .+$/m);
      assert.match(text, /^# TYPE mcp_perf_pool_breaker_state gauge$/m);
      assert.match(text, /^# TYPE mcp_perf_pool_breaker_transitions_total counter$/m);
      assert.equal(sample(text, 'mcp_perf_pool_breaker_state{upstream="a",state="open"}'), 1);
      assert.equal(sample(text, 'mcp_perf_pool_breaker_state{upstream="a",state="closed"}'), 0);
      assert.equal(sample(text, 'mcp_perf_pool_breaker_transitions_total{upstream="a",to="open"}'), 1);
      assert.equal(sample(text, 'mcp_perf_pool_failures_total{upstream="a"}'), 2);
      assert.equal(sample(text, 'mcp_perf_pool_retries_total{upstream="a"}'), 2);
      assert.equal(sample(text, 'mcp_perf_pool_requests_total{upstream="b"}'), 5);
      assert.equal(sample(text, 'mcp_perf_pool_upstream_state{upstream="a",state="up"}'), 1);
      assert.equal(sample(text, 'mcp_perf_pool_retry_budget_retries'), 2);

      // Past openMs on the clock: a trial succeeds and the breaker closes.
      a.refuse = false;
      clock += 5000;
      await whoami(client, 2);
      stats = pool.stats();
      assert.equal(stats.upstreams[0]!.breaker, 'closed');
      assert.deepEqual(stats.upstreams[0]!.breakerTransitions, { closed: 1, open: 1, 'half-open': 1 });
      text = await scrape(pool);
      assert.equal(sample(text, 'mcp_perf_pool_breaker_state{upstream="a",state="closed"}'), 1);
      assert.equal(sample(text, 'mcp_perf_pool_breaker_transitions_total{upstream="a",to="half-open"}'), 1);
      assert.equal(sample(text, 'mcp_perf_pool_breaker_transitions_total{upstream="a",to="closed"}'), 1);
      await client.close();
    } finally {
      mock.restoreAll();
    }
  });

  it('counts ejections by reason and refuses a registry that already has its names', async () => {
    const [a, b] = [replica('a'), replica('b')];
    const pool = poolOf({
      upstreams: [a.spec, b.spec],
      strategy: 'round-robin',
      sessions: 'spread',
      breaker: false,
      health: { ejectAfterFailures: 1, cooloffMs: 60_000 },
    });
    const client = await clientOf(pool);
    a.refuse = true;
    await whoami(client, 4);
    const [sa] = pool.stats().upstreams;
    assert.equal(sa!.state, 'ejected');
    assert.deepEqual(sa!.ejections, { failures: 1, latency: 0 });
    const text = await scrape(pool);
    assert.equal(sample(text, 'mcp_perf_pool_upstream_state{upstream="a",state="ejected"}'), 1);
    assert.equal(sample(text, 'mcp_perf_pool_ejections_total{upstream="a",reason="failures"}'), 1);
    const registry = new Registry();
    poolPrometheusExporter(pool, { registry, prefix: 'x_' });
    assert.throws(() => poolPrometheusExporter(pool, { registry, prefix: 'x_' }), isInvalidOptionError);
    assert.throws(() => poolPrometheusExporter({} as UpstreamPool, { registry }), isInvalidOptionError);
    await client.close();
  });
});

describe('upstream pool: reconfigure', () => {
  it('lets a request on a removed upstream finish there, then closes its connection; new ones join', async () => {
    const [a, b, c] = [replica('a'), replica('b'), replica('c')];
    const pool = poolOf({ upstreams: [a.spec, b.spec], strategy: 'round-robin', sessions: 'spread' });
    const client = await clientOf(pool);
    await whoami(client, 2);
    a.delayMs = 150;
    // Round robin: one read on each; the one on a is slow.
    const reads = [0, 1].map(() => client.callTool({ name: 'read', arguments: {} }));
    await sleep(30);
    assert.equal(pool.stats().upstreams[0]!.inFlight, 1);
    const changes = pool.reconfigure({
      upstreams: [b.spec, c.spec],
      strategy: 'round-robin',
      sessions: 'spread',
    });
    assert.deepEqual(changes, { added: ['c'], removed: ['a'], replaced: [], kept: ['b'] });
    assert.deepEqual(pool.stats().draining, [{ name: 'a', inFlight: 1 }]);
    const text = await scrape(pool);
    assert.equal(sample(text, 'mcp_perf_pool_draining_requests_in_flight{upstream="a"}'), 1);
    assert.equal(sample(text, 'mcp_perf_pool_reconfigurations_total'), 1);
    assert.equal(a.closed, 0, 'the connection stays open while a request runs on it');
    // New requests avoid a; the one running finishes there.
    assert.deepEqual(tally(await whoami(client, 4)), { b: 2, c: 2 });
    assert.deepEqual((await Promise.all(reads)).map(textOf).sort(), ['a', 'b']);
    assert.deepEqual(pool.stats().draining, []);
    assert.equal(a.closed, 1, 'then its connection closes');
    assert.deepEqual(
      pool.stats().upstreams.map((u) => u.name),
      ['b', 'c'],
    );
    await client.close();
  });

  it('replaces an upstream whose connection changed, keeping its counters, and applies new timeouts', async () => {
    const [a, b] = [replica('a'), replica('b')];
    const pool = poolOf({ upstreams: [a.spec, b.spec], strategy: 'round-robin', sessions: 'spread' });
    const client = await clientOf(pool);
    await whoami(client, 2);
    const requests = pool.stats().upstreams[0]!.requests;
    const a2 = replica('a');
    b.delayMs = 200;
    const changes = pool.reconfigure({
      upstreams: [a2.spec, b.spec],
      strategy: 'round-robin',
      sessions: 'spread',
      timeouts: { tools: { read: 50 } },
      retry: { attempts: 1 },
    });
    assert.deepEqual(changes, { added: [], removed: [], replaced: ['a'], kept: ['b'] });
    assert.equal(a.closed, 1, 'nothing ran on the old a: closed at once');
    assert.equal(pool.stats().upstreams[0]!.requests, requests, 'the name keeps its counters');
    const calledBefore = a.calls.whoami;
    assert.deepEqual((await whoami(client, 2)).sort(), ['a', 'b']);
    assert.equal(a2.calls.whoami, 1, 'a is the new upstream now');
    assert.equal(a.calls.whoami, calledBefore);
    const results = await Promise.allSettled(
      [0, 1].map(() => client.callTool({ name: 'read', arguments: {} })),
    );
    assert.ok(
      results.some((r) => r.status === 'rejected' && /within 50 ms/.test(String(r.reason))),
      'the new per-tool timeout applies',
    );
    await client.close();
  });

  it('applies a new strategy to a running session, and keeps an open breaker open under new settings', async () => {
    const [a, b, c] = [replica('a'), replica('b'), replica('c')];
    const upstreams = [a.spec, b.spec, c.spec];
    const breaker = { failureRatio: 0.5, minRequests: 1, openMs: 60_000 };
    const pool = poolOf({ upstreams, strategy: 'round-robin', sessions: 'spread', breaker });
    const client = await clientOf(pool);
    const reads = async (n: number) => {
      const names: string[] = [];
      for (let i = 0; i < n; i++)
        names.push(textOf(await client.callTool({ name: 'read', arguments: { key: 'same' } })));
      return names;
    };
    assert.equal(new Set(await reads(6)).size, 3, 'round robin: every upstream');
    c.refuse = true;
    for (let i = 0; i < 12 && pool.stats().upstreams[2]!.breaker !== 'open'; i++) await whoami(client, 1);
    assert.equal(pool.stats().upstreams[2]!.breaker, 'open');
    c.refuse = false;
    pool.reconfigure({
      upstreams,
      strategy: 'consistent-hash',
      hashKey: { argument: 'key' },
      sessions: 'spread',
      breaker: { ...breaker, openMs: 30_000 },
    });
    const names = await reads(6);
    assert.equal(new Set(names).size, 1, `consistent hash: one upstream for one key (${names})`);
    assert.notEqual(names[0], 'c');
    assert.equal(pool.stats().upstreams[2]!.breaker, 'open', 'the breaker kept its state');
    pool.reconfigure({ upstreams, strategy: 'round-robin', sessions: 'spread', breaker: false });
    assert.equal(new Set(await reads(6)).size, 3, 'no breaker: c takes requests again');
    await client.close();
  });

  it('starts active health checks when a reconfiguration turns them on', async () => {
    const [a, b] = [replica('a'), replica('b')];
    const pool = poolOf({ upstreams: [a.spec, b.spec] });
    a.refuse = true;
    await sleep(60);
    assert.equal(pool.stats().upstreams[0]!.state, 'up', 'no checks yet');
    pool.reconfigure({ upstreams: [a.spec, b.spec], health: { intervalMs: 10, unhealthyAfter: 2 } });
    for (let i = 0; i < 50 && pool.stats().upstreams[0]!.state !== 'down'; i++) await sleep(10);
    assert.deepEqual(
      pool.stats().upstreams.map((u) => u.state),
      ['down', 'up'],
    );
    pool.reconfigure({ upstreams: [a.spec, b.spec], health: { intervalMs: 0 } });
  });

  it('keeps the pool unchanged when an option is invalid', async () => {
    const [a, b] = [replica('a'), replica('b')];
    const pool = poolOf({ upstreams: [a.spec, b.spec], strategy: 'round-robin', sessions: 'spread' });
    const bad = [
      { upstreams: [a.spec, { ...b.spec, name: 'a' }] },
      { upstreams: [a.spec], strategy: 'random' },
      { upstreams: [] },
      { upstreams: [a.spec], breaker: { failureRatio: 2 } },
    ];
    for (const options of bad) {
      assert.throws(
        () => pool.reconfigure(options as Parameters<UpstreamPool['reconfigure']>[0]),
        (e: unknown) =>
          isInvalidOptionError(e) && /UpstreamPool\.reconfigure: options\./.test((e as Error).message),
      );
    }
    assert.deepEqual(
      pool.stats().upstreams.map((u) => u.name),
      ['a', 'b'],
    );
    assert.equal(pool.stats().reconfigurations, 0);
    const client = await clientOf(pool);
    assert.deepEqual(tally(await whoami(client, 4)), { a: 2, b: 2 }, 'still round-robin over both');
    await client.close();
  });

  it('moves about 1/N of the consistent-hash keys when one upstream joins, all of them to it', async () => {
    const replicas = ['a', 'b', 'c'].map(replica);
    const options = {
      strategy: 'consistent-hash',
      hashKey: { argument: 'key' },
      sessions: 'spread',
    } as const;
    const pool = poolOf({ upstreams: replicas.map((r) => r.spec), ...options });
    const client = await clientOf(pool);
    const keys = Array.from({ length: 120 }, (_, i) => `key-${i}`);
    const homes = async () => {
      const out: string[] = [];
      for (const key of keys) out.push(textOf(await client.callTool({ name: 'read', arguments: { key } })));
      return out;
    };
    const before = await homes();
    const d = replica('d');
    pool.reconfigure({ upstreams: [...replicas, d].map((r) => r.spec), ...options });
    const afterJoin = await homes();
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === afterJoin[i]) continue;
      moved++;
      assert.equal(afterJoin[i], 'd', `${keys[i]} moved from ${before[i]} to ${afterJoin[i]}`);
    }
    assert.ok(moved >= 15 && moved <= 45, `${moved} of 120 keys moved`);
    await client.close();
  });
});

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

describe('upstream pool: OpenTelemetry instruments', () => {
  it('reports the pool through observable gauges and counters until closed', async () => {
    const [a, b] = [replica('a'), replica('b')];
    const pool = poolOf({
      upstreams: [a.spec, b.spec],
      strategy: 'round-robin',
      sessions: 'spread',
      breaker: { minRequests: 1, failureRatio: 0.5 },
    });
    const reader = new TestReader();
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test');
    let collected = 0;
    const observation = observePool(
      {
        stats: () => {
          collected++;
          return pool.stats();
        },
      },
      { meter },
    );
    const client = await clientOf(pool);
    a.refuse = true;
    await whoami(client, 3);
    const points = async () => {
      const { resourceMetrics } = await reader.collect();
      const out: Record<string, number> = {};
      for (const m of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
        for (const p of m.dataPoints) {
          const attrs = Object.entries(p.attributes)
            .map(([k, v]) => `${k}=${v}`)
            .join(',');
          out[`${m.descriptor.name}{${attrs}}`] = p.value as number;
        }
      }
      return out;
    };
    const seen = await points();
    assert.equal(seen['mcp_perf.pool.breaker.state{upstream=a,state=open}'], 1);
    assert.equal(seen['mcp_perf.pool.breaker.transitions{upstream=a,to=open}'], 1);
    assert.equal(seen['mcp_perf.pool.failures{upstream=a}'], 1);
    assert.equal(seen['mcp_perf.pool.upstream.state{upstream=b,state=up}'], 1);
    assert.equal(seen['mcp_perf.pool.retry_budget.retries{}'], 1);
    assert.equal(collected, 1, 'one stats() per collection');
    observation.close();
    await points();
    assert.equal(collected, 1, 'not read after close()');
    assert.throws(() => observePool({} as UpstreamPool), isInvalidOptionError);
    await client.close();
  });
});
