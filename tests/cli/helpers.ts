import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How to run the command line from source. */
export const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/index.ts')] as const;

/** `node -e <code>` as a child command: small servers and misbehaving children. */
export function nodeEval(code: string): string[] {
  return [process.execPath, '-e', code];
}

/** A temporary folder, removed by `cleanup()`. */
export async function tempDir(prefix = 'mcp-perf-cli-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes a config file in `dir` and returns its path. */
export async function writeConfig(dir: string, text: string, name = 'mcp-perf.yaml'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** A started CLI process with its output collected. */
export interface CliProcess {
  readonly process: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the first match of `pattern` in stderr. */
  waitForStderr(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or 128 + signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the CLI with `args`. `detached`: in a process group of its own, as a shell
 * starts a job, so that a signal to the group stands for a terminal's Ctrl-C.
 */
export function startCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; detached?: boolean } = {},
): CliProcess {
  const child = spawn(CLI[0], [...CLI.slice(1), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve(m: RegExpExecArray): void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.slice()) {
      const m = w.pattern.exec(err);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = once(child, 'exit').then(
    ([code, signal]) => ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null },
  );
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStderr(pattern) {
      const m = pattern.exec(err);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then(() => {
          const late = pattern.exec(err);
          if (late) resolve(late);
          else reject(new Error(`exited before ${pattern}; stderr:\n${err}`));
        });
      });
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}) {
  const cli = startCli(args, options);
  cli.process.stdin!.end();
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** A v1 stdio client transport that starts the proxy CLI; its stderr is collected. */
export function proxyTransport(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const transport = new StdioClientTransport({
    command: CLI[0],
    args: [...CLI.slice(1), 'proxy', ...args],
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), ...(env as Record<string, string>) },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return { transport, stderr: () => stderr };
}

/** True while a process with this id exists (or, for `-pgid`, while the group has a member). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process group of a running process (POSIX `ps`). */
export function processGroupOf(pid: number): number {
  return Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
}

/** Waits (polling every 20 ms, at most `limitMs`) until `pid` (or the group `-pgid`) is gone; true if it went. */
export async function gone(pid: number, limitMs = 10_000): Promise<boolean> {
  for (let waited = 0; waited < limitMs; waited += 20) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}
