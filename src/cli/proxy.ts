/**
 * `mcp-perf proxy`: a thin shell over createProxy and the config's stack. The host talks
 * to the proxy over stdio (or Streamable HTTP with --listen); the proxy talks to a child
 * server over stdio (after `--`) or to a Streamable HTTP server (--upstream).
 */

import { parseArgs } from 'node:util';
import { createProxy } from '../adapters/proxy.js';
import type { McpTransport } from '../adapters/transport.js';
import { watchConfig } from '../config/load.js';
import { type ConfiguredStack, createStack } from '../config/stack.js';
import { type SwitchableStack, switchableStack } from '../config/switchable.js';
import { parseDuration } from '../config/units.js';
import { asError } from '../internal/as-error.js';
import { ChildServer, exitCodeOf } from './child.js';
import { log } from './log.js';
import { describeChanges, proxyPool, reloadPool } from './pool.js';
import { isLoopback, serveHttp } from './serve.js';
import { LineTransport } from './stdio.js';
import { httpUpstream, pooledFetch } from './upstream.js';

/** `proxy --help`. */
export const PROXY_HELP = `Usage: mcp-perf proxy [options] -- <command> [args...]
       mcp-perf proxy [options] --upstream <url> [--upstream <url>...]
       mcp-perf proxy -c <config with a pool section>

Runs an MCP server behind the middleware stack of a config file. The host talks to
the proxy over stdio (or over Streamable HTTP with --listen); the proxy talks to the
server over stdio (a child started from <command>) or over Streamable HTTP (--upstream).
In stdio mode stdout carries only the MCP stream; everything else goes to stderr.

Options:
  -c, --config <file>     YAML or JSON config (see docs/config.md); reloaded when it
                          changes, its pool section included (an invalid new file keeps
                          the old stack and pool). Default: none.
      --upstream <url>    A Streamable HTTP server instead of a child command. Given more
                          than once: a pool of replicas (see docs/pool.md), with the
                          options of the config's pool section if it has one.
      --pool <n>          Keep-alive connections to --upstream. Default 16.
      --listen <host:port> Serve over Streamable HTTP at /mcp, with /metrics, /stats and
                          /dashboard, instead of stdio. Binds loopback unless told otherwise.
      --stateless         With --listen: serve without sessions; each POST stands alone and
                          all share one upstream connection. Also the config's
                          listen.stateless. Default: stateful sessions.
      --token <token>     Bearer token every HTTP request must carry; required to listen
                          on an address other than loopback. Default: $MCP_PERF_TOKEN.
      --kill-after <dur>  Grace period before a child that does not exit is killed, its
                          process group with it. Default 5s.
  -h, --help              This help.

Examples:
  mcp-perf proxy --config mcp-perf.yaml -- npx -y @modelcontextprotocol/server-memory
  mcp-perf proxy -c mcp-perf.yaml -- python server.py --verbose
  mcp-perf proxy -c mcp-perf.yaml --upstream http://127.0.0.1:3000/mcp
  mcp-perf proxy --upstream http://10.0.0.5:3000/mcp --upstream http://10.0.0.6:3000/mcp
  mcp-perf proxy -c mcp-perf.yaml --listen 127.0.0.1:8080 -- node server.js
  mcp-perf proxy --listen 127.0.0.1:8080 --stateless --upstream http://127.0.0.1:3000/mcp
  MCP_PERF_TOKEN=s3cret mcp-perf proxy -c c.yaml --listen 0.0.0.0:8080 --upstream http://10.0.0.5:3000/mcp
`;

/** Runs the proxy command; resolves with the process exit code. */
export async function runProxy(argv: readonly string[]): Promise<number> {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const command = split === -1 ? [] : argv.slice(split + 1);
  const { values } = parseArgs({
    args: [...own],
    options: {
      config: { type: 'string', short: 'c' },
      upstream: { type: 'string', multiple: true },
      pool: { type: 'string' },
      listen: { type: 'string' },
      stateless: { type: 'boolean' },
      token: { type: 'string' },
      'kill-after': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(PROXY_HELP);
    return 0;
  }
  const fail = (message: string) => {
    log(message);
    log('see: mcp-perf proxy --help');
    return 2;
  };
  const upstreamArgs = values.upstream ?? [];
  if (command.length !== 0 && upstreamArgs.length !== 0) {
    return fail('give either a command after -- or --upstream <url>, not both');
  }
  if (command.length === 0 && upstreamArgs.length === 0 && values.config === undefined) {
    return fail('give either a command after -- or --upstream <url>, or a config with a pool section');
  }
  const graceMs = parseDuration(values['kill-after'] ?? '5s');
  if (graceMs === undefined)
    return fail(`--kill-after: expected a duration such as 5s, got ${values['kill-after']}`);
  const pool = Number(values.pool ?? 16);
  if (!Number.isInteger(pool) || pool < 1)
    return fail(`--pool: expected a positive integer, got ${values.pool}`);
  const upstreamUrls: URL[] = [];
  for (const text of upstreamArgs) {
    try {
      upstreamUrls.push(new URL(text));
    } catch {
      return fail(`--upstream: not a URL: ${text}`);
    }
  }
  if (values.stateless && values.listen === undefined) return fail('--stateless needs --listen');
  const token = values.token || process.env.MCP_PERF_TOKEN || undefined;
  let listen: { host: string; port: number } | undefined;
  if (values.listen !== undefined) {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(values.listen) ?? /^()()(\d+)$/.exec(values.listen);
    if (match === null) return fail(`--listen: expected host:port or port, got ${values.listen}`);
    listen = { host: match[1] || match[2] || '127.0.0.1', port: Number(match[3]) };
    if (!isLoopback(listen.host) && token === undefined) {
      return fail(
        `--listen ${values.listen} is reachable from other machines: give --token (or MCP_PERF_TOKEN)`,
      );
    }
  }

  // The stack: from the config file (followed as it changes), or empty.
  let current: () => ConfiguredStack;
  let closeStack: () => Promise<void>;
  let layer: SwitchableStack;
  // The pool follows the config's pool section too; set once the pool is built.
  let followPool: ((next: ConfiguredStack, before: ConfiguredStack) => void) | undefined;
  if (values.config !== undefined) {
    const watcher = await watchConfig(values.config, {
      beforeSwap: (next, before) => followPool?.(next, before),
      onReload: (stack) => log(`config reloaded: ${describe(stack)}`),
      onError: (error) => log(`config not reloaded, the previous stack keeps running: ${error.message}`),
      onWarning: log,
    });
    log(`config ${values.config}: ${describe(watcher.current)}`);
    current = () => watcher.current;
    closeStack = () => watcher.close();
    layer = watcher.stack;
  } else {
    const empty = await createStack({ middleware: [] });
    current = () => empty;
    closeStack = () => empty.close();
    layer = switchableStack([]);
  }

  // Several upstreams (--upstream more than once, or the config's pool section) make a pool.
  const poolConfig = current().config.pool;
  if (poolConfig !== undefined && command.length !== 0) {
    await closeStack();
    return fail('the config has a pool section: give no command after --');
  }
  if (poolConfig === undefined && command.length === 0 && upstreamUrls.length === 0) {
    await closeStack();
    return fail('give either a command after -- or --upstream <url>, or a config with a pool section');
  }
  let upstreamPool: ReturnType<typeof proxyPool>;
  try {
    upstreamPool = proxyPool(upstreamUrls, poolConfig);
  } catch (error) {
    await closeStack();
    return fail(`pool: ${asError(error).message}`);
  }
  if (upstreamPool !== undefined) log(`pool of ${upstreamPool.stats().upstreams.length} upstreams`);
  followPool = (next, before) => {
    const changes = reloadPool(upstreamPool, upstreamUrls, before.config.pool, next.config.pool);
    if (changes !== undefined) log(describeChanges(changes));
  };
  const upstreamUrl = upstreamPool === undefined ? upstreamUrls[0] : undefined;
  const fetchPool = upstreamUrl === undefined ? undefined : pooledFetch({ connections: pool });
  const children = new Set<ChildServer>();
  let spawnFailed = false;
  const openUpstream = (): McpTransport & { stop?(): Promise<unknown>; child?: ChildServer } => {
    if (upstreamPool !== undefined) return upstreamPool.transport();
    if (upstreamUrl !== undefined) return httpUpstream(upstreamUrl, fetchPool!.fetch);
    const child = new ChildServer(command[0]!, command.slice(1), graceMs, (error) => {
      spawnFailed = true;
      log(`cannot start ${command[0]}: ${error.message}`);
    });
    children.add(child);
    void child.exited.then(() => children.delete(child));
    return Object.assign(child.transport, { stop: () => child.stop(), child });
  };

  const shutdown = async () => {
    await Promise.allSettled([...children].map((c) => c.stop()));
    await fetchPool?.close();
    await upstreamPool?.close();
    await closeStack();
  };

  if (listen !== undefined) {
    const front = await serveHttp({
      ...listen,
      token,
      stack: [layer],
      current: () => {
        const stack = current();
        return {
          names: stack.config.middleware.map((e) => e.name),
          find: stack.find,
          middleware: stack.middleware,
        };
      },
      openUpstream,
      endpoint:
        upstreamUrl !== undefined ? { url: upstreamUrl } : { command: command[0]!, args: command.slice(1) },
      stateless: () => values.stateless === true || current().config.listen?.stateless === true,
      pool: upstreamPool,
    });
    log(`listening on http://${formatHost(front.address.address)}:${front.address.port}/mcp`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    log(`${signal}: closing`);
    await front.close();
    await Promise.allSettled([...children].map((c) => c.forward(signal)));
    await shutdown();
    return 0;
  }

  // stdio: one upstream, the host on our stdin/stdout.
  const upstream = openUpstream();
  const downstream = new LineTransport(process.stdin, process.stdout, 'host');
  let hostClosed = false;
  const proxy = createProxy({
    downstream,
    upstream,
    stack: [layer],
    onerror: (error) => log(error.message),
  });
  downstream.onclose = chain(downstream.onclose, () => {
    hostClosed = true;
  });
  const child = upstream.child;
  const ended = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (child === undefined) return resolve(signal === 'SIGINT' ? 130 : 143);
      log(`${signal}: passing it to the server (pid ${child.pid})`);
      void child.forward(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    if (child !== undefined) void child.exited.then((exit) => resolve(exitCodeOf(exit)));
    else upstream.onclose = chain(upstream.onclose, () => resolve(hostClosed ? 0 : 1));
    // The host closed our stdin: end the child the MCP way (close its stdin), then by signal.
    process.stdin.once('end', () => {
      if (child !== undefined) void child.stop();
      else resolve(0);
    });
  });
  try {
    await proxy.start();
  } catch (error) {
    if (!spawnFailed) log(`cannot start: ${asError(error).message}`);
  }
  const code = await ended;
  if (child !== undefined && !hostClosed && !spawnFailed) {
    const exit = await child.exited;
    log(`server exited with ${exit.signal ?? `code ${exit.code}`}`);
  }
  await proxy.close();
  await shutdown();
  return code;
}

function describe(stack: ConfiguredStack): string {
  const names = stack.config.middleware.map((e) => e.name);
  return names.length === 0 ? 'no middleware' : names.join(' → ');
}

function formatHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function chain(first: (() => void) | undefined, second: () => void): () => void {
  return () => {
    first?.();
    second();
  };
}
