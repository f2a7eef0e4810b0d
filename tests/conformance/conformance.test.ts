/**
 * The official MCP conformance suite must not be able to tell a server wrapped by the
 * pipeline from the bare server (see compare.ts). Needs a Node >= 22 binary for the
 * CLI: installed from npm on demand; without a registry the test fails in CI and is
 * skipped, with the reason, elsewhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compareConformance,
  ensureNode24,
  formatComparison,
  MODES,
  Node24UnavailableError,
  TRANSPORTS,
} from './compare.js';

test('the conformance suite sees the same server bare, with an empty stack and with every middleware', {
  timeout: 600_000,
}, async (t) => {
  try {
    await ensureNode24((line) => t.diagnostic(line));
  } catch (error) {
    if (error instanceof Node24UnavailableError && !process.env.CI) {
      const reason = `no Node >= 22 for the conformance CLI: ${error.message}`;
      console.log(`skipping: ${reason}`);
      t.skip(reason);
      return;
    }
    throw error;
  }

  const comparison = await compareConformance({ log: (line) => t.diagnostic(line) });
  const report = formatComparison(comparison);
  for (const line of report.split('\n')) t.diagnostic(line);

  assert.deepEqual(comparison.problems, [], report);
  // Every server scenario ran on every transport, in every mode.
  const scenarios = new Set(comparison.rows.map((row) => row.scenario));
  assert.ok(scenarios.size >= 30, `only ${scenarios.size} scenarios ran`);
  assert.equal(comparison.rows.length, scenarios.size * TRANSPORTS.length);
  for (const row of comparison.rows) {
    assert.deepEqual(Object.keys(row.runs).sort(), [...MODES].sort(), `${row.transport}/${row.scenario}`);
    assert.ok(row.identical, `${row.transport}/${row.scenario} differs between modes`);
  }
  // The full stack really was in the path of the traffic.
  for (const transport of TRANSPORTS) {
    const count = comparison.traffic[transport];
    assert.ok((count.requests.get('tools/call') ?? 0) > 0, `${transport}: no tools/call crossed the stack`);
    assert.ok(count.notifications > 0, `${transport}: no notification crossed the stack`);
  }
});
