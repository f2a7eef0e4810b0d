/**
 * In-memory replicas for the pool tests: each `transport()` call is a new connection
 * (a new SDK v1 `McpServer` on one end of a linked pair), and every connection of one
 * replica shares its counters and its switches.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { McpTransport } from '../../src/index.js';
import type { UpstreamPool } from '../../src/pool/index.js';

export interface Replica {
  readonly name: string;
  /** Calls per tool. */
  readonly calls: Record<string, number>;
  /** `write` ids executed here. */
  readonly writes: string[];
  /** `initialize` requests seen. */
  initializes: number;
  /** Requests the replica saw cancelled. */
  cancelled: number;
  /** Extra delay of `read` and `write`, in ms. */
  delayMs: number;
  /** When set, sending to this replica fails as if the connection were refused. */
  refuse: boolean;
  /** When set, `write` runs and then the connection drops before the answer. */
  dropAfterWrite: boolean;
  /** Every connection opened to it. */
  readonly connections: InMemoryTransport[];
  /** Connections the pool closed. */
  closed: number;
  /** The pool's view of it. */
  readonly spec: { name: string; transport: () => McpTransport };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

function refused(): Error {
  const error = new Error('connect ECONNREFUSED 127.0.0.1:1') as Error & { code: string };
  error.code = 'ECONNREFUSED';
  return error;
}

export function replica(name: string): Replica {
  const r: Replica = {
    name,
    calls: {},
    writes: [],
    initializes: 0,
    cancelled: 0,
    delayMs: 0,
    refuse: false,
    dropAfterWrite: false,
    connections: [],
    closed: 0,
    spec: {
      name,
      transport: () => {
        const [client, server] = InMemoryTransport.createLinkedPair();
        const mcp = new McpServer({ name, version: '1.0.0' });
        const count = (tool: string) => {
          r.calls[tool] = (r.calls[tool] ?? 0) + 1;
        };
        const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
        mcp.registerTool('whoami', { inputSchema: {}, annotations: { readOnlyHint: true } }, async () => {
          count('whoami');
          return text(name);
        });
        mcp.registerTool(
          'read',
          { inputSchema: { key: z.string().optional() }, annotations: { readOnlyHint: true } },
          async (_args, extra) => {
            count('read');
            await sleep(r.delayMs, extra.signal);
            if (extra.signal.aborted) r.cancelled++;
            return text(name);
          },
        );
        mcp.registerTool('write', { inputSchema: { id: z.string() } }, async ({ id }, extra) => {
          count('write');
          await sleep(r.delayMs, extra.signal);
          if (extra.signal.aborted) r.cancelled++;
          r.writes.push(id);
          if (r.dropAfterWrite) {
            await client.close();
            return text(name);
          }
          return text(name);
        });
        // The SDK sets onmessage before it starts the transport: count handshakes there.
        const start = server.start.bind(server);
        server.start = async () => {
          const inner = server.onmessage;
          server.onmessage = (message, extra) => {
            if ((message as { method?: string }).method === 'initialize') r.initializes++;
            inner?.(message, extra);
          };
          return start();
        };
        void mcp.connect(server);
        const send = client.send.bind(client);
        client.send = async (message, options) => {
          if (r.refuse) throw refused();
          return send(message, options);
        };
        const close = client.close.bind(client);
        let closed = false;
        client.close = async () => {
          if (!closed) r.closed++;
          closed = true;
          return close();
        };
        r.connections.push(client);
        return client;
      },
    },
  };
  return r;
}

/** A v1 client connected through the pool. */
export async function clientOf(pool: UpstreamPool, key?: string): Promise<Client> {
  const client = new Client({ name: 'pool-test', version: '1.0.0' });
  await client.connect(pool.transport({ key }));
  return client;
}

/** The text of a tool result. */
export function textOf(result: unknown): string {
  return ((result as { content: { text: string }[] }).content[0] as { text: string }).text;
}

/** Tallies replica names. */
export function tally(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** Calls `whoami` `n` times in a row; the names that answered. */
export async function whoami(client: Client, n: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
  return names;
}
