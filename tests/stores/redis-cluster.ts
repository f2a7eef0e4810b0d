/**
 * A throwaway Redis Cluster of three primaries for the cluster tests: three `redis-server`
 * processes with `--cluster-enabled yes` on free ports, joined by
 * `redis-cli --cluster create … --cluster-replicas 0`. Each node keeps its cluster config
 * in a temporary directory, removed on {@link OwnCluster.dispose}.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { answers, freePort } from './redis-server.js';

const run = promisify(execFile);

export interface OwnCluster {
  readonly ports: readonly number[];
  /** `{ url }` of each primary, as `createCluster({ rootNodes })` takes them. */
  readonly rootNodes: { url: string }[];
  /** Stops every node and removes their directories. */
  dispose(): Promise<void>;
}

/** Why the cluster tests cannot run here, or `undefined` when they can. */
export function ownClusterUnavailable(): string | undefined {
  for (const binary of ['redis-server', 'redis-cli']) {
    try {
      execFileSync(binary, ['--version'], { stdio: 'ignore' });
    } catch {
      return `${binary} is not installed`;
    }
  }
  return undefined;
}

/** One line of `redis-cli -p port …`'s answer. */
async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

/**
 * Starts three primaries (on `ports` when given, e.g. ones a client already tries to reach),
 * joins them and waits until every node reports the cluster `ok`.
 */
export async function startOwnCluster(ports?: readonly number[]): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-perf-cluster-'));
  ports ??= [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const dispose = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      children.push(
        spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--save',
            '',
            '--appendonly',
            'no',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            '2000',
            '--dir',
            dir,
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports) {
      let up = false;
      for (let i = 0; i < 200 && !up; i++) {
        up = await answers(port);
        if (!up) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (!up) throw new Error(`redis-server on port ${port} did not start`);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (let i = 0; i < 200; i++) {
      const states = await Promise.all(ports.map((p) => cli(p, 'CLUSTER', 'INFO')));
      if (states.every((s) => s.includes('cluster_state:ok'))) {
        return {
          ports,
          rootNodes: ports.map((p) => ({ url: `redis://127.0.0.1:${p}` })),
          dispose,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the cluster did not reach cluster_state:ok');
  } catch (error) {
    await dispose();
    throw error;
  }
}
