import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { JsonObject, JsonRpcError, JsonRpcMessage, RequestId } from '../../src/index.js';
import { type Deferred, deferred } from './servers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Path of a child-process fixture under tests/integration/fixtures. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../integration/fixtures/${name}`, import.meta.url));
}

/** How to start a fixture: `node --import tsx <fixture>` from the repository root. */
export function fixtureCommand(name: string, env: Record<string, string> = {}) {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', fixturePath(name)],
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), ...env },
  };
}

/** A v1 `StdioClientTransport` to a fixture; its stderr is captured, not inherited. */
export function fixtureTransport(name: string, env: Record<string, string> = {}) {
  const transport = new StdioClientTransport({ ...fixtureCommand(name, env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  return { transport, stderr: () => stderr };
}

/** A response as read from the child's stdout. */
export interface RawResponse {
  jsonrpc: '2.0';
  id: RequestId;
  result?: JsonObject;
  error?: JsonRpcError;
}

/**
 * A fixture spawned by hand, so a test sees every byte of its stdout: each line is
 * recorded, parsed when it is JSON, and responses settle the matching `request()`.
 */
export class RawChild {
  readonly process: ChildProcessWithoutNullStreams;
  /** Every stdout line, as written. */
  readonly lines: string[] = [];
  stderr = '';
  private pending: string[] = [];
  private readonly waiting = new Map<string | number, Deferred<RawResponse>>();

  constructor(name: string, env: Record<string, string> = {}) {
    const { command, args, cwd, env: fullEnv } = fixtureCommand(name, env);
    this.process = spawn(command, args, { cwd, env: fullEnv });
    this.process.stdout.on('data', (chunk: Buffer) => this.onData(chunk.toString('utf8')));
    this.process.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
  }

  private onData(text: string): void {
    // Only the new chunk is searched for line ends, so a multi-megabyte line costs linear time.
    let newline = text.indexOf('\n');
    if (newline === -1) {
      this.pending.push(text);
      return;
    }
    let start = 0;
    while (newline !== -1) {
      this.pending.push(text.slice(start, newline));
      this.onLine(this.pending.join(''));
      this.pending = [];
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) this.pending.push(text.slice(start));
  }

  private onLine(line: string): void {
    this.lines.push(line);
    let message: JsonRpcMessage | undefined;
    try {
      message = JSON.parse(line) as JsonRpcMessage;
    } catch {
      message = undefined;
    }
    if (message !== undefined && 'id' in message && !('method' in message)) {
      this.waiting.get(message.id)?.resolve(message as RawResponse);
      this.waiting.delete(message.id);
    }
  }

  /** Writes raw text to the child's stdin. */
  write(text: string): void {
    this.process.stdin.write(text);
  }

  /** Writes one JSON-RPC message as a line. */
  send(message: unknown): void {
    this.write(`${JSON.stringify(message)}\n`);
  }

  /** Sends a request and resolves with the response carrying its id. */
  request(id: string | number, method: string, params?: Record<string, unknown>): Promise<RawResponse> {
    const answer = deferred<RawResponse>();
    this.waiting.set(id, answer);
    this.send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    return answer.promise;
  }

  /** Runs the legacy handshake. */
  async initialize(): Promise<RawResponse> {
    const reply = await this.request('init', 'initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'raw', version: '1.0.0' },
    });
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return reply;
  }

  /** Lines of stdout that are not JSON-RPC 2.0 messages (should be none). */
  strayLines(): string[] {
    return this.lines.filter((line) => {
      try {
        const parsed = JSON.parse(line) as { jsonrpc?: unknown };
        return parsed.jsonrpc !== '2.0';
      } catch {
        return true;
      }
    });
  }

  /** Closes stdin and waits for the child to exit; resolves with its exit code. */
  async close(): Promise<number | null> {
    if (this.process.exitCode !== null) return this.process.exitCode;
    const exited = once(this.process, 'exit');
    this.process.stdin.end();
    const [code] = (await exited) as [number | null];
    return code;
  }
}
