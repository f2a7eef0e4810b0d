/**
 * `mcp-perf/codec`: the binary stream codec. A separate entry point so `msgpackr` loads
 * only when this module is imported.
 *
 * On the server, in place of the SDK's `StdioServerTransport`:
 * ```ts
 * import { CodecServerTransport } from 'mcp-perf/codec';
 * await server.connect(new CodecServerTransport());
 * ```
 * On the client, in place of `StdioClientTransport`:
 * ```ts
 * import { CodecClientTransport } from 'mcp-perf/codec';
 * await client.connect(new CodecClientTransport({ command: 'node', args: ['server.js'] }));
 * ```
 * Either side talks plain JSON to a peer that does not offer the codec.
 *
 * @module
 */

export * from '../codec/index.js';
