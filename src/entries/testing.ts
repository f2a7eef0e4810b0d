/**
 * `mcp-perf/testing`: for authors of middleware and stores. The cache-store and
 * rate-limit-store contract suites (run them under node:test or vitest), an in-memory
 * linked pair with a stack, a server whose tools count their real executions, and
 * `assertInvisible(middleware)`, which runs MCP exchanges bare and wrapped in both
 * protocol eras and reports any difference.
 *
 * ```ts
 * import { describe, it } from 'node:test';
 * import { assertInvisible, cacheStoreContract } from 'mcp-perf/testing';
 *
 * cacheStoreContract('my store', ({ now }) => new MyStore({ now }), { runner: { describe, it } });
 * it('my middleware is invisible until it acts', () => assertInvisible(myMiddleware()));
 * ```
 *
 * Needs `@modelcontextprotocol/sdk` (v1); the modern era also needs
 * `@modelcontextprotocol/server` and `@modelcontextprotocol/client` (v2).
 *
 * @module
 */

export * from '../testing/index.js';
