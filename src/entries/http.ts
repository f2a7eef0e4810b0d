/**
 * `mcp-perf/http`: content encoding for Streamable HTTP.
 *
 * Server:
 * ```ts
 * import { compressHandler } from 'mcp-perf/http';
 * const handle = compressHandler((req, res, body) => transport.handleRequest(req, res, body));
 * ```
 * Client:
 * ```ts
 * import { compressionFetch } from 'mcp-perf/http';
 * new StreamableHTTPClientTransport(url, { fetch: compressionFetch()(fetch) });
 * ```
 *
 * @module
 */

export * from '../http/index.js';
