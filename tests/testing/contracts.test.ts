import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { memoryStore } from '../../src/stores/memory.js';
import { cacheStoreContract, rateLimitStoreContract } from '../../src/testing/index.js';

const run = promisify(execFile);

describe('the shipped contract suites', () => {
  it('run under vitest, registered through its describe/it', async () => {
    const manifest = createRequire(import.meta.url).resolve('vitest/package.json');
    const vitest = join(dirname(manifest), 'vitest.mjs');
    const config = fileURLToPath(new URL('./vitest/vitest.config.mts', import.meta.url));
    const { stdout } = await run(process.execPath, [vitest, 'run', '--config', config, '--reporter=json'], {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
    });
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      numPassedTests: number;
      numFailedTests: number;
      testResults: { assertionResults: { ancestorTitles: string[] }[] }[];
    };
    assert.equal(report.numFailedTests, 0);
    const suites = new Set(
      report.testResults.flatMap((f) => f.assertionResults.map((a) => a.ancestorTitles[0])),
    );
    assert.deepEqual([...suites].sort(), [
      'CacheStore contract: memory, under vitest',
      'RateLimitStore contract: memory, under vitest',
    ]);
    assert.ok(report.numPassedTests >= 15, `only ${report.numPassedTests} passed`);
  });

  it('say which option is missing when there is no runner and no global describe/it', () => {
    assert.throws(
      () => cacheStoreContract('x', () => memoryStore()),
      /cacheStoreContract: options\.runner must be the test runner's \{ describe, it \}/,
    );
    assert.throws(
      () =>
        rateLimitStoreContract('x', () => {
          throw new Error('never created');
        }),
      /rateLimitStoreContract: options\.runner must be/,
    );
  });
});
