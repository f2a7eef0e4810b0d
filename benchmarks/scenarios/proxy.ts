/**
 * What `mcp-perf proxy` adds, measured against the direct connection in the same run.
 *
 * - `proxy.stdio`: a client talking stdio to the echo server (a child process), against
 *   the same client talking stdio to the proxy, which talks stdio to the same server as
 *   its child. Both ends are the real command line (`node dist/cli/index.js proxy -- …`):
 *   over stdio the proxy *is* a process hop, so the process is what is measured.
 * - `proxy.http` / `proxy.http-stateless`: a client talking Streamable HTTP to the echo
 *   server (in this process), against the same client talking to `proxy --listen
 *   127.0.0.1:0 --upstream <server>` (a process of its own, as it is deployed), stateful
 *   and stateless.
 * - `proxy.upstream-pool.http`: the proxy's upstream side alone, run in-process through
 *   `createProxy` (a CLI process would only add scheduling noise to a comparison of two
 *   fetch functions): one undici `Agent` keeping connections alive, against a fresh
 *   connection per request.
 *
 * The proxy runs with no config (an empty stack), so the figures are the hop itself.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { createProxy, type McpProxy } from 'mcp-perf';
import {
  type Connected,
  childEnvironment,
  connectHttp,
  createFixtureServer,
  type HostedHttp,
  SLOW_SERVER_SCRIPT,
  serveHttp,
} from '../fixtures/servers.js';
import type { Variant } from '../harness/compare.js';
import type { ScenarioSet } from '../harness/types.js';

/** The compiled command line, as `npx mcp-perf` runs it. */
const CLI = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

/**
 * The CLI's upstream fetches, compiled like the rest of the benchmarked code (the
 * command line is not a package entry point, so it is loaded from `dist/` by path).
 */
function upstreamModule(): Promise<typeof import('../../src/cli/upstream.js')> {
  return import(new URL('../../dist/cli/upstream.js', import.meta.url).href);
}

/** The echo server as a child command. */
const SERVER_COMMAND = [process.execPath, '--import', 'tsx', SLOW_SERVER_SCRIPT, '--stack', 'none'];

const ECHO = { name: 'echo', arguments: { text: 'hello' } };

async function echo(c: Connected): Promise<void> {
  await c.client.callTool(ECHO);
}

function newClient(): Client {
  return new Client({ name: 'mcp-perf-bench', version: '1.0.0' });
}

/** Echo over stdio, straight to the server or through `mcp-perf proxy`. */
function stdioVariant(through: 'direct' | 'proxy'): Variant<Connected> {
  return {
    setup: async () => {
      const [command, ...args] =
        through === 'direct' ? SERVER_COMMAND : [process.execPath, CLI, 'proxy', '--', ...SERVER_COMMAND];
      const transport = new StdioClientTransport({
        command: command!,
        args,
        env: childEnvironment(),
        stderr: 'inherit',
      });
      const client = newClient();
      await client.connect(transport);
      return { client, close: () => client.close() };
    },
    run: echo,
    teardown: (c) => c.close(),
  };
}

/** A `mcp-perf proxy --listen` process in front of `upstream`. */
async function startListeningProxy(
  upstream: string,
  extra: readonly string[],
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [CLI, 'proxy', '--listen', '127.0.0.1:0', ...extra, '--upstream', upstream],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+\/mcp)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`mcp-perf proxy exited with ${code}: ${err}`)));
  });
  return { url, child };
}

type HttpConnected = Connected & { hosted: HostedHttp; proxy?: ChildProcess };

/** Echo over Streamable HTTP, straight to the server or through `mcp-perf proxy --listen`. */
function httpVariant(through: 'direct' | 'proxy' | 'proxy-stateless'): Variant<HttpConnected> {
  return {
    setup: async () => {
      const hosted = await serveHttp(() => createFixtureServer('none'));
      if (through === 'direct') return { ...(await connectHttp(hosted.url)), hosted };
      const proxy = await startListeningProxy(hosted.url, through === 'proxy' ? [] : ['--stateless']);
      return { ...(await connectHttp(proxy.url)), hosted, proxy: proxy.child };
    },
    run: echo,
    teardown: async (c) => {
      await c.close();
      if (c.proxy !== undefined) {
        const exited = once(c.proxy, 'exit');
        c.proxy.kill('SIGTERM');
        await exited;
      }
      await c.hosted.close();
    },
  };
}

type PoolConnected = Connected & { hosted: HostedHttp; proxy: McpProxy; closePool(): Promise<void> };

/** Echo through an in-process proxy whose upstream fetches over `pool`. */
function poolVariant(pool: 'keep-alive' | 'fresh'): Variant<PoolConnected> {
  return {
    setup: async () => {
      const { httpUpstream, pooledFetch, unpooledFetch } = await upstreamModule();
      const hosted = await serveHttp(() => createFixtureServer('none'));
      const pooled = pool === 'keep-alive' ? pooledFetch() : undefined;
      const fetch: FetchLike = pooled?.fetch ?? unpooledFetch();
      const [clientSide, proxySide] = InMemoryTransport.createLinkedPair();
      const proxy = createProxy({
        downstream: proxySide,
        upstream: httpUpstream(new URL(hosted.url), fetch),
      });
      await proxy.start();
      const client = newClient();
      await client.connect(clientSide);
      return {
        client,
        hosted,
        proxy,
        close: () => client.close(),
        closePool: async () => pooled?.close(),
      };
    },
    run: echo,
    teardown: async (c) => {
      await c.close();
      await c.proxy.close();
      await c.closePool();
      await c.hosted.close();
    },
  };
}

/** Proxy scenarios, keyed by the names budgets use. */
export const proxyScenarios: ScenarioSet = {
  'proxy.stdio': {
    kind: 'compare',
    description:
      'stdio echo: straight to the server vs through `mcp-perf proxy -- <server>` (the CLI, no config)',
    baseline: stdioVariant('direct'),
    candidate: stdioVariant('proxy'),
    rounds: 10,
  },
  'proxy.http': {
    kind: 'compare',
    description:
      'Streamable HTTP echo (127.0.0.1, one session): straight to the server vs through `mcp-perf proxy --listen --upstream` (the CLI, no config)',
    baseline: httpVariant('direct'),
    candidate: httpVariant('proxy'),
    rounds: 8,
    timePerRoundMs: 250,
  },
  'proxy.http-stateless': {
    kind: 'compare',
    description:
      'Streamable HTTP echo (127.0.0.1): straight to the server (one session) vs through `mcp-perf proxy --listen --stateless --upstream`',
    baseline: httpVariant('direct'),
    candidate: httpVariant('proxy-stateless'),
    rounds: 8,
    timePerRoundMs: 250,
  },
  'proxy.upstream-pool.http': {
    kind: 'compare',
    description:
      "proxy to a Streamable HTTP upstream (in-process createProxy): a fresh connection per request vs the CLI's keep-alive pool",
    baseline: poolVariant('fresh'),
    candidate: poolVariant('keep-alive'),
    rounds: 8,
    timePerRoundMs: 250,
  },
};
