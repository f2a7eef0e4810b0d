/**
 * A throwaway `redis-server` on a free port, for tests that stop, restart or load Redis:
 * never the shared one. Data lives in a temporary directory, so a restart after
 * `stop({ save: true })` finds what was there (the way a Redis with persistence comes back).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Starts the server (again, on the same port and directory). */
  start(): Promise<void>;
  /** Stops it; with `save`, writes its data first so the next start loads it. */
  stop(options?: { save?: boolean }): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/** Why tests needing their own Redis cannot run here, or `undefined` when they can. */
export function ownRedisUnavailable(): string | undefined {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'redis-server is not installed';
  }
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** True when a Redis server on 127.0.0.1:`port` answers PING. */
export async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.write('PING\r\n');
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
    });
    socket.once('error', () => resolve(false));
  });
}

/** Spawns a `redis-server` on a free port and waits until it answers. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mcp-perf-redis-'));
  let child: ChildProcess | undefined;
  const own: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 200; i++) {
        if (await answers(port)) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`redis-server on port ${port} did not start`);
    },
    async stop({ save = false } = {}) {
      const running = child;
      if (running === undefined || running.exitCode !== null) return;
      child = undefined;
      const exited = once(running, 'exit');
      await new Promise<void>((resolve) => {
        const socket = createConnection({ port, host: '127.0.0.1' }, () => {
          socket.end(save ? 'SHUTDOWN SAVE\r\n' : 'SHUTDOWN NOSAVE\r\n');
        });
        socket.on('close', () => resolve());
        socket.on('error', () => {
          running.kill('SIGKILL');
          resolve();
        });
      });
      await exited;
    },
    async dispose() {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}

/** A TCP relay to Redis that can be cut and restored: a network partition of the clients using it. */
export interface Partition {
  readonly url: string;
  /** Drops every connection and refuses new ones until {@link Partition.heal}. */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startPartition(targetPort: number): Promise<Partition> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((inbound) => {
    if (!open) {
      inbound.destroy();
      return;
    }
    const outbound = createConnection({ port: targetPort, host: '127.0.0.1' });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    heal() {
      open = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
