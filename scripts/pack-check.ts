/**
 * Checks the package as users get it: packs the tarball, installs it into a fresh
 * folder (with the SDK, as a user's project has it), and there runs
 * `npx mcp-perf bench --help`, the CI example of `examples/ci/` (it must pass its
 * budgets), a run with a budget it cannot meet (exit 1, the budget named), and the
 * contract suites of `mcp-perf/testing` under node:test and under vitest.
 *
 * Usage: `tsx scripts/pack-check.ts [--no-build]` (`--no-build` when dist/ is fresh,
 * as it is right after `npm run bench:check`). Exit status 0 when everything holds.
 */

import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function lockedVersion(name: string): Promise<string> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

const problems: string[] = [];
function check(what: string, ok: boolean, detail: Outcome | string): void {
  const text =
    typeof detail === 'string'
      ? detail
      : `exit ${detail.code}\n${detail.stdout.slice(-2000)}\n${detail.stderr.slice(-2000)}`;
  process.stderr.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  if (!ok) problems.push(`${what}: ${text}`);
}

const NODE_TEST_FILE = `import { describe, it } from 'node:test';
import { memoryStore } from 'mcp-perf';
import { cacheStoreContract } from 'mcp-perf/testing';
cacheStoreContract('memory, from the package', ({ now }) => memoryStore({ clock: now }), {
  runner: { describe, it },
  countsLocally: true,
});
`;

// vitest with --globals: the suite finds describe/it itself.
const VITEST_FILE = `import { MemoryRateLimitStore, memoryStore } from 'mcp-perf';
import { cacheStoreContract, rateLimitStoreContract } from 'mcp-perf/testing';
cacheStoreContract('memory, from the package, vitest', ({ now }) => memoryStore({ clock: now }), { countsLocally: true });
rateLimitStoreContract('memory, from the package, vitest', () => new MemoryRateLimitStore());
`;

async function main(): Promise<number> {
  const build = !process.argv.includes('--no-build');
  const dir = await mkdtemp(join(tmpdir(), 'mcp-perf-pack-'));
  try {
    if (build) {
      const built = await sh('npm', ['run', 'build'], ROOT, 300_000);
      check('npm run build', built.code === 0, built);
      if (built.code !== 0) return 1;
    }
    const packed = await sh('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], ROOT);
    check('npm pack', packed.code === 0, packed);
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) return 1;
    const project = join(dir, 'project');
    await sh('mkdir', ['-p', project], dir);
    await writeFile(
      join(project, 'package.json'),
      `${JSON.stringify({ name: 'user-project', private: true, type: 'module' })}\n`,
    );
    const deps = [
      join(dir, tarball),
      `@modelcontextprotocol/sdk@${await lockedVersion('@modelcontextprotocol/sdk')}`,
      `zod@${await lockedVersion('zod')}`,
    ];
    const installed = await sh(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', ...deps],
      project,
      300_000,
    );
    check('npm install of the tarball into a fresh folder', installed.code === 0, installed);
    if (installed.code !== 0) return 1;

    const help = await sh('npx', ['--no-install', 'mcp-perf', 'bench', '--help'], project);
    check(
      'npx mcp-perf bench --help',
      help.code === 0 && help.stdout.includes('Usage: mcp-perf bench'),
      help,
    );

    for (const file of ['server.mjs', 'workload.json', 'budgets.json', 'mcp-perf.yaml']) {
      await copyFile(join(ROOT, 'examples', 'ci', file), join(project, file));
    }
    const example = await sh(
      'npx',
      [
        '--no-install',
        'mcp-perf',
        'bench',
        '--stdio',
        'node server.mjs',
        '--baseline',
        'node server.mjs',
        '--workload',
        'workload.json',
        '--budgets',
        'budgets.json',
        '--config',
        'mcp-perf.yaml',
        '--duration',
        '1s',
        '--out',
        'bench-results',
      ],
      project,
    );
    check('the CI example passes its budgets', example.code === 0, example);
    const junit = await readFile(join(project, 'bench-results', 'junit.xml'), 'utf8').catch(() => '');
    check(
      'the CI example wrote junit.xml',
      junit.includes('<testsuite name="mcp-perf bench"'),
      junit.slice(0, 500),
    );

    await writeFile(
      join(project, 'breach.json'),
      JSON.stringify([{ id: 'a budget nobody meets', metric: 'throughput', min: 1e9 }]),
    );
    const breach = await sh(
      'npx',
      [
        '--no-install',
        'mcp-perf',
        'bench',
        '--stdio',
        'node server.mjs',
        '--workload',
        'workload.json',
        '--budgets',
        'breach.json',
        '--requests',
        '100',
        '--quiet',
      ],
      project,
    );
    check(
      'a breach exits 1 and names the budget',
      breach.code === 1 && breach.stderr.includes('budget breached: a budget nobody meets'),
      breach,
    );

    await writeFile(join(project, 'store-node.test.mjs'), NODE_TEST_FILE);
    const nodeTest = await sh(process.execPath, ['--test', 'store-node.test.mjs'], project);
    check(
      'the cache-store contract from the package under node:test',
      nodeTest.code === 0 && /# pass [1-9]/.test(nodeTest.stdout),
      nodeTest,
    );

    await writeFile(join(project, 'store-vitest.test.mjs'), VITEST_FILE);
    const vitest = join(dirname(fileURLToPath(import.meta.resolve('vitest/package.json'))), 'vitest.mjs');
    const vitestRun = await sh(
      process.execPath,
      [vitest, 'run', '--globals', '--root', project, 'store-vitest'],
      project,
    );
    check(
      'the contract suites from the package under vitest',
      vitestRun.code === 0 && /Tests\s+\d+ passed/.test(vitestRun.stdout),
      vitestRun,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    process.stderr.write(`\n${problems.join('\n\n')}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
