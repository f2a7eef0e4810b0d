import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Budget, type FigureBudget, parseBudgets } from '../../benchmarks/harness/budgets.js';
import { type BenchEvent, runBench } from '../../benchmarks/harness/runner.js';
import type { ExperimentScenario, ScenarioSet } from '../../benchmarks/harness/types.js';
import { decide } from '../../benchmarks/harness/verdict.js';
import { EXPERIMENT_HEADER, experimentRows } from '../../benchmarks/report/format.js';

describe('budgets on an experiment figure', () => {
  it('accepts max and min with a figure, keeping gating: false', () => {
    const b = parseBudgets([
      { id: 'p99', scenario: 'x', metric: 'max', figure: 'p99Ratio', limit: 3, why: 'w' },
      { id: 'good', scenario: 'x', metric: 'min', figure: 'goodput', limit: 0.9, why: 'w', gating: false },
      { id: 'delta', scenario: 'x', metric: 'max', figure: 'drift', limit: -0.5, why: 'w' },
    ]);
    assert.deepEqual(b[0], {
      id: 'p99',
      scenario: 'x',
      metric: 'max',
      figure: 'p99Ratio',
      limit: 3,
      why: 'w',
    });
    assert.equal((b[1] as FigureBudget).figure, 'goodput');
    assert.equal(b[1]!.gating, false);
    assert.equal(b[2]!.limit, -0.5, 'a figure may be limited below zero');
  });

  it('names the entry and field that is wrong', () => {
    const entry = { id: 'a', scenario: 's', metric: 'max', figure: 'f', limit: 3, why: 'w' };
    assert.throws(
      () => parseBudgets([{ ...entry, metric: 'below' }]),
      /budgets\[0\]\.metric must be "ratio" or "speedup" \(a comparison\), or "max" or "min" \(an experiment's figure\) \(got "below"\)/,
    );
    assert.throws(
      () => parseBudgets([entry, { ...entry, id: 'b', figure: undefined }]),
      /budgets\[1\]\.figure must name the experiment's figure that metric "max" limits \(got undefined\)/,
    );
    assert.throws(
      () => parseBudgets([{ ...entry, metric: 'min', figure: '' }]),
      /budgets\[0\]\.figure must name the experiment's figure that metric "min" limits \(got ""\)/,
    );
    assert.throws(
      () => parseBudgets([{ ...entry, figure: 7 }]),
      /budgets\[0\]\.figure must name .* \(got 7\)/,
    );
    assert.throws(
      () => parseBudgets([{ ...entry, metric: 'ratio' }]),
      /budgets\[0\]\.figure applies to metric "max" or "min" only \(got figure "f" with metric "ratio"\)/,
    );
    assert.throws(
      () => parseBudgets([{ ...entry, limit: Number.NaN }]),
      /budgets\[0\]\.limit must be a finite number/,
    );
    assert.throws(
      () => parseBudgets([{ ...entry, limit: '3' }]),
      /budgets\[0\]\.limit must be a finite number \(got "3"\)/,
    );
  });
});

describe('verdict on a figure', () => {
  const max: Budget = { id: 'm', scenario: 's', metric: 'max', figure: 'f', limit: 3, why: 'test' };
  const min: Budget = { id: 'n', scenario: 's', metric: 'min', figure: 'g', limit: 0.9, why: 'test' };

  it('passes a figure within the limit at once', () => {
    assert.equal(decide(max, [2.5]).status, 'pass');
    assert.equal(decide(max, [3]).status, 'pass', 'the limit itself is within');
    assert.equal(decide(min, [0.95]).status, 'pass');
    assert.equal(decide(min, [0.9]).status, 'pass');
  });

  it('asks for a re-run on a breach, and passes when the re-run is within', () => {
    const first = decide(max, [3.4]);
    assert.equal(first.status, 'remeasure');
    assert.equal(first.judgement.value.median, 3.4);
    const again = decide(max, [3.4], [2.8]);
    assert.equal(again.status, 'pass');
    assert.equal(again.judgement.value.median, 2.8, 'the re-run decides');
    assert.equal(decide(min, [0.85]).status, 'remeasure');
    assert.equal(decide(min, [0.85], [0.93]).status, 'pass');
  });

  it('fails when the re-run breaches too (one value is its own quartiles: never noisy)', () => {
    const v = decide(max, [3.4], [3.1]);
    assert.equal(v.status, 'fail');
    assert.equal(v.judgement.medianBreached, true);
    assert.equal(v.judgement.quartileBreached, true);
    assert.equal(decide(min, [0.85], [0.89]).status, 'fail');
  });

  it('reports a non-gating breach as a warning without a re-run', () => {
    assert.equal(decide({ ...max, gating: false }, [4]).status, 'warn');
    assert.equal(decide({ ...min, gating: false }, [0.5]).status, 'warn');
  });
});

/** An experiment that yields the given figures, one set per run, and counts its runs. */
function scripted(runs: Record<string, number>[], declared = ['p99Ratio', 'goodput']) {
  const scenario: ExperimentScenario & { runs: number } = {
    kind: 'experiment',
    description: 'a scripted experiment (no load)',
    figures: Object.fromEntries(declared.map((f) => [f, `${f}, what it is`])),
    runs: 0,
    run: async () => {
      const figures = runs[Math.min(scenario.runs, runs.length - 1)]!;
      scenario.runs++;
      return { figures, details: { run: scenario.runs } };
    },
  };
  return scenario;
}

const p99: Budget = { id: 'x.p99', scenario: 'x', metric: 'max', figure: 'p99Ratio', limit: 3, why: 'test' };
const goodput: Budget = {
  id: 'x.goodput',
  scenario: 'x',
  metric: 'min',
  figure: 'goodput',
  limit: 0.9,
  why: 'test',
};

describe('the runner on an experiment', () => {
  it('runs once when every figure is within its budget and keeps what the report needs', async () => {
    const x = scripted([{ p99Ratio: 2.5, goodput: 0.95 }]);
    const results = await runBench({ scenarios: { x }, budgets: [p99, goodput], check: true });
    assert.equal(results.ok, true);
    assert.equal(x.runs, 1);
    const [record] = results.scenarios;
    assert.equal(record!.kind, 'experiment');
    assert.deepEqual(record!.experiment, { figures: { p99Ratio: 2.5, goodput: 0.95 }, details: { run: 1 } });
    assert.equal(record!.rerun, undefined);
    assert.deepEqual(record!.figureNotes, x.figures);
    assert.deepEqual(
      record!.budgets.map((b) => [b.budget.id, b.status, b.remeasured, b.value.median, b.value.n]),
      [
        ['x.p99', 'pass', false, 2.5, 1],
        ['x.goodput', 'pass', false, 0.95, 1],
      ],
    );
  });

  it('runs again after a breach and lets the re-run decide the breached budget', async () => {
    const x = scripted([
      { p99Ratio: 3.4, goodput: 0.95 },
      { p99Ratio: 2.8, goodput: 0.85 },
    ]);
    const events: BenchEvent[] = [];
    const results = await runBench({
      scenarios: { x },
      budgets: [p99, goodput],
      check: true,
      onEvent: (e) => events.push(e),
    });
    assert.equal(x.runs, 2);
    assert.deepEqual(
      events.map((e) => e.type),
      ['start', 'remeasure', 'done'],
    );
    assert.deepEqual(events[1], { type: 'remeasure', scenario: 'x', kind: 'experiment', budgets: ['x.p99'] });
    const [record] = results.scenarios;
    assert.equal(record!.rerun!.figures.p99Ratio, 2.8);
    assert.deepEqual(
      record!.budgets.map((b) => [b.budget.id, b.status, b.remeasured, b.value.median]),
      [
        ['x.p99', 'pass', true, 2.8],
        // within on the first run: judged there, whatever the re-run measured
        ['x.goodput', 'pass', false, 0.95],
      ],
    );
    assert.equal(results.ok, true);
  });

  it('fails the check when the re-run breaches too', async () => {
    const x = scripted([
      { p99Ratio: 3.4, goodput: 0.95 },
      { p99Ratio: 3.1, goodput: 0.95 },
    ]);
    const results = await runBench({ scenarios: { x }, budgets: [p99, goodput], check: true });
    assert.equal(x.runs, 2);
    assert.equal(results.ok, false);
    const b = results.scenarios[0]!.budgets[0]!;
    assert.equal(b.status, 'fail');
    assert.equal(b.remeasured, true);
    assert.equal(b.value.median, 3.1);
  });

  it('does not re-run for a non-gating breach', async () => {
    const x = scripted([{ p99Ratio: 9, goodput: 0.95 }]);
    const results = await runBench({
      scenarios: { x },
      budgets: [{ ...p99, gating: false }, goodput],
      check: true,
    });
    assert.equal(x.runs, 1);
    assert.equal(results.scenarios[0]!.budgets[0]!.status, 'warn');
    assert.equal(results.ok, true);
  });

  it('leaves a scenario with reported figures only to full runs', async () => {
    const x = scripted([{ p99Ratio: 9, goodput: 0.95 }]);
    const budgets = [{ ...p99, gating: false }];
    const checked = await runBench({ scenarios: { x }, budgets, check: true });
    assert.equal(x.runs, 0);
    assert.deepEqual(checked.scenarios, []);
    assert.equal(checked.ok, true);
    const full = await runBench({ scenarios: { x }, budgets });
    assert.equal(x.runs, 1);
    assert.equal(full.scenarios[0]!.budgets[0]!.status, 'warn');
  });

  it('refuses, before running anything, budgets that do not fit their scenario', async () => {
    const x = scripted([{ p99Ratio: 1, goodput: 1 }]);
    const scenarios: ScenarioSet = {
      x,
      cmp: {
        kind: 'compare',
        description: 'never run',
        baseline: { setup: async () => null, run: async () => {}, teardown: () => {} },
        candidate: { setup: async () => null, run: async () => {}, teardown: () => {} },
        rounds: 2,
      },
    };
    const results = await runBench({
      scenarios,
      budgets: [
        { ...p99, id: 'ghost', figure: 'latency' },
        { id: 'r', scenario: 'x', metric: 'ratio', limit: 1.1, why: 'test' },
        { ...p99, id: 'on-compare', scenario: 'cmp' },
      ],
      check: true,
    });
    assert.equal(results.ok, false);
    assert.equal(x.runs, 0, 'no budget left to run it for');
    assert.deepEqual(results.scenarios, []);
    assert.deepEqual(results.problems, [
      'budget ghost: experiment "x" yields no figure "latency" (it yields p99Ratio, goodput)',
      'budget r: metric "ratio" limits a comparison\'s ratio, but "x" is an experiment (limit one of its figures with "max" or "min")',
      'budget on-compare: metric "max" limits an experiment\'s figure, but "cmp" is a compare scenario',
    ]);
  });

  it('records an error when a run yields a declared figure missing, not finite, or undeclared', async () => {
    const cases: [Record<string, number>, RegExp][] = [
      [{ p99Ratio: 2 }, /figure goodput must be a finite number \(got undefined\)/],
      [{ p99Ratio: Number.NaN, goodput: 1 }, /figure p99Ratio must be a finite number \(got NaN\)/],
      [{ p99Ratio: 2, goodput: 1, extra: 3 }, /undeclared figures extra/],
    ];
    for (const [figures, message] of cases) {
      const results = await runBench({ scenarios: { x: scripted([figures]) }, budgets: [p99], check: true });
      assert.equal(results.ok, false);
      assert.match(results.scenarios[0]!.error!, message);
    }
  });

  it('runs an unbudgeted experiment in a full run, and not in check mode', async () => {
    const x = scripted([{ p99Ratio: 5, goodput: 0.1 }]);
    const full = await runBench({ scenarios: { x }, budgets: [] });
    assert.equal(full.ok, true);
    assert.equal(full.scenarios[0]!.budgets.length, 0);
    const check = await runBench({ scenarios: { x }, budgets: [], check: true });
    assert.deepEqual(check.scenarios, []);
    assert.equal(x.runs, 1);
  });
});

describe('the experiment table', () => {
  it('shows every declared figure, the deciding value, the first run and the budget', async () => {
    const x = scripted([
      { p99Ratio: 3.4, goodput: 0.95 },
      { p99Ratio: 2.8, goodput: 0.9 },
    ]);
    const results = await runBench({ scenarios: { x }, budgets: [p99, goodput], check: true });
    const rows = experimentRows(results.scenarios);
    assert.equal(EXPERIMENT_HEADER.length, rows[0]!.length);
    assert.deepEqual(rows, [
      ['x', 'p99Ratio', '2.80', '3.40', 'max <= 3', 'pass (re-measured)', 'p99Ratio, what it is'],
      ['', 'goodput', '0.900', '0.950', 'min >= 0.9', 'pass', 'goodput, what it is'],
    ]);
  });
});
