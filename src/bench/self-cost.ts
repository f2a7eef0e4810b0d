/**
 * The bench tool's own cost per request: the same client and load generator driven
 * against a server that answers instantly in this process, so what is measured is the
 * tool (SDK client, request drawing, bookkeeping) and nothing else. Reported beside the
 * results so that nobody budgets a figure the tool itself dominates.
 */

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JsonRpcMessage } from '../core/types.js';
import { type CompiledWorkload, runLoad } from '../load/index.js';

/** What {@link measureSelfCost} found. */
export interface SelfCost {
  /** Requests measured. */
  requests: number;
  /** Median round trip through the tool against an instant server, in µs. */
  p50Us: number;
  /** Mean round trip, in µs. */
  meanUs: number;
  /** CPU time (user + system) of this process per request, in µs. */
  cpuUsPerRequest: number;
}

function resultFor(method: string, params: Record<string, unknown> | undefined): Record<string, unknown> {
  switch (method) {
    case 'initialize':
      return {
        protocolVersion: params?.protocolVersion ?? '2025-06-18',
        capabilities: { tools: {}, resources: {}, prompts: {} },
        serverInfo: { name: 'mcp-perf-instant', version: '1.0.0' },
      };
    case 'tools/list':
      return { tools: [] };
    case 'resources/list':
      return { resources: [] };
    case 'resources/templates/list':
      return { resourceTemplates: [] };
    case 'prompts/list':
      return { prompts: [] };
    case 'resources/read':
      return { contents: [{ uri: String(params?.uri ?? 'x:'), text: 'ok' }] };
    case 'prompts/get':
      return { messages: [] };
    case 'tools/call':
      return { content: [{ type: 'text', text: 'ok' }] };
    default:
      return {};
  }
}

/** A client connected to a server that answers every request at once with a minimal valid result. */
async function instantClient(): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  serverSide.onmessage = (message) => {
    const m = message as JsonRpcMessage & {
      id?: string | number;
      method?: string;
      params?: Record<string, unknown>;
    };
    if (m.id === undefined || m.method === undefined) return;
    void serverSide.send({ jsonrpc: '2.0', id: m.id, result: resultFor(m.method, m.params) } as never);
  };
  await serverSide.start();
  const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

/**
 * Runs `requests` sequential requests of `workload` against an instant in-process server
 * and reports the tool's latency floor and CPU per request.
 */
export async function measureSelfCost(workload: CompiledWorkload, requests = 2_000): Promise<SelfCost> {
  const client = await instantClient();
  try {
    // Warm the JIT on the same path first, as long as the measurement: with a shorter
    // warm-up the first measurement in a process counts compilation several times over.
    await runLoad({
      target: { client },
      concurrency: 1,
      maxRequests: requests,
      durationMs: 60_000,
      workload,
    });
    const cpu = process.cpuUsage();
    const r = await runLoad({
      target: { client },
      concurrency: 1,
      maxRequests: requests,
      durationMs: 60_000,
      workload,
    });
    const used = process.cpuUsage(cpu);
    return {
      requests: r.sent,
      p50Us: r.serviceTimeMs.p50 * 1000,
      meanUs: r.serviceTimeMs.mean * 1000,
      cpuUsPerRequest: (used.user + used.system) / Math.max(1, r.sent),
    };
  } finally {
    await client.close();
  }
}
