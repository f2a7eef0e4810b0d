/**
 * What `mcp-perf bench` measures: a server started as a command (stdio), a Streamable
 * HTTP URL, or a module exporting a server factory (run in this process over an
 * in-memory pair), each either bare or through the proxy with a middleware stack.
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createProxy } from '../adapters/proxy.js';
import type { McpTransport } from '../adapters/transport.js';
import type { Middleware } from '../core/types.js';
import { InvalidOptionError } from '../errors/index.js';
import { type LoadTarget, type StdioCommand, stdioTransport, validateTarget } from '../load/target.js';

/** A server that can be connected to: an SDK `McpServer` or `Server` (anything with `connect(transport)`). */
export interface ConnectableServer {
  /** Connects the server to a transport. */
  connect(transport: never): Promise<void>;
  /** Closes the server. */
  close?(): Promise<void>;
}

/** What `mcp-perf bench` drives. */
export type BenchTarget =
  | {
      /** Start this command (a command line, or its parts) and speak MCP over its stdin/stdout. */
      stdio: StdioCommand;
    }
  | {
      /** A Streamable HTTP endpoint (loopback only unless `allowRemote`). */
      url: string;
    }
  /**
   * A module (path or URL) exporting a server factory: `createServer` or the default
   * export, a function returning (a promise of) an SDK server. Its server runs in this
   * process, so the bench tool's own cost shares the CPU with it.
   */
  | {
      /** The module's path or URL. */
      module: string;
      /** The factory's export name. Default: `createServer`, else `default`. */
      export?: string;
    }
  | {
      /** A server factory, for the programmatic API. */
      factory: () => ConnectableServer | Promise<ConnectableServer>;
      /** The name reports use. Default `server factory`. */
      label?: string;
    };

/** A connected target. */
export interface OpenBenchTarget {
  /** The client the measurements use. */
  client: Client;
  /** Closes the client, the proxy and whatever was started. */
  close(): Promise<void>;
}

/** A human-readable name of the target. */
export function describeBenchTarget(target: BenchTarget): string {
  if ('url' in target) return target.url;
  if ('module' in target) return `module: ${target.module}${target.export ? `#${target.export}` : ''}`;
  if ('factory' in target) return target.label ?? 'server factory';
  return typeof target.stdio === 'string'
    ? `stdio: ${target.stdio}`
    : `stdio: ${[target.stdio.command, ...(target.stdio.args ?? [])].join(' ')}`;
}

/** Checks a target before anything starts; errors name `option` (e.g. `target.url`). */
export function validateBenchTarget(target: BenchTarget, allowRemote: boolean, option = 'target'): void {
  if (typeof target !== 'object' || target === null) {
    throw new InvalidOptionError('runBench', option, '{ stdio }, { url }, { module } or { factory }', target);
  }
  if ('module' in target) {
    if (typeof target.module !== 'string' || target.module.length === 0) {
      throw new InvalidOptionError('runBench', `${option}.module`, 'a module path', target.module);
    }
    return;
  }
  if ('factory' in target) {
    if (typeof target.factory !== 'function') {
      throw new InvalidOptionError(
        'runBench',
        `${option}.factory`,
        'a function returning a server',
        target.factory,
      );
    }
    return;
  }
  try {
    validateTarget(target as LoadTarget, allowRemote);
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      throw new InvalidOptionError(
        'runBench',
        error.option.replace(/^target/, option),
        error.message.replace(/^.*? must be /, '').replace(/ \(got .*\)$/s, ''),
        'url' in target ? target.url : (target as { stdio?: unknown }).stdio,
      );
    }
    throw error;
  }
}

async function loadFactory(target: { module: string; export?: string }): Promise<() => unknown> {
  const url = /^[a-z]+:/i.test(target.module) ? target.module : pathToFileURL(resolve(target.module)).href;
  const mod = (await import(url)) as Record<string, unknown>;
  const name = target.export ?? (typeof mod.createServer === 'function' ? 'createServer' : 'default');
  const factory = mod[name];
  if (typeof factory !== 'function') {
    throw new InvalidOptionError(
      'runBench',
      'target.export',
      `the name of a function exported by ${target.module} (it exports: ${Object.keys(mod).join(', ') || 'nothing'})`,
      name,
    );
  }
  return factory as () => unknown;
}

/** Opens the transport that reaches the server (for a factory: starts the server in this process). */
async function upstreamOf(
  target: BenchTarget,
): Promise<{ transport: McpTransport; close: () => Promise<void> }> {
  if ('url' in target) {
    return { transport: new StreamableHTTPClientTransport(new URL(target.url)), close: async () => {} };
  }
  if ('stdio' in target) return { transport: stdioTransport(target.stdio), close: async () => {} };
  const factory = 'factory' in target ? target.factory : await loadFactory(target);
  const server = (await factory()) as ConnectableServer;
  if (typeof server?.connect !== 'function') {
    throw new InvalidOptionError(
      'runBench',
      'module' in target ? 'target.module' : 'target.factory',
      'a factory returning an MCP server (an object with connect())',
      server,
    );
  }
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide as never);
  return { transport: clientSide, close: async () => void (await server.close?.()) };
}

/**
 * Connects a client to the target: directly (`stack` undefined), or through an
 * in-process proxy (`createProxy`) that runs `stack` between the client and the server.
 */
export async function openBenchTarget(
  target: BenchTarget,
  stack?: readonly Middleware[],
): Promise<OpenBenchTarget> {
  const upstream = await upstreamOf(target);
  const client = new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
  if (stack === undefined) {
    try {
      await client.connect(upstream.transport as never);
    } catch (error) {
      await upstream.close();
      throw error;
    }
    return {
      client,
      async close() {
        await client.close();
        await upstream.close();
      },
    };
  }
  const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
  const proxy = createProxy({ downstream: proxySide, upstream: upstream.transport, stack });
  try {
    await proxy.start();
    await client.connect(clientSide);
  } catch (error) {
    await proxy.close();
    await upstream.close();
    throw error;
  }
  return {
    client,
    async close() {
      await client.close();
      await proxy.close();
      await upstream.close();
    },
  };
}
