import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInvalidOptionError } from '../../src/index.js';
import { CircuitBreaker } from '../../src/pool/breaker.js';
import { RetryBudget } from '../../src/pool/budget.js';
import { hashString, rendezvous } from '../../src/pool/hash.js';
import { createUpstreamPool, POOL_DEFAULTS } from '../../src/pool/index.js';
import { LatencyWindow } from '../../src/pool/latency.js';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

function homes(keys: readonly string[], names: readonly string[]): string[] {
  const seeds = names.map(hashString);
  return keys.map((k) => names[rendezvous(hashString(k), seeds, () => true)]!);
}

describe('rendezvous hashing', () => {
  const keys = Array.from({ length: 6000 }, (_, i) => `key-${i}`);

  it('spreads keys evenly', () => {
    const counts = new Map<string, number>();
    for (const h of homes(keys, ['a', 'b', 'c'])) counts.set(h, (counts.get(h) ?? 0) + 1);
    for (const n of counts.values()) assert.ok(n > 1700 && n < 2300, `${n} of 6000 on one of 3`);
  });

  it('moves about 1/N of the keys when a member joins, all of them to it', () => {
    const before = homes(keys, ['a', 'b', 'c']);
    const afterJoin = homes(keys, ['a', 'b', 'c', 'd']);
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === afterJoin[i]) continue;
      moved++;
      assert.equal(afterJoin[i], 'd', 'a key moved between old members');
    }
    assert.ok(moved > 0.2 * keys.length && moved < 0.3 * keys.length, `${moved} of ${keys.length} moved`);
  });

  it('moves only the keys of a member that leaves', () => {
    const before = homes(keys, ['a', 'b', 'c', 'd']);
    const seeds = ['a', 'b', 'c', 'd'].map(hashString);
    for (let i = 0; i < keys.length; i++) {
      const after = ['a', 'b', 'c', 'd'][rendezvous(hashString(keys[i]!), seeds, (j) => j !== 1)];
      if (before[i] !== 'b') assert.equal(after, before[i]);
      else assert.notEqual(after, 'b');
    }
  });
});

describe('circuit breaker (fake clock)', () => {
  const settings = { failureRatio: 0.5, minRequests: 4, windowMs: 10_000, openMs: 5000, halfOpenRequests: 2 };

  it('closed → open on the failure ratio, half-open after openMs, closed after the trials succeed', () => {
    const clock = fakeClock();
    const log: string[] = [];
    const b = new CircuitBreaker(settings, clock.now, (from, to) => log.push(`${from}->${to}`));
    b.record(true, false);
    b.record(false, false);
    b.record(true, false);
    assert.equal(b.state, 'closed', 'three requests are below minRequests');
    b.record(false, false);
    assert.deepEqual(log, ['closed->open']);
    assert.equal(b.allows(), false);
    clock.advance(4999);
    assert.equal(b.allows(), false);
    clock.advance(1);
    assert.equal(b.allows(), true);
    assert.equal(b.state, 'half-open');
    // A sample of two trials at a time; a third waits.
    const t1 = b.onSend();
    const t2 = b.onSend();
    assert.equal(b.allows(), false);
    b.record(true, t1);
    assert.equal(b.state, 'half-open');
    b.record(true, t2);
    assert.deepEqual(log, ['closed->open', 'open->half-open', 'half-open->closed']);
    assert.equal(b.allows(), true);
  });

  it('a failed trial opens it again; failures spread beyond the window do not open it', () => {
    const clock = fakeClock();
    const log: string[] = [];
    const b = new CircuitBreaker(settings, clock.now, (_from, to) => log.push(to));
    for (let i = 0; i < 4; i++) b.record(false, false);
    clock.advance(5000);
    assert.equal(b.allows(), true);
    b.record(false, b.onSend());
    assert.deepEqual(log, ['open', 'half-open', 'open']);
    clock.advance(5000);
    b.allows();
    b.record(true, b.onSend());
    b.record(true, b.onSend());
    assert.equal(b.state, 'closed');
    for (let i = 0; i < 3; i++) b.record(false, false);
    clock.advance(11_000);
    b.record(false, false);
    for (let i = 0; i < 3; i++) b.record(true, false);
    assert.equal(b.state, 'closed', 'the three old failures have left the window: 1 of 4 failed');
  });
});

describe('retry budget (fake clock)', () => {
  it('allows ratio × requests plus the floor over the window, and recovers as it slides', () => {
    const clock = fakeClock();
    const budget = new RetryBudget(0.2, 1, 10_000, clock.now);
    for (let i = 0; i < 100; i++) budget.request();
    let granted = 0;
    while (budget.tryRetry()) granted++;
    assert.equal(granted, 30, '20 from the ratio + 10 from the floor');
    clock.advance(11_000);
    let later = 0;
    while (budget.tryRetry()) later++;
    assert.equal(later, 10, 'only the floor once the requests have left the window');
  });
});

describe('latency window', () => {
  it('gives quantiles of its last samples and forgets on reset', () => {
    const w = new LatencyWindow(10);
    for (let i = 1; i <= 20; i++) w.add(i);
    assert.equal(w.quantile(0.5), 16);
    assert.equal(w.tail(0.95), 20);
    w.reset();
    assert.ok(Number.isNaN(w.quantile(0.5)));
  });
});

describe('createUpstreamPool options', () => {
  const ok = { upstreams: ['http://127.0.0.1:1/mcp'] };
  for (const [options, option] of [
    [{ upstreams: [] }, 'upstreams'],
    [{ upstreams: ['ftp://x/'] }, 'upstreams[0]'],
    [{ upstreams: [{ command: '' }] }, 'upstreams[0]'],
    [{ upstreams: ['http://a/mcp', { url: 'http://a/mcp' }] }, 'upstreams[1].name'],
    [{ ...ok, strategy: 'random' }, 'strategy'],
    [{ ...ok, hashKey: { argument: '' } }, 'hashKey'],
    [{ ...ok, sessions: 'pinned' }, 'sessions'],
    [{ ...ok, health: { intervalMs: -1 } }, 'health.intervalMs'],
    [{ ...ok, health: { latencyFactor: 1 } }, 'health.latencyFactor'],
    [{ ...ok, health: { everyMs: 1 } }, 'health.everyMs'],
    [{ ...ok, retry: { attempts: 0 } }, 'retry.attempts'],
    [{ ...ok, retry: { tools: { a: 'yes' } } }, 'retry.tools'],
    [{ ...ok, timeouts: { tools: { a: -5 } } }, 'timeouts.tools'],
    [{ ...ok, breaker: { failureRatio: 0 } }, 'breaker.failureRatio'],
    [{ ...ok, hedge: { percentile: 100 } }, 'hedge.percentile'],
  ] as const) {
    it(`names ${option}`, () => {
      assert.throws(
        () => createUpstreamPool(options as never),
        (e: unknown) => isInvalidOptionError(e) && e.option === option,
      );
    });
  }

  it('documents its defaults', () => {
    assert.equal(POOL_DEFAULTS.strategy, 'least-in-flight');
    assert.equal(POOL_DEFAULTS.retry.budget, 0.2);
    assert.equal(POOL_DEFAULTS.health.intervalMs, 5000);
  });
});
