import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';
import {
  ErrorCodes,
  isCancelledError,
  isInvalidOptionError,
  isOverloadedError,
  type OverloadedError,
} from '../../../src/index.js';
import { GradientLimit } from '../../../src/middleware/concurrency/adaptive.js';
import {
  CONCURRENCY_DEFAULTS,
  type ConcurrencyLimitOptions,
  concurrencyLimit,
  type LimitChangeEvent,
  type ShedEvent,
  toolKey,
} from '../../../src/middleware/concurrency/index.js';
import { KEYS_MAX } from '../../../src/middleware/concurrency/limiter.js';
import { drive, flush } from './harness.js';

function overloaded(outcome: { error?: unknown } | undefined): OverloadedError {
  assert.ok(outcome, 'the request has not settled');
  assert.ok(isOverloadedError(outcome.error), `expected OverloadedError, got ${String(outcome.error)}`);
  return outcome.error;
}

describe('concurrencyLimit: options', () => {
  it('documents its real defaults', async () => {
    assert.deepEqual(
      { ...CONCURRENCY_DEFAULTS, adaptive: { ...CONCURRENCY_DEFAULTS.adaptive } },
      {
        limit: 32,
        maxQueue: 32,
        maxQueueWaitMs: 5000,
        priority: 'interactive',
        shedAs: 'error',
        maxRetryAfterMs: 30_000,
        cancelGraceMs: 5000,
        scopeName: 'global',
        adaptive: {
          min: 1,
          max: 1000,
          tolerance: 1.5,
          smoothing: 0.2,
          longWindow: 600,
          queueSize: 4,
          windowMs: 1000,
          windowSamples: 10,
        },
      },
    );
    const limiter = concurrencyLimit();
    assert.equal(limiter.stats().scopes.global?.limit, 32);
    const d = drive(limiter);
    for (let i = 0; i < 64; i++) d.call(`c${i}`);
    const shed = d.call('shed');
    await flush();
    const error = overloaded(shed.settled);
    assert.equal(error.message, 'concurrency limit reached for global: 32/32 running, 32/32 queued');
    assert.equal(limiter.stats().scopes.global?.queued, 32);
  });

  it('rejects bad options at factory time, naming the option', () => {
    const bad: [ConcurrencyLimitOptions, string][] = [
      [{ limit: 0 }, 'limit'],
      [{ limit: 1.5 }, 'limit'],
      [{ maxQueue: -1 }, 'maxQueue'],
      [{ maxQueueWaitMs: 0 }, 'maxQueueWaitMs'],
      [{ shedAs: 'nope' as 'error' }, 'shedAs'],
      [{ priority: 'high' as never }, 'priority'],
      [{ scopes: [] }, 'scopes'],
      [{ scopes: [{ name: 'a' }], limit: 4 }, 'limit'],
      [{ scopes: [{ name: 'a' }, { name: 'a' }] }, 'scopes[1].name'],
      [{ scopes: [{ name: 'a', key: 'tool' as never }] }, 'scopes[0].key'],
      [{ scopes: [{ name: 'a', limit: 100, adaptive: { max: 50 } }] }, 'scopes[0].limit'],
      [{ adaptive: { min: 10, max: 5 } }, 'adaptive.max'],
      [{ adaptive: { smoothing: 2 } }, 'adaptive.smoothing'],
      [{ onShed: 42 as never }, 'onShed'],
    ];
    for (const [options, option] of bad) {
      assert.throws(
        () => concurrencyLimit(options),
        (e: unknown) =>
          isInvalidOptionError(e) && e.option === option && e.message.includes(`options.${option}`),
        `expected an InvalidOptionError naming ${option}`,
      );
    }
  });
});

describe('concurrencyLimit: admission', () => {
  afterEach(() => mock.timers.reset());

  it('starts a request at once below the limit, without marking it queued', () => {
    const limiter = concurrencyLimit({ limit: 2 });
    const d = drive(limiter);
    const a = d.call('a');
    assert.deepEqual(d.started, ['a'], 'next() is called synchronously on the fast path');
    assert.equal(a.ctx.state.queuedMs, undefined);
    assert.deepEqual(limiter.stats().scopes.global, {
      limit: 2,
      running: 1,
      queued: 0,
      admitted: 1,
      shed: 0,
      cancelled: 0,
      lingering: 0,
      graceExpired: 0,
      keys: 1,
      serviceMs: 0,
    });
  });

  it('never runs more than the limit, and serves the queue FIFO', async () => {
    const limiter = concurrencyLimit({ limit: 3, maxQueue: 100 });
    let maxRunning = 0;
    const d = drive(limiter, () => {
      const running = limiter.stats().scopes.global!.running;
      assert.ok(running <= 3, `running ${running} > 3`);
      maxRunning = Math.max(maxRunning, running);
    });
    const labels = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const label of labels) d.call(label);
    await flush();
    assert.deepEqual(d.started, ['r0', 'r1', 'r2']);
    // Finish in a scrambled order (never the oldest running one first); the queue still
    // starts in arrival order.
    const finished = new Set<string>();
    for (let k = 0; finished.size < labels.length; k++) {
      const running = d.started.filter((l) => !finished.has(l));
      const pick = running[(k + 1) % running.length]!;
      finished.add(pick);
      d.finish(pick);
      await flush();
    }
    assert.deepEqual(d.started, labels);
    assert.equal(maxRunning, 3);
    const stats = limiter.stats().scopes.global!;
    assert.equal(stats.running, 0);
    assert.equal(stats.admitted, 20);
    for (const label of labels.slice(3)) {
      assert.equal(typeof d.calls.get(label)!.ctx.state.queuedMs, 'number', `${label} records its wait`);
    }
  });

  it('sheds when the queue is full with the documented error', async () => {
    const shedEvents: ShedEvent[] = [];
    const limiter = concurrencyLimit({
      scopes: [{ name: 'tool', key: toolKey, limit: 8, maxQueue: 32 }],
      onShed: (e) => shedEvents.push(e),
    });
    const d = drive(limiter);
    for (let i = 0; i < 40; i++) d.call(`s${i}`, { tool: 'search' });
    const other = d.call('other', { tool: 'fetch' });
    const shed = d.call('shed', { tool: 'search' });
    await flush();
    assert.ok(d.started.includes('other'), 'another tool has its own limit');
    assert.equal(other.settled, undefined);
    const error = overloaded(shed.settled);
    assert.equal(error.rpcCode, ErrorCodes.Overloaded);
    assert.equal(error.rpcCode, -31503);
    assert.ok(error.rpcCode < -32768 || error.rpcCode > -32000, 'outside the reserved JSON-RPC range');
    assert.equal(error.message, 'concurrency limit reached for tool "search": 8/8 running, 32/32 queued');
    assert.deepEqual(error.data, {
      retryAfterMs: Math.ceil((100 * 33) / 8),
      scope: 'tool:search',
      limit: 8,
      running: 8,
      queued: 32,
      maxQueue: 32,
    });
    assert.deepEqual(error.toJsonRpc(), { code: -31503, message: error.message, data: error.data });
    assert.equal(shed.ctx.state.shed, true);
    assert.equal(shedEvents.length, 1);
    assert.equal(shedEvents[0]!.reason, 'queue-full');
    assert.equal(shedEvents[0]!.key, 'search');
    assert.equal(shedEvents[0]!.error, error);
    assert.equal(limiter.stats().scopes.tool!.shed, 1);
    assert.equal(limiter.stats().scopes.tool!.keys, 2);
    assert.ok(!d.started.includes('shed'));
  });

  it('computes retryAfterMs from recent service time and queue position, bounded', async () => {
    let now = 0;
    const limiter = concurrencyLimit({ limit: 1, maxQueue: 2, clock: () => now, maxRetryAfterMs: 250 });
    const d = drive(limiter);
    d.call('a');
    now += 100;
    d.finish('a');
    await flush();
    const b = d.call('b');
    d.call('c');
    d.call('d');
    const e = d.call('e');
    await flush();
    // service 100 ms × (2 queued + 1) / limit 1 = 300, capped at 250.
    assert.equal(overloaded(e.settled).data.retryAfterMs, 250);
    assert.deepEqual(d.started, ['a', 'b']);
    assert.equal(b.settled, undefined);
    const uncapped = concurrencyLimit({ limit: 2, maxQueue: 1, clock: () => now });
    const u = drive(uncapped);
    u.call('x');
    now += 40;
    u.finish('x');
    await flush();
    u.call('y');
    u.call('z');
    u.call('q');
    const shed = u.call('w');
    await flush();
    // service 40 ms × (1 queued + 1) / limit 2 = 40.
    assert.equal(overloaded(shed.settled).data.retryAfterMs, 40);
  });

  it('sheds a request whose wait runs out, and never starts it', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const limiter = concurrencyLimit({ limit: 1, maxQueueWaitMs: 1000, clock: () => Date.now() });
    const d = drive(limiter);
    d.call('running');
    const a = d.call('a');
    mock.timers.tick(400);
    const b = d.call('b');
    await flush();
    mock.timers.tick(599);
    await flush();
    assert.equal(a.settled, undefined);
    mock.timers.tick(1);
    await flush();
    const error = overloaded(a.settled);
    assert.equal(
      error.message,
      'concurrency limit reached for global: 1/1 running, 2/32 queued; waited 1000 ms for a slot',
    );
    assert.equal(b.settled, undefined, 'b has waited only 600 ms');
    mock.timers.tick(400);
    await flush();
    assert.match(overloaded(b.settled).message, /waited 1000 ms/);
    d.finish('running');
    await flush();
    assert.deepEqual(d.started, ['running']);
    assert.equal(limiter.stats().scopes.global!.shed, 2);
    assert.equal(limiter.stats().scopes.global!.queued, 0);
  });

  it('does not shed a request granted before its deadline', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
    const limiter = concurrencyLimit({ limit: 1, maxQueueWaitMs: 1000, clock: () => Date.now() });
    const d = drive(limiter);
    d.call('running');
    const a = d.call('a');
    mock.timers.tick(999);
    d.finish('running');
    await flush();
    assert.equal(a.ctx.state.queuedMs, 999);
    mock.timers.tick(5000);
    d.finish('a');
    await flush();
    assert.ok(a.settled?.reply);
    assert.equal(limiter.stats().scopes.global!.shed, 0);
  });

  it('drops a cancelled queued request at once and never starts it', async () => {
    const cancelled: string[] = [];
    const limiter = concurrencyLimit({ limit: 1, onCancel: (e) => cancelled.push(e.method) });
    const d = drive(limiter);
    d.call('a');
    const b = d.call('b');
    const c = d.call('c');
    await flush();
    b.ctx.cancel();
    await flush();
    assert.ok(isCancelledError(b.settled?.error), 'the cancelled request settles at once');
    assert.deepEqual(limiter.stats().scopes.global, {
      limit: 1,
      running: 1,
      queued: 1,
      admitted: 1,
      shed: 0,
      cancelled: 1,
      lingering: 0,
      graceExpired: 0,
      keys: 1,
      serviceMs: 0,
    });
    assert.deepEqual(cancelled, ['tools/call']);
    d.finish('a');
    await flush();
    assert.deepEqual(d.started, ['a', 'c']);
    d.finish('c');
    await flush();
    assert.ok(c.settled?.reply);
    assert.equal(limiter.stats().scopes.global!.running, 0);
  });

  it('lets control methods through without a slot, even when saturated', async () => {
    const limiter = concurrencyLimit({ limit: 1, maxQueue: 0 });
    const d = drive(limiter);
    d.call('busy');
    for (const method of ['ping', 'initialize', 'server/discover']) {
      d.call(method, { method });
    }
    const refused = d.call('refused');
    await flush();
    assert.deepEqual(d.started, ['busy', 'ping', 'initialize', 'server/discover']);
    overloaded(refused.settled);
    assert.equal(limiter.stats().scopes.global!.admitted, 1);
  });
});

describe('concurrencyLimit: priorities', () => {
  it('serves interactive requests before background ones, FIFO within each class', async () => {
    const limiter = concurrencyLimit({
      limit: 1,
      priority: (ctx) => (String(ctx.params?.name).startsWith('bg') ? 'background' : 'interactive'),
    });
    const d = drive(limiter);
    for (const label of ['run', 'bg1', 'i1', 'bg2', 'i2']) d.call(label, { tool: label });
    await flush();
    for (const label of ['run', 'i1', 'i2', 'bg1', 'bg2']) {
      assert.equal(d.started.at(-1), label);
      d.finish(label);
      await flush();
    }
    assert.deepEqual(d.started, ['run', 'i1', 'i2', 'bg1', 'bg2']);
  });

  it('evicts the newest background request when an interactive one meets a full queue', async () => {
    const shed: ShedEvent[] = [];
    const limiter = concurrencyLimit({
      limit: 1,
      maxQueue: 2,
      priority: (ctx) => (String(ctx.params?.name).startsWith('bg') ? 'background' : 'interactive'),
      onShed: (e) => shed.push(e),
    });
    const d = drive(limiter);
    d.call('run', { tool: 'run' });
    const bg1 = d.call('bg1', { tool: 'bg1' });
    const bg2 = d.call('bg2', { tool: 'bg2' });
    const i1 = d.call('i1', { tool: 'i1' });
    await flush();
    const evicted = overloaded(bg2.settled);
    assert.match(evicted.message, /displaced from the queue by an interactive request$/);
    assert.equal(bg2.ctx.state.shed, true);
    assert.equal(bg1.settled, undefined);
    assert.equal(i1.settled, undefined);
    // Queue: i1, bg1 (full). Another background request is refused; so is an interactive one
    // once no background request is left to evict.
    const bg3 = d.call('bg3', { tool: 'bg3' });
    const i2 = d.call('i2', { tool: 'i2' });
    await flush();
    assert.equal(overloaded(bg3.settled).data.queued, 2);
    assert.equal(bg1.settled && overloaded(bg1.settled).message.includes('displaced'), true);
    assert.equal(i2.settled, undefined);
    const i3 = d.call('i3', { tool: 'i3' });
    await flush();
    assert.match(overloaded(i3.settled).message, /1\/1 running, 2\/2 queued$/);
    assert.deepEqual(
      shed.map((e) => [e.reason, e.priority]),
      [
        ['evicted', 'background'],
        ['queue-full', 'background'],
        ['evicted', 'background'],
        ['queue-full', 'interactive'],
      ],
    );
    for (const label of ['run', 'i1', 'i2']) {
      assert.equal(d.started.at(-1), label);
      d.finish(label);
      await flush();
    }
    assert.deepEqual(d.started, ['run', 'i1', 'i2']);
  });
});

describe('concurrencyLimit: scopes', () => {
  it('makes a request pass every scope that applies, and releases them all', async () => {
    const perTool = new Map<string, number>();
    const limiter = concurrencyLimit({
      scopes: [
        { name: 'tool', key: toolKey, limit: 1 },
        { name: 'global', limit: 2 },
      ],
    });
    const d = drive(limiter, (label) => {
      assert.ok(limiter.stats().scopes.global!.running <= 2, 'global limit');
      const tool = label.split('#')[0]!;
      if (tool === 'read') return;
      const n = (perTool.get(tool) ?? 0) + 1;
      assert.ok(n <= 1, `tool ${tool} runs ${n}`);
      perTool.set(tool, n);
    });
    const track = (label: string, tool: string | undefined) =>
      d.call(label, tool === undefined ? { method: 'resources/read' } : { tool });
    const done = (label: string) => {
      d.finish(label);
      const tool = label.split('#')[0]!;
      if (tool !== 'read') perTool.set(tool, perTool.get(tool)! - 1);
    };
    track('search#1', 'search');
    track('search#2', 'search');
    track('fetch#1', 'fetch');
    track('other#1', 'other');
    track('read#1', undefined);
    await flush();
    assert.deepEqual(d.started, ['search#1', 'fetch#1']);
    const s = limiter.stats().scopes;
    assert.equal(s.tool!.running, 3, 'other#1 holds its tool slot while waiting for a global one');
    assert.equal(s.tool!.queued, 1);
    assert.equal(s.global!.queued, 2);
    done('search#1');
    await flush();
    assert.deepEqual(d.started, ['search#1', 'fetch#1', 'other#1']);
    done('fetch#1');
    await flush();
    done('other#1');
    await flush();
    assert.deepEqual(d.started, ['search#1', 'fetch#1', 'other#1', 'read#1', 'search#2']);
    done('read#1');
    done('search#2');
    await flush();
    const after = limiter.stats().scopes;
    assert.equal(after.global!.running, 0);
    assert.equal(after.tool!.running, 0);
    assert.equal(after.tool!.keys, 0, 'idle keys are forgotten');
    assert.equal(after.global!.admitted, 5);
    assert.equal(after.tool!.admitted, 4, 'resources/read skips the tool scope');
  });

  it('releases the earlier scopes when a request is cancelled or shed in a later one', async () => {
    const limiter = concurrencyLimit({
      scopes: [
        { name: 'tool', key: toolKey, limit: 2 },
        { name: 'global', limit: 1, maxQueue: 1 },
      ],
    });
    const d = drive(limiter);
    d.call('a', { tool: 'x' });
    const b = d.call('b', { tool: 'x' });
    const c = d.call('c', { tool: 'y' });
    await flush();
    overloaded(c.settled);
    assert.equal(limiter.stats().scopes.tool!.running, 2, 'the shed request gave back its tool slot');
    b.ctx.cancel();
    await flush();
    assert.ok(isCancelledError(b.settled?.error));
    assert.equal(limiter.stats().scopes.tool!.running, 1, 'the cancelled request gave back its tool slot');
    assert.equal(limiter.stats().scopes.global!.cancelled, 1);
    d.finish('a');
    await flush();
    assert.deepEqual(d.started, ['a']);
    assert.equal(limiter.stats().scopes.tool!.keys, 0);
  });

  it('answers a shed tools/call with an isError result when shedAs is tool-result', async () => {
    const limiter = concurrencyLimit({ limit: 1, maxQueue: 0, shedAs: 'tool-result' });
    const d = drive(limiter);
    d.call('run', { tool: 'search' });
    const shedTool = d.call('tool', { tool: 'search' });
    const shedRead = d.call('read', { method: 'resources/read', params: { uri: 'file:///x' } });
    await flush();
    const result = shedTool.settled?.reply?.result;
    assert.deepEqual(result, {
      content: [{ type: 'text', text: 'concurrency limit reached for global: 1/1 running, 0/0 queued' }],
      isError: true,
      _meta: {
        'mcp-perf/retry': {
          retryAfterMs: 100,
          scope: 'global',
          limit: 1,
          running: 1,
          queued: 0,
          maxQueue: 0,
        },
      },
    });
    assert.equal(shedTool.ctx.state.shed, true);
    overloaded(shedRead.settled);
  });

  it('reports a listener that throws without failing the request', async () => {
    const limiter = concurrencyLimit({
      limit: 1,
      onQueue: () => {
        throw new Error('listener broke');
      },
    });
    const d = drive(limiter);
    d.call('a');
    const b = d.call('b');
    await flush();
    assert.deepEqual(
      b.ctx.reported.map((e) => e.message),
      ['listener broke'],
    );
    d.finish('a');
    await flush();
    assert.deepEqual(d.started, ['a', 'b']);
  });

  it('lets setLimit and on() change and observe a live limiter', async () => {
    const changes: LimitChangeEvent[] = [];
    const queued: number[] = [];
    const limiter = concurrencyLimit({ limit: 1 });
    const off = limiter.on({ onLimitChange: (e) => changes.push(e), onQueue: (e) => queued.push(e.queued) });
    const d = drive(limiter);
    d.call('a');
    d.call('b');
    d.call('c');
    await flush();
    assert.deepEqual(queued, [1, 2]);
    limiter.setLimit('global', 3);
    await flush();
    assert.deepEqual(d.started, ['a', 'b', 'c']);
    assert.deepEqual(changes, [{ scope: 'global', previous: 1, limit: 3, reason: 'manual' }]);
    off();
    limiter.setLimit('global', 2);
    assert.equal(changes.length, 1);
    assert.throws(() => limiter.setLimit('nope', 2), isInvalidOptionError);
    assert.throws(() => limiter.setLimit('global', 0), isInvalidOptionError);
  });
});

describe('concurrencyLimit: adaptive limit', () => {
  const opts = {
    min: 2,
    max: 100,
    tolerance: 1.5,
    smoothing: 0.2,
    longWindow: 600,
    queueSize: 4,
    windowMs: 0,
    windowSamples: 1,
  };

  it('shrinks under rising latency and grows back when it recovers (synthetic samples)', () => {
    const g = new GradientLimit(20, opts);
    let t = 0;
    const feed = (rtt: number, windows: number) => {
      for (let i = 0; i < windows; i++) {
        t += 10;
        g.sample(rtt, g.limit, t);
      }
    };
    feed(10, 20);
    const grown = g.limit;
    assert.ok(grown > 20, `steady latency lets the limit grow (${grown})`);
    feed(40, 15);
    const shrunk = g.limit;
    assert.ok(shrunk < grown, `rising latency shrinks it (${grown} → ${shrunk})`);
    feed(10, 60);
    assert.ok(g.limit > shrunk, `recovered latency lets it grow again (${shrunk} → ${g.limit})`);
    const floored = new GradientLimit(3, { ...opts, queueSize: 0 });
    for (let i = 0; i < 10; i++) floored.sample(10, 3, i);
    for (let i = 10; i < 40; i++) floored.sample(1000, 3, i);
    assert.equal(floored.limit, 2, 'never below the floor');
    const capped = new GradientLimit(95, opts);
    for (let i = 0; i < 200; i++) capped.sample(10, capped.limit, i);
    assert.equal(capped.limit, 100, 'never above the ceiling');
  });

  it('does not grow while application-limited', () => {
    const g = new GradientLimit(20, opts);
    for (let i = 0; i < 50; i++) g.sample(10, 3, i);
    assert.equal(g.limit, 20);
  });

  it('closes a window only after windowMs and windowSamples', () => {
    const g = new GradientLimit(20, { ...opts, windowMs: 1000, windowSamples: 3, smoothing: 1 });
    assert.equal(g.sample(10, 20, 0), false);
    assert.equal(g.sample(10, 20, 2000), false, 'two samples: not enough');
    assert.equal(g.sample(10, 20, 2001), true, 'three samples after 1000 ms');
  });

  it('drives the live limit from observed latency with an injected clock', async () => {
    let now = 0;
    const changes: LimitChangeEvent[] = [];
    const limiter = concurrencyLimit({
      limit: 10,
      maxQueue: 1000,
      adaptive: { min: 2, max: 40, windowMs: 0, windowSamples: 5 },
      clock: () => now,
      onLimitChange: (e) => changes.push(e),
    });
    let n = 0;
    const round = async (rttMs: number) => {
      const limit = limiter.stats().scopes.global!.limit;
      const d = drive(limiter, () => {
        const s = limiter.stats().scopes.global!;
        assert.ok(s.running <= s.limit, `running ${s.running} > limit ${s.limit}`);
      });
      const labels = Array.from({ length: limit }, () => `r${n++}`);
      for (const l of labels) d.call(l);
      await flush();
      now += rttMs;
      for (const l of labels) d.finish(l);
      await flush();
    };
    for (let i = 0; i < 10; i++) await round(10);
    const high = limiter.stats().scopes.global!.limit;
    assert.ok(high > 10, `grows under steady latency (${high})`);
    for (let i = 0; i < 15; i++) await round(60);
    const low = limiter.stats().scopes.global!.limit;
    assert.ok(low < high, `shrinks as latency rises (${high} → ${low})`);
    for (let i = 0; i < 40; i++) await round(10);
    assert.ok(limiter.stats().scopes.global!.limit > low, 'grows back after recovery');
    assert.ok(changes.length > 0 && changes.every((e) => e.reason === 'adaptive' && e.scope === 'global'));
    assert.ok(changes.every((e) => e.limit >= 2 && e.limit <= 40));
  });
});

describe('concurrencyLimit: bounded state', () => {
  it('a keyed scope tracks at most KEYS_MAX keys; requests of further keys share one gate and its limit', async () => {
    const limiter = concurrencyLimit({
      scopes: [{ name: 'tool', key: toolKey, limit: 1, maxQueue: 2 }],
    });
    const d = drive(limiter);
    for (let i = 0; i < KEYS_MAX + 50; i++) d.call(`k${i}`, { tool: `tool-${i}` });
    await flush();
    const tool = limiter.stats().scopes.tool!;
    assert.equal(tool.keys, KEYS_MAX + 1);
    assert.equal(d.started.length, KEYS_MAX + 1, 'one request of the overflow keys runs, its limit is 1');
    assert.equal(tool.queued, 2);
    assert.equal(tool.shed, 47);
    for (const label of d.started.slice()) d.finish(label);
    await flush();
    d.finish(`k${KEYS_MAX + 1}`);
    await flush();
    d.finish(`k${KEYS_MAX + 2}`);
    await flush();
    assert.equal(limiter.stats().scopes.tool!.keys, 0, 'every gate is forgotten when idle');
  });
});
