/**
 * Budgets that can fail: the latest full benchmark run's own rounds, replayed through the
 * verdict rule as they were measured and with the side under test made slower. A budget
 * that still passes a build 20% slower than the one measured catches nothing.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Budget, parseBudgets } from '../../benchmarks/harness/budgets.js';
import { decide } from '../../benchmarks/harness/verdict.js';

const RESULTS = fileURLToPath(new URL('../../benchmarks/results/', import.meta.url));
const BUDGETS = fileURLToPath(new URL('../../benchmarks/budgets.json', import.meta.url));

/** Budgets set to fail a regression of 20% of what they measure. */
const TIGHT = ['cache.miss.inmemory', 'cache.miss-vs-pass.inmemory'];
const SLOWER = 1.2;

interface RecordedScenario {
  name: string;
  compare?: { rounds: { ratio: number }[] };
}

function latestFullRun(): RecordedScenario[] {
  const files = readdirSync(RESULTS)
    .filter((f) => /^\d{4}-\d\d-\d\d-.*\.json$/.test(f))
    .sort();
  const latest = files.at(-1);
  assert.ok(latest, `a full run's results are kept in ${RESULTS}`);
  return (JSON.parse(readFileSync(RESULTS + latest, 'utf8')) as { scenarios: RecordedScenario[] }).scenarios;
}

describe('tight budgets against the latest full run', () => {
  const budgets = parseBudgets(JSON.parse(readFileSync(BUDGETS, 'utf8')));
  const scenarios = latestFullRun();
  for (const id of TIGHT) {
    it(`${id} passes the run as measured and fails it ${Math.round((SLOWER - 1) * 100)}% slower`, () => {
      const budget = budgets.find((b) => b.id === id) as Budget;
      assert.ok(budget, `budget ${id} exists`);
      assert.notEqual(budget.gating, false, `${id} gates`);
      const rounds = scenarios.find((s) => s.name === budget.scenario)?.compare?.rounds;
      assert.ok(rounds && rounds.length > 0, `the latest full run measured ${budget.scenario}`);
      const ratios = rounds.map((r) => r.ratio);
      assert.equal(decide(budget, ratios, ratios).status, 'pass');
      // Ratios are candidate/baseline time: the candidate made slower multiplies each one.
      const slower = ratios.map((r) => r * SLOWER);
      assert.equal(decide(budget, slower, slower).status, 'fail');
    });
  }
});
