/**
 * Streamable HTTP upstream with a keep-alive connection pool: one undici `Agent` per
 * proxy, shared by every upstream session, so requests reuse warm TCP connections
 * instead of opening one each (benchmarks/scenarios/proxy.ts measures the difference).
 */

import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { Agent, fetch as undiciFetch } from 'undici';

/** Options of {@link pooledFetch}. */
export interface PoolOptions {
  /** Most connections to the upstream origin. Default 16. */
  connections?: number;
  /** How long an idle connection is kept, in ms. Default 30 000. */
  keepAliveMs?: number;
}

/** Defaults of {@link PoolOptions}. */
export const POOL_DEFAULTS = Object.freeze({ connections: 16, keepAliveMs: 30_000 });

/** A fetch over a keep-alive pool, and the means to close the pool. */
export interface PooledFetch {
  /** The fetch to give the SDK's HTTP client transport. */
  readonly fetch: FetchLike;
  /** Closes the pool's connections. */
  close(): Promise<void>;
}

/** A fetch whose connections are pooled and kept alive. */
export function pooledFetch(options: PoolOptions = {}): PooledFetch {
  const agent = new Agent({
    connections: options.connections ?? POOL_DEFAULTS.connections,
    keepAliveTimeout: options.keepAliveMs ?? POOL_DEFAULTS.keepAliveMs,
    keepAliveMaxTimeout: Math.max(options.keepAliveMs ?? POOL_DEFAULTS.keepAliveMs, 1000),
  });
  const fetch = ((url: string | URL, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent })) as unknown as FetchLike;
  return { fetch, close: () => agent.close() };
}

/** A fetch that opens a fresh connection for every request (the baseline the pool is measured against). */
export function unpooledFetch(): FetchLike {
  return (async (url: string | URL, init?: RequestInit) => {
    const agent = new Agent();
    try {
      return await undiciFetch(url, { ...(init as object), dispatcher: agent });
    } finally {
      // Graceful: the connection closes once the response body (an SSE stream too) has been read.
      void agent.close();
    }
  }) as unknown as FetchLike;
}

/** A Streamable HTTP client transport to `url` over `fetch`. */
export function httpUpstream(url: URL, fetch: FetchLike): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(url, { fetch });
}
