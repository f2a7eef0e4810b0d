/**
 * `mcp-perf/pool`: several upstream MCP servers used as one.
 *
 * ```ts
 * import { createUpstreamPool } from 'mcp-perf/pool';
 * const pool = createUpstreamPool({ upstreams: ['http://a:3000/mcp', 'http://b:3000/mcp'] });
 * await client.connect(pool.transport());
 * ```
 *
 * @module
 */

export * from '../pool/index.js';
