/**
 * `--listen`: the proxied server exposed over Streamable HTTP, beside the proxy's own
 * endpoints: `/metrics` (Prometheus text), `/stats` (JSON) and `/dashboard`.
 *
 * Stateful (the default): each session gets its own proxy and its own upstream. Stateless
 * (`--stateless` or `listen.stateless` in the config): no session id; each POST gets a
 * fresh server transport and proxy, and every POST shares one upstream connection
 * ({@link SharedUpstream}).
 */

import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createProxy, type McpProxy } from '../adapters/proxy.js';
import type { McpTransport } from '../adapters/transport.js';
import type { Middleware } from '../core/types.js';
import { dashboardData } from '../dashboard/data.js';
import { DASHBOARD_HTML } from '../dashboard/page.js';
import type { MetricsMiddleware } from '../middleware/metrics/index.js';
import type { UpstreamPool } from '../pool/index.js';
import { log } from './log.js';
import { SharedUpstream, type UpstreamEndpoint } from './shared-upstream.js';

/** What the HTTP endpoints need from the running proxy. */
export interface ServeOptions {
  /** Host and port to bind. */
  host: string;
  port: number;
  /** Bearer token every request must carry, if set. */
  token: string | undefined;
  /** The stack each session's proxy runs (one shared layer that follows config reloads). */
  stack: readonly Middleware[];
  /** The middlewares of the current config, by entry name, for stats. */
  current(): {
    names: readonly string[];
    find(name: string): Middleware | undefined;
    middleware: readonly Middleware[];
  };
  /** Opens a new upstream for a new session. */
  openUpstream(): McpTransport & { stop?(): Promise<unknown> };
  /** What the upstream is (for middleware keyed on it when stateless POSTs share one connection). */
  endpoint: UpstreamEndpoint;
  /** Whether a request without a session id is served statelessly; asked per request, so a config reload applies. */
  stateless(): boolean;
  /** The upstream pool, if the proxy has one: its state joins `/metrics`, `/stats` and the dashboard. */
  pool?: UpstreamPool;
}

/** A running HTTP front. */
export interface HttpFront {
  /** The bound address. */
  readonly address: AddressInfo;
  /** Closes every session, its upstream, and the server. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** True for a host name that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/** Starts the HTTP front. */
export async function serveHttp(options: ServeOptions): Promise<HttpFront> {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; proxy: McpProxy }>();
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);

  const authorized = (req: IncomingMessage, path: string, query: string): boolean => {
    if (expected === undefined) return true;
    const header = req.headers.authorization;
    // A browser cannot add a header to the page's own address: the page may carry ?token=.
    const fromQuery = path === '/dashboard' ? new URLSearchParams(query).get('token') : null;
    const got = Buffer.from(header ?? (fromQuery === null ? '' : `Bearer ${fromQuery}`));
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  const metricsOf = () => options.current().find('metrics') as MetricsMiddleware | undefined;

  let shared: SharedUpstream | undefined;
  const handleStateless = async (req: IncomingMessage, res: ServerResponse) => {
    // No session to stream to or end: only POST means something (as in the SDK's stateless examples).
    if (req.method !== 'POST')
      return json(res, 405, {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: 'Method not allowed: this endpoint is stateless, POST each request' },
      });
    shared ??= new SharedUpstream(options.openUpstream, options.endpoint, (error) =>
      log(`upstream: ${error.message}`),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const proxy = createProxy({
      downstream: transport,
      upstream: shared.channel(),
      stack: options.stack,
      onerror: (error) => log(`request: ${error.message}`),
    });
    res.once('close', () => void proxy.close());
    await proxy.start();
    await transport.handleRequest(req, res);
  };

  const handleMcp = async (req: IncomingMessage, res: ServerResponse) => {
    const id = req.headers['mcp-session-id'];
    if (id === undefined && options.stateless()) return handleStateless(req, res);
    const existing = typeof id === 'string' ? sessions.get(id) : undefined;
    if (existing) return existing.transport.handleRequest(req, res);
    if (typeof id === 'string')
      return json(res, 404, {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32001, message: 'Session not found' },
      });
    if (req.method !== 'POST')
      return json(res, 400, {
        jsonrpc: '2.0',
        id: null,
        error: { code: -32000, message: 'No session: POST an initialize request first' },
      });
    const upstream = options.openUpstream();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (sessionId) => void sessions.set(sessionId, { transport, proxy }),
    });
    const proxy = createProxy({
      downstream: transport,
      upstream,
      stack: options.stack,
      onerror: (error) => log(`session: ${error.message}`),
      onclose: () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
        void upstream.stop?.();
      },
    });
    await proxy.start();
    await transport.handleRequest(req, res);
    // A first request that was not an initialize leaves no session: drop its upstream.
    if (transport.sessionId === undefined) await proxy.close();
  };

  const server: Server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    if (!authorized(req, path, query)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('unauthorized\n');
      return;
    }
    const route = async () => {
      if (path === '/mcp') return handleMcp(req, res);
      if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
      if (path === '/stats') return json(res, 200, statsOf(options));
      if (path === '/dashboard') {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
          .end(DASHBOARD_HTML);
        return;
      }
      if (path === '/dashboard/data')
        return json(res, 200, dashboardData(metricsOf(), options.current().middleware, options.pool));
      if (path === '/metrics') {
        const metrics = metricsOf();
        if (metrics === undefined && options.pool === undefined)
          return json(res, 404, { error: 'metrics are off: add a metrics entry to the config' });
        const text = await prometheusText(metrics, options.pool);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text);
        return;
      }
      json(res, 404, { error: `no route ${path}` });
    };
    route().catch((error: unknown) => {
      log(`http: ${String((error as Error)?.message ?? error)}`);
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    address: server.address() as AddressInfo,
    async close() {
      await Promise.allSettled([...sessions.values()].map((s) => s.proxy.close()));
      sessions.clear();
      await shared?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The `/stats` document: the current stack, the metrics snapshot, every middleware's `stats()` and the pool's. */
export function statsOf(options: Pick<ServeOptions, 'current' | 'pool'>) {
  const { names, middleware } = options.current();
  const stats: Record<string, unknown> = {};
  let metrics: unknown = null;
  middleware.forEach((m, i) => {
    if (typeof m === 'function') return;
    const named = m as { stats?: () => unknown; snapshot?: () => unknown };
    if (typeof named.snapshot === 'function' && metrics === null) metrics = named.snapshot();
    if (typeof named.stats === 'function') stats[`${i}:${names[i]}`] = named.stats();
  });
  const pool = options.pool?.stats() ?? null;
  return { takenAt: Date.now(), stack: names, metrics, middleware: stats, pool };
}

async function prometheusText(
  metrics: MetricsMiddleware | undefined,
  pool: UpstreamPool | undefined,
): Promise<string> {
  const { Registry } = await import('prom-client');
  const { prometheusExporter, poolPrometheusExporter } = await import('../entries/prometheus.js');
  const registry = new Registry();
  if (metrics !== undefined) prometheusExporter(metrics, { registry });
  if (pool !== undefined) poolPrometheusExporter(pool, { registry });
  return registry.metrics();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}
