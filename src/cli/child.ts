/**
 * The child server behind a stdio proxy: spawned with the proxy's environment, its
 * stderr passed through, its exit reported with code or signal, and never left running.
 * The proxy spawns it itself (rather than through the SDK's StdioClientTransport) to
 * own the signals: forward SIGINT/SIGTERM as they are, escalate to SIGKILL (for the
 * child's whole process group) after a grace period, and learn the exit code the proxy
 * must exit with. A guard ends the child's group if the proxy dies without doing so
 * (see guard.ts).
 */

import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { type ServerProcess, spawnServer } from './guard.js';
import { LineTransport } from './stdio.js';

/** How a child ended. */
export interface ChildExit {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/** The shell convention: the code, or 128 + the signal's number. */
export function exitCodeOf(exit: ChildExit): number {
  if (exit.code !== null) return exit.code;
  const number = exit.signal === null ? undefined : constants.signals[exit.signal];
  return number === undefined ? 1 : 128 + number;
}

/** A spawned child server and its stdio transport. */
export class ChildServer {
  /** The transport over the child's stdin/stdout. */
  readonly transport: LineTransport;
  /** Resolves when the child has exited (or failed to start). */
  readonly exited: Promise<ChildExit>;
  /** The child's process id. */
  readonly pid: number | undefined;
  private readonly server: ServerProcess;
  private readonly process: ChildProcess;
  private exit: ChildExit | undefined;
  private killTimer: NodeJS.Timeout | undefined;

  /**
   * @param command - the executable
   * @param args - its arguments
   * @param graceMs - how long a child is given to exit before the next, harder signal
   * @param onSpawnError - told when the command cannot be started (e.g. not found)
   */
  constructor(
    command: string,
    args: readonly string[],
    private readonly graceMs: number,
    onSpawnError: (error: Error) => void,
  ) {
    this.server = spawnServer(command, args, graceMs);
    this.process = this.server.process;
    this.pid = this.process.pid;
    this.transport = new LineTransport(this.process.stdout!, this.process.stdin!, 'child');
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        clearTimeout(this.killTimer);
        this.server.release();
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.process.once('error', (error) => {
        onSpawnError(error);
        if (this.process.pid === undefined) {
          this.exit = { code: 127, signal: null };
          resolve(this.exit);
        }
      });
    });
    // A child that exits while we write must not crash the proxy with EPIPE.
    this.process.stdin!.on('error', () => {});
  }

  /** True until the child has exited. */
  get running(): boolean {
    return this.exit === undefined && this.pid !== undefined;
  }

  /** Sends a signal to the child, if it is still running; SIGKILL goes to its whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    if (signal === 'SIGKILL') this.server.killGroup(signal);
    else this.process.kill(signal);
  }

  /**
   * Ends the child: closes its stdin (the MCP way to ask a stdio server to exit), sends
   * `signal` if it has not exited after the grace period, and SIGKILL after another.
   * Resolves when it has exited.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ChildExit> {
    if (!this.running) return this.exited;
    this.process.stdin!.end();
    this.escalate([signal, 'SIGKILL']);
    return this.exited;
  }

  /** Sends `signal` now and SIGKILL if the child is still running after the grace period. */
  forward(signal: NodeJS.Signals): Promise<ChildExit> {
    this.signal(signal);
    clearTimeout(this.killTimer);
    this.escalate(['SIGKILL']);
    return this.exited;
  }

  private escalate(signals: NodeJS.Signals[]): void {
    const [first, ...rest] = signals;
    if (first === undefined || !this.running) return;
    this.killTimer = setTimeout(() => {
      this.signal(first);
      this.escalate(rest);
    }, this.graceMs);
    this.killTimer.unref();
  }
}
