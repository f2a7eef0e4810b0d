import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Runs the shipped contract suites under vitest, importing them as a user would: `mcp-perf/testing`. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: { 'mcp-perf/testing': fileURLToPath(new URL('../../../src/entries/testing.ts', import.meta.url)) },
  },
  test: { include: ['*.vitest.ts'], pool: 'threads', maxWorkers: 1, watch: false },
});
