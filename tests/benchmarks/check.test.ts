import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  burnMicros,
  connectInMemory,
  createFixtureServer,
  createSlowServer,
} from '../../benchmarks/fixtures/servers.js';
import { type Budget, parseBudgets } from '../../benchmarks/harness/budgets.js';
import type { Variant } from '../../benchmarks/harness/compare.js';
import { type BenchResults, runBench } from '../../benchmarks/harness/runner.js';
import { median, percentiles, quantile, spread } from '../../benchmarks/harness/stats.js';
import type { ScenarioSet } from '../../benchmarks/harness/types.js';
import { decide, judge } from '../../benchmarks/harness/verdict.js';
import { serializeResults } from '../../benchmarks/report/results.js';
import { type Middleware, withMiddleware } from '../../src/index.js';

describe('statistics', () => {
  it('interpolates quantiles between closest ranks', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75);
    assert.equal(quantile([1, 2, 3, 4], 0.75), 3.25);
    assert.equal(quantile([7], 0.9), 7);
    assert.equal(quantile([10, 20], 0), 10);
    assert.equal(quantile([10, 20], 1), 20);
  });

  it('rejects empty input and out-of-range q', () => {
    assert.throws(() => quantile([], 0.5), /no values/);
    assert.throws(() => quantile([1], 1.5), /q must be within/);
  });

  it('summarizes the spread', () => {
    assert.deepEqual(spread([5, 1, 3, 2, 4]), { median: 3, q1: 2, q3: 4, iqr: 2, min: 1, max: 5, n: 5 });
  });

  it('computes latency percentiles from samples', () => {
    const samples = Float64Array.from({ length: 101 }, (_, i) => 100 - i);
    const p = percentiles(samples);
    assert.equal(p.p50, 50);
    assert.equal(p.p90, 90);
    assert.equal(p.p99, 99);
    assert.equal(p.min, 0);
    assert.equal(p.max, 100);
    assert.equal(p.mean, 50);
  });
});

describe('verdict rule', () => {
  const ratioBudget: Budget = { id: 'r', scenario: 's', metric: 'ratio', limit: 1.03, why: 'test' };
  const speedupBudget: Budget = { id: 'x', scenario: 's', metric: 'speedup', limit: 2, why: 'test' };

  it('passes a median within the limit without re-measuring', () => {
    assert.equal(decide(ratioBudget, [0.99, 1.0, 1.02, 1.2]).status, 'pass');
  });

  it('asks for a re-measurement when the first median breaches', () => {
    const v = decide(ratioBudget, [1.04, 1.05, 1.06]);
    assert.equal(v.status, 'remeasure');
    assert.equal(v.judgement.value.median, 1.05);
  });

  it('fails only when the re-measured median and its lower quartile both breach', () => {
    assert.equal(decide(ratioBudget, [1.05], [1.04, 1.05, 1.06, 1.07, 1.08]).status, 'fail');
  });

  it('passes when the re-measured median is within the limit', () => {
    assert.equal(decide(ratioBudget, [1.05], [0.98, 1.0, 1.01, 1.05, 1.2]).status, 'pass');
  });

  it('calls a re-measured breach whose favourable quartile is within the limit noisy, not failed', () => {
    const v = decide(ratioBudget, [1.05], [1.0, 1.01, 1.04, 1.05, 1.06]);
    assert.equal(v.status, 'noisy');
    assert.equal(v.judgement.value.q1, 1.01);
    assert.equal(v.judgement.medianBreached, true);
    assert.equal(v.judgement.quartileBreached, false);
  });

  it('judges speedups as baseline/candidate, favourable quartile = upper', () => {
    // ratios 0.4, 0.45, 0.5 are speedups 2.5, 2.22, 2: median 2.22 >= 2
    assert.equal(decide(speedupBudget, [0.4, 0.45, 0.5]).status, 'pass');
    const j = judge(speedupBudget, [0.5, 0.55, 0.6, 0.625, 0.8]);
    assert.equal(j.medianBreached, true);
    // speedups 2, 1.82, 1.67, 1.6, 1.25: upper quartile 1.82 < 2 as well
    assert.equal(j.quartileBreached, true);
    assert.equal(decide(speedupBudget, [0.6], [0.5, 0.55, 0.6, 0.625, 0.8]).status, 'fail');
    assert.equal(decide(speedupBudget, [0.6], [0.3, 0.4, 0.55, 0.6, 0.7]).status, 'noisy');
  });

  it('reports a non-gating breach as a warning at once', () => {
    assert.equal(decide({ ...ratioBudget, gating: false }, [1.2, 1.3]).status, 'warn');
  });
});

describe('budgets file', () => {
  it('accepts valid entries and keeps gating: false', () => {
    const b = parseBudgets([
      { id: 'a', scenario: 's', metric: 'ratio', limit: 1.03, why: 'w' },
      { id: 'b', scenario: 's', metric: 'speedup', limit: 3, why: 'w', gating: false },
    ]);
    assert.equal(b.length, 2);
    assert.equal(b[0]!.gating, undefined);
    assert.equal(b[1]!.gating, false);
  });

  it('names the entry and field that is wrong', () => {
    assert.throws(() => parseBudgets({}), /expected an array/);
    assert.throws(
      () => parseBudgets([{ id: 'a', scenario: 's', metric: 'time', limit: 1, why: 'w' }]),
      /budgets\[0\]\.metric must be "ratio" or "speedup"/,
    );
    assert.throws(
      () => parseBudgets([{ id: 'a', scenario: 's', metric: 'ratio', limit: -1, why: 'w' }]),
      /budgets\[0\]\.limit must be a positive number/,
    );
    assert.throws(
      () =>
        parseBudgets([
          { id: 'a', scenario: 's', metric: 'ratio', limit: 1, why: 'w' },
          { id: 'a', scenario: 't', metric: 'ratio', limit: 1, why: 'w' },
        ]),
      /budgets\[1\]\.id: duplicate/,
    );
    assert.throws(
      () => parseBudgets([{ id: 'a', metric: 'ratio', limit: 1, why: 'w' }]),
      /budgets\[0\]\.scenario/,
    );
  });
});

/** A middleware that busy-loops 20 µs before passing the request on. */
const slow: Middleware = async (_ctx, next) => {
  burnMicros(20);
  return next();
};

function echoVariant(wrap: (server: ReturnType<typeof createSlowServer>) => typeof server) {
  return {
    setup: () => connectInMemory(wrap(createSlowServer())),
    run: async (c) => {
      await c.client.callTool({ name: 'echo', arguments: { text: 'x' } });
    },
    teardown: (c) => c.close(),
  } satisfies Variant<Awaited<ReturnType<typeof connectInMemory>>>;
}

const quick = { kind: 'compare', rounds: 6, warmupRounds: 1, timePerRoundMs: 60 } as const;

const gateScenarios: ScenarioSet = {
  slow: {
    ...quick,
    description: 'bare vs a 20 µs busy-loop middleware',
    baseline: echoVariant((s) => s),
    candidate: echoVariant((s) => withMiddleware(s, [slow])),
  },
  same: {
    ...quick,
    description: 'bare vs bare',
    baseline: echoVariant((s) => s),
    candidate: echoVariant((s) => s),
  },
  onePass: {
    ...quick,
    description: 'empty stack vs one pass-through middleware',
    baseline: echoVariant(() => createFixtureServer('empty')),
    candidate: echoVariant(() => createFixtureServer('pass1')),
  },
};

describe('the gate, measuring', () => {
  it('fails a 20 µs busy-loop middleware against a 1.03 budget, after re-measuring', async () => {
    const results = await runBench({
      scenarios: gateScenarios,
      budgets: [{ id: 'slow.gate', scenario: 'slow', metric: 'ratio', limit: 1.03, why: 'test' }],
      check: true,
    });
    assert.equal(results.ok, false);
    const [record] = results.scenarios;
    assert.equal(record!.name, 'slow');
    assert.equal(record!.budgets[0]!.status, 'fail');
    assert.equal(record!.budgets[0]!.remeasured, true);
    assert.ok(record!.remeasure !== undefined, 'a breach is re-measured');
    assert.equal(record!.remeasure!.rounds.length, 12, 'with twice the rounds');
    assert.ok(record!.budgets[0]!.value.q1 > 1.03);
  });

  it('passes identical variants and a single pass-through middleware', async () => {
    const results = await runBench({
      scenarios: gateScenarios,
      budgets: [
        // Generous, both: this checks the gate's plumbing, measured under tsx (which doubles
        // a closure's cost) in a short run on a shared machine, not the figures themselves,
        // which the benchmark suite gates on compiled code (`harness.aa.inmemory` holds A/A
        // to 3%). A 3% limit here failed at random when the machine was busy.
        { id: 'same.gate', scenario: 'same', metric: 'ratio', limit: 1.5, why: 'test' },
        { id: 'one.gate', scenario: 'onePass', metric: 'ratio', limit: 1.5, why: 'test' },
      ],
      check: true,
    });
    assert.deepEqual(
      results.scenarios.map((s) => s.name),
      ['same', 'onePass'],
      'check mode runs budgeted scenarios only',
    );
    for (const s of results.scenarios) {
      assert.equal(s.error, undefined);
      assert.ok(['pass', 'noisy'].includes(s.budgets[0]!.status), `${s.name}: ${s.budgets[0]!.status}`);
    }
    assert.equal(results.ok, true);
  });

  it('fails the check when a budget names an unknown scenario', async () => {
    const results = await runBench({
      scenarios: {},
      budgets: [{ id: 'ghost', scenario: 'nowhere', metric: 'ratio', limit: 1.03, why: 'test' }],
      check: true,
    });
    assert.equal(results.ok, false);
    assert.match(results.problems[0]!, /budget ghost: unknown scenario "nowhere"/);
  });

  it('fails the check when a budgeted scenario throws', async () => {
    const broken: Variant<null> = {
      setup: async () => null,
      run: async () => {
        throw new Error('boom');
      },
      teardown: () => {},
    };
    const results = await runBench({
      scenarios: { broken: { ...quick, description: 'throws', baseline: broken, candidate: broken } },
      budgets: [{ id: 'b', scenario: 'broken', metric: 'ratio', limit: 1.03, why: 'test' }],
      check: true,
    });
    assert.equal(results.ok, false);
    assert.match(results.scenarios[0]!.error!, /boom/);
  });
});

describe('results files', () => {
  it('write each round on one line and fractional numbers to six significant digits', () => {
    const round = (ratio: number) => ({ order: 'AB', baseline: { ops: 3, p50Us: 12.3456789 }, ratio });
    const results = {
      schema: 1,
      scenarios: [
        { name: 's', compare: { rounds: [round(1.0123456789), round(0.98765432)], settings: { rounds: 2 } } },
      ],
      note: 'a string that looks like "\u0000round:0" stays as it is',
    } as unknown as BenchResults;
    const text = serializeResults(results);
    const lines = text.split('\n');
    assert.ok(
      lines.some((l) => l.trim() === '{"order":"AB","baseline":{"ops":3,"p50Us":12.3457},"ratio":1.01235},'),
    );
    assert.ok(
      lines.some((l) => l.trim() === '{"order":"AB","baseline":{"ops":3,"p50Us":12.3457},"ratio":0.987654}'),
    );
    assert.deepEqual(JSON.parse(text), {
      schema: 1,
      scenarios: [
        {
          name: 's',
          compare: {
            rounds: [
              { order: 'AB', baseline: { ops: 3, p50Us: 12.3457 }, ratio: 1.01235 },
              { order: 'AB', baseline: { ops: 3, p50Us: 12.3457 }, ratio: 0.987654 },
            ],
            settings: { rounds: 2 },
          },
        },
      ],
      note: 'a string that looks like "\u0000round:0" stays as it is',
    });
  });
});
