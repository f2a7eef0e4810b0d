import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConfigError, parseConfig } from '../../src/config/index.js';

describe('pool section of the config', () => {
  it('is validated and normalized (durations become ms, per-method maps too)', () => {
    const config = parseConfig(
      [
        'middleware: []',
        'pool:',
        '  upstreams: [http://127.0.0.1:3001/mcp, { url: "http://127.0.0.1:3002/mcp", name: b }, { command: node, args: [s.js] }]',
        '  strategy: consistent-hash',
        '  hashKey: { argument: repo }',
        '  health: { intervalMs: 2s, cooloffMs: 1m }',
        '  timeouts: { defaultMs: 30s, methods: { tools/list: 500ms }, tools: { search: 5s } }',
        '  breaker: false',
        '  hedge: { minDelayMs: 3ms }',
      ].join('\n'),
    );
    assert.deepEqual(config.pool, {
      upstreams: [
        'http://127.0.0.1:3001/mcp',
        { url: 'http://127.0.0.1:3002/mcp', name: 'b' },
        { command: 'node', args: ['s.js'] },
      ],
      strategy: 'consistent-hash',
      hashKey: { argument: 'repo' },
      health: { intervalMs: 2000, cooloffMs: 60_000 },
      timeouts: { defaultMs: 30_000, methods: { 'tools/list': 500 }, tools: { search: 5000 } },
      breaker: false,
      hedge: { minDelayMs: 3 },
    });
  });

  it('names what is wrong', () => {
    for (const [text, path] of [
      ['pool: { upstreams: [] }', 'pool.upstreams'],
      ['pool: { upstreams: [ftp://x] }', 'pool.upstreams[0]'],
      ['pool: { upstreams: [http://a/mcp], strategy: random }', 'pool.strategy'],
      ['pool: { upstreams: [http://a/mcp], health: { everyMs: 5 } }', 'pool.health.everyMs'],
      ['pool: { upstreams: [http://a/mcp], timeouts: { tools: { a: soon } } }', 'pool.timeouts.tools.a'],
    ] as const) {
      assert.throws(
        () => parseConfig(`middleware: []\n${text}\n`),
        (e: unknown) => isConfigError(e) && e.issues.some((i) => i.path === path),
        `${text} → ${path}`,
      );
    }
  });
});
