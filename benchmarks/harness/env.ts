/**
 * The environment a result was measured in, saved with every results file so that two
 * files can be told apart (and not compared blindly across machines).
 */

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

/** Where and on what a benchmark ran. */
export interface Environment {
  /** `process.version`. */
  node: string;
  /** V8 version. */
  v8: string;
  /** `os.platform()` and `os.release()`. */
  os: string;
  /** CPU model. */
  cpu: string;
  /** Logical CPUs. */
  cpus: number;
  /** Total memory, in MiB. */
  memoryMiB: number;
  /** 1-minute load average when the run started (how busy the shared box was). */
  loadavg1: number;
  /** Git commit (full hash), or `unknown` outside a repository. */
  commit: string;
  /** True when the working tree had uncommitted changes. */
  dirty: boolean;
  /** Whether a full GC was available between blocks. */
  gc: boolean;
}

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Collects the {@link Environment}; `cwd` locates the git repository. */
export function describeEnvironment(cwd: string, gc: boolean): Environment {
  const cpuList = cpus();
  const status = git(['status', '--porcelain', '--untracked-files=no'], cwd);
  return {
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${release()}`,
    cpu: cpuList[0]?.model ?? 'unknown',
    cpus: cpuList.length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    loadavg1: loadavg()[0] ?? 0,
    commit: git(['rev-parse', 'HEAD'], cwd) ?? 'unknown',
    dirty: status !== undefined && status.length > 0,
    gc,
  };
}
