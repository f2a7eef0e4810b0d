import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Budget } from '../../benchmarks/harness/budgets.js';
import type { CompareResult } from '../../benchmarks/harness/compare.js';
import type { BenchResults, ScenarioRecord } from '../../benchmarks/harness/runner.js';
import {
  appendHistory,
  historyLine,
  historySeries,
  readHistory,
  runLabel,
} from '../../benchmarks/report/history.js';
import { historyChart } from '../../benchmarks/report/svg.js';

function spread(median: number) {
  return {
    median,
    q1: median - 0.01,
    q3: median + 0.01,
    iqr: 0.02,
    min: median - 0.1,
    max: median + 0.1,
    n: 10,
  };
}

function compareRecord(name: string, median: number, remeasured?: number): ScenarioRecord {
  const compare = (m: number) => ({ name, ratio: spread(m) }) as unknown as CompareResult;
  return {
    name,
    kind: 'compare',
    description: name,
    compare: compare(median),
    ...(remeasured !== undefined ? { remeasure: compare(remeasured) } : {}),
    budgets: [],
  };
}

function results(startedAt: string, commit: string, scenarios: ScenarioRecord[]): BenchResults {
  return {
    schema: 1,
    mode: 'bench',
    startedAt,
    durationMs: 1234.5,
    environment: {
      node: 'v20.0.0',
      v8: '11',
      os: 'linux',
      cpu: 'test',
      cpus: 2,
      memoryMiB: 1024,
      loadavg1: 0.51234,
      commit,
      dirty: false,
      gc: true,
    } as BenchResults['environment'],
    ok: true,
    scenarios,
    problems: [],
  };
}

const experiment: ScenarioRecord = {
  name: 'exp',
  kind: 'experiment',
  description: 'exp',
  experiment: { figures: { p99Ratio: 3.3333333 } },
  rerun: { figures: { p99Ratio: 2.5 } },
  budgets: [],
};

describe('benchmark history', () => {
  it('keeps the deciding figures of each scenario, rounded, in one line per run', () => {
    const run = results('2026-11-30T13:51:16.129Z', '861d677ad696fd9913bad5dfa67a47ebff456f05', [
      compareRecord('a', 1.0612345),
      compareRecord('b', 1.3, 1.2),
      experiment,
    ]);
    const line = historyLine(run);
    assert.equal(line.commit, '861d677ad696');
    assert.equal(line.durationMs, 1235);
    assert.deepEqual(line.environment, { node: 'v20.0.0', cpus: 2, loadavg1: 0.5123 });
    assert.deepEqual(line.scenarios.a!.ratio, { median: 1.061, q1: 1.051, q3: 1.071 });
    assert.equal(line.scenarios.b!.ratio!.median, 1.2, 'the re-measurement decides');
    assert.deepEqual(line.scenarios.exp!.figures, { p99Ratio: 2.5 }, 'the re-run decides');
    assert.ok(JSON.stringify(line).length < 600, 'a line stays compact');
    assert.equal(runLabel(line), '11-30 13:51 861d677');
  });

  it('appends lines and reads them back oldest first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    try {
      const file = join(dir, 'history.jsonl');
      await appendHistory(file, results('2026-12-02T10:00:00.000Z', 'bbbbbbb', [compareRecord('a', 1.1)]));
      await appendHistory(file, results('2026-12-01T10:00:00.000Z', 'aaaaaaa', [compareRecord('a', 1.05)]));
      assert.equal((await readFile(file, 'utf8')).trim().split('\n').length, 2);
      const lines = await readHistory(file);
      assert.deepEqual(
        lines.map((l) => l.commit),
        ['aaaaaaa', 'bbbbbbb'],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the line that is not a history line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'history-'));
    try {
      const file = join(dir, 'history.jsonl');
      await writeFile(
        file,
        `${JSON.stringify(historyLine(results('2026-12-01T10:00:00.000Z', 'a', [])))}\n{"x":1}\n`,
      );
      await assert.rejects(readHistory(file), /history\.jsonl:2: not a history line/);
      await writeFile(file, 'nope\n');
      await assert.rejects(readHistory(file), /history\.jsonl:1: not JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('charts each figure over the runs, with gaps where a run lacks it and the budget limit', () => {
    const lines = [
      historyLine(results('2026-12-01T10:00:00.000Z', 'aaaaaaa', [compareRecord('a', 1.1)])),
      historyLine(results('2026-12-02T10:00:00.000Z', 'bbbbbbb', [compareRecord('a', 1.05), experiment])),
    ];
    const budgets: Budget[] = [
      { id: 'a', scenario: 'a', metric: 'ratio', limit: 1.08, why: 'test' },
      { id: 'e', scenario: 'exp', metric: 'max', figure: 'p99Ratio', limit: 3, why: 'test' },
    ];
    const series = historySeries(lines, budgets);
    assert.deepEqual(series, [
      { label: 'a (ratio)', values: [1.1, 1.05], limit: 1.08 },
      { label: 'exp · p99Ratio', values: [undefined, 2.5], limit: 3 },
    ]);
    const svg = historyChart(series, lines.map(runLabel));
    assert.match(svg, /^<svg /);
    assert.match(svg, /a \(ratio\)/);
    assert.match(svg, /stroke-dasharray="5,3"/, 'the limit inside the row range is drawn');
    assert.equal((svg.match(/<polyline /g) ?? []).length, 1, 'one line for the series with two points');
  });

  it('the committed history parses and has one line per kept run', async () => {
    const lines = await readHistory(
      new URL('../../benchmarks/results/history.jsonl', import.meta.url).pathname,
    );
    assert.ok(lines.length >= 1);
    for (const line of lines) assert.ok(Object.keys(line.scenarios).length > 0, line.startedAt);
  });
});
