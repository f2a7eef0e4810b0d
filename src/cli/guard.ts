/**
 * Spawning a child server that cannot outlive the proxy. Node has no parent-death signal,
 * and a proxy killed with SIGKILL runs no handler; the child would notice only if it
 * reads its stdin, and its own children not at all. So on POSIX the child starts in a
 * process group (a session) of its own, through `/bin/sh`, which first forks a guard into
 * that group and then execs the command: the child keeps the pid, exit status and signals
 * of a direct spawn.
 *
 * The guard blocks reading a socket whose other end only the proxy holds. A line (written
 * once the child has exited) lets it go quietly. End of file, which the kernel delivers
 * however the proxy ends, makes it send SIGTERM to the group, wait the grace period, then
 * send SIGKILL to the group, itself included.
 *
 * The guard is a member of the group it signals, so the group's id cannot be reused while
 * it waits: its signals reach the child and its descendants and nothing else. It ignores
 * SIGTERM, SIGINT and SIGHUP, so signals meant for the child do not end it early. The
 * double fork leaves it a child of init, not of the server, which never sees an unknown
 * child exit.
 *
 * On Windows, or when the command cannot be resolved on PATH the way the shell would
 * (Node then reports ENOENT or EACCES itself), the child is spawned directly, unguarded.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Writable } from 'node:stream';
import { noop } from '../internal/noop.js';

/**
 * `$1` is the grace period in seconds, the rest the command. The guard reads fd 3; the
 * command gets no fd 3. `$$` is the pid of the shell, which becomes the command's.
 */
const GUARD_SCRIPT = `grace=$1; shift
( ( trap '' HUP INT TERM
    read -r line <&3 && exit 0
    kill -s TERM -- -$$
    sleep "$grace"
    kill -s KILL -- -$$ ) </dev/null >/dev/null 2>&1 & )
exec "$@" 3<&-`;

/** A spawned child server. */
export interface ServerProcess {
  readonly process: ChildProcess;
  /** Sends `signal` to the child's process group when guarded, else to the child. Call only while it runs. */
  killGroup(signal: NodeJS.Signals): void;
  /** Tells the guard the child has exited, so it leaves without signalling. */
  release(): void;
}

/**
 * Spawns `command` with stdin and stdout piped and stderr inherited, guarded on POSIX.
 * @param graceMs - how long the guard waits between SIGTERM and SIGKILL
 */
export function spawnServer(command: string, args: readonly string[], graceMs: number): ServerProcess {
  const env = process.env;
  if (process.platform === 'win32' || !resolvable(command, env.PATH)) {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
    return {
      process: child,
      killGroup: (signal) => child.kill(signal),
      release: noop,
    };
  }
  const child = spawn(
    '/bin/sh',
    ['-c', GUARD_SCRIPT, 'mcp-perf-guard', (graceMs / 1000).toFixed(3), command, ...args],
    { stdio: ['pipe', 'pipe', 'inherit', 'pipe'], env, detached: true },
  );
  const guard = child.stdio[3] as Writable | null;
  // The guard may be gone (SIGKILLed with the group) when we write.
  guard?.on('error', noop);
  return {
    process: child,
    killGroup: (signal) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        child.kill(signal);
      }
    },
    release: () => guard?.end('exited\n'),
  };
}

/** True when `command` names an executable file, directly or on `path`, as execvp would find it. */
function resolvable(command: string, path: string | undefined): boolean {
  if (command.includes('/')) return isExecutableFile(command);
  // Without PATH the shell and libuv fall back to different defaults.
  if (path === undefined) return false;
  return path.split(delimiter).some((dir) => isExecutableFile(join(dir || '.', command)));
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
