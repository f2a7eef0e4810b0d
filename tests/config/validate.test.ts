import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConfigIssue, isConfigError, parseConfig, validateConfig } from '../../src/config/index.js';

function issuesOf(text: string, format: 'json' | 'yaml' = 'yaml'): ConfigIssue[] {
  try {
    parseConfig(text, { format, env: {} });
  } catch (error) {
    assert.ok(isConfigError(error), String(error));
    return [...error.issues];
  }
  assert.fail('the config was accepted');
}

function only(text: string): string {
  const issues = issuesOf(text);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  return `${issues[0]!.path}: ${issues[0]!.message}`;
}

describe('validateConfig', () => {
  it('accepts every middleware with durations and sizes as strings, and normalizes them', () => {
    const config = parseConfig(
      `middleware:
  - metrics: { tokens: approximate, windowMs: 30s, slowThresholdMs: 250ms }
  - concurrencyLimit:
      maxQueueWaitMs: 2s
      scopes: [{ name: per-tool, key: tool, limit: 2, adaptive: { windowMs: 1s } }, { name: global, limit: 8 }]
  - rateLimit: { limit: 50, windowMs: 1m, key: principal }
  - cache:
      ttlMs: 5m
      maxEntryBytes: 64KiB
      store: { memory: { maxBytes: 64MiB, maxEntries: 100 } }
      tools: { include: [echo], ttlMs: 10s }
`,
      { env: {} },
    );
    assert.deepEqual(config.middleware, [
      { name: 'metrics', options: { tokens: 'approximate', windowMs: 30_000, slowThresholdMs: 250 } },
      {
        name: 'concurrencyLimit',
        options: {
          maxQueueWaitMs: 2000,
          scopes: [
            { name: 'per-tool', key: 'tool', limit: 2, adaptive: { windowMs: 1000 } },
            { name: 'global', limit: 8 },
          ],
        },
      },
      { name: 'rateLimit', options: { limit: 50, windowMs: 60_000, key: 'principal' } },
      {
        name: 'cache',
        options: {
          ttlMs: 300_000,
          maxEntryBytes: 65_536,
          store: { memory: { maxBytes: 64 * 1024 * 1024, maxEntries: 100 } },
          tools: { include: ['echo'], ttlMs: 10_000 },
        },
      },
    ]);
  });

  it('reads JSON with the same meaning', () => {
    const config = parseConfig('{"middleware":[{"cache":{"ttlMs":"5m"}}]}', { format: 'json' });
    assert.deepEqual(config.middleware, [{ name: 'cache', options: { ttlMs: 300_000 } }]);
  });

  it('names the path and the problem of a bad duration', () => {
    assert.equal(
      only('middleware:\n  - metrics: {}\n  - rateLimit: {}\n  - cache: { ttlMs: 5 minutes }\n'),
      'middleware[2].cache.ttlMs: expected a non-negative duration (milliseconds, or e.g. "250ms", "5m"), got "5 minutes"',
    );
    assert.match(
      only('middleware:\n  - cache: { staleMs: -5 }\n'),
      /^middleware\[0\]\.cache\.staleMs: expected a non-negative duration.*got -5$/,
    );
  });

  it('names a bad size', () => {
    assert.match(
      only('middleware:\n  - cache: { maxEntryBytes: 64 megabytes }\n'),
      /^middleware\[0\]\.cache\.maxEntryBytes: expected a non-negative size \(bytes, or e\.g\. "512KB", "64MiB"\), got "64 megabytes"$/,
    );
  });

  it('names an unknown middleware and lists the known ones', () => {
    assert.equal(
      only('middleware:\n  - cach: {}\n'),
      'middleware[0].cach: unknown middleware "cach" (known: metrics, concurrencyLimit, rateLimit, cache, toolFilter, tokenBudget, batching, notModified)',
    );
  });

  it('names an unknown option and lists the known ones', () => {
    assert.match(
      only('middleware:\n  - cache: { ttl: 5 }\n'),
      /^middleware\[0\]\.cache\.ttl: unknown option "ttl" \(known: store, ttlMs,/,
    );
    assert.deepEqual(issuesOf('mdidleware: []\n'), [
      { path: 'middleware', message: 'is required' },
      {
        path: 'mdidleware',
        message: 'unknown option "mdidleware" (known: $schema, middleware, listen, pool)',
      },
    ]);
  });

  it('requires the middleware list and exactly one name per entry', () => {
    const issues = issuesOf('foo: 1\n');
    assert.deepEqual(
      issues.map((i) => i.path),
      ['middleware', 'foo'],
    );
    assert.equal(issues[0]!.message, 'is required');
    assert.match(
      only('middleware:\n  - {}\n'),
      /^middleware\[0\]: expected exactly one middleware name as key/,
    );
    assert.match(
      only('middleware:\n  - { cache: {}, metrics: {} }\n'),
      /^middleware\[0\]: expected exactly one/,
    );
    assert.equal(only('middleware: {}\n'), 'middleware: expected array, got {}');
    assert.equal(only('- cache: {}\n'), '(root): expected object, got [{"cache":{}}]');
  });

  it('names a value outside an enum, a type mismatch and a number out of range', () => {
    assert.equal(
      only('middleware:\n  - metrics: { tokens: maybe }\n'),
      'middleware[0].metrics.tokens: expected one of false, "approximate", "exact", got "maybe"',
    );
    assert.equal(
      only('middleware:\n  - cache: { coalesce: "yes" }\n'),
      'middleware[0].cache.coalesce: expected boolean, got "yes"',
    );
    assert.equal(
      only('middleware:\n  - concurrencyLimit: { limit: 0 }\n'),
      'middleware[0].concurrencyLimit.limit: must be >= 1, got 0',
    );
    assert.equal(
      only('middleware:\n  - metrics: { tokenSampleRate: 2 }\n'),
      'middleware[0].metrics.tokenSampleRate: must be <= 1, got 2',
    );
    assert.equal(
      only('middleware:\n  - rateLimit: { key: user }\n'),
      'middleware[0].rateLimit.key: expected one of "tool", "method", "principal", got "user"',
    );
  });

  it('names problems inside lists of scopes', () => {
    const issues = issuesOf(
      'middleware:\n  - concurrencyLimit: { scopes: [{ key: tool }, { name: b, limit: 1.5 }] }\n',
    );
    assert.deepEqual(
      issues.map((i) => `${i.path}: ${i.message}`),
      [
        'middleware[0].concurrencyLimit.scopes[0].name: is required',
        'middleware[0].concurrencyLimit.scopes[1].limit: expected integer, got 1.5',
      ],
    );
  });

  it('reports a store of the form it evidently meant, or that it matches no form', () => {
    assert.equal(
      only('middleware:\n  - cache: { store: { redis: {} } }\n'),
      'middleware[0].cache.store.redis: give one of url, cluster, got {}',
    );
    assert.equal(
      only('middleware:\n  - cache: { store: { redis: { url: "http://x" } } }\n'),
      'middleware[0].cache.store.redis.url: must match pattern "^rediss?://", got "http://x"',
    );
    assert.equal(
      only(
        'middleware:\n  - cache: { store: { redis: { url: "redis://x", encoding: { binaryOverBytes: -1 } } } }\n',
      ),
      'middleware[0].cache.store.redis.encoding.binaryOverBytes: must be >= 0, got -1',
    );
    assert.equal(
      only('middleware:\n  - cache: { store: { disk: {} } }\n'),
      'middleware[0].cache.store: does not match any allowed form (an object with one of: memory, redis), got {"disk":{}}',
    );
    assert.equal(
      only('middleware:\n  - concurrencyLimit: { adaptive: { min: 0 } }\n'),
      'middleware[0].concurrencyLimit.adaptive.min: must be >= 1, got 0',
    );
    // A duration is a shared definition: its error alone explains the form that failed.
    assert.equal(
      only('middleware:\n  - concurrencyLimit: { adaptive: { windowMs: soon } }\n'),
      'middleware[0].concurrencyLimit.adaptive.windowMs: expected a non-negative duration (milliseconds, or e.g. "250ms", "5m"), got "soon"',
    );
  });

  it('reports syntax errors with their position', () => {
    assert.match(only('middleware: [\n'), /^\(root\): not valid YAML: .*line 2, column 1$/);
    assert.match(issuesOf('{"middleware": [', 'json')[0]!.message, /^not valid JSON: /);
    assert.match(only('a: 1\na: 2\n'), /not valid YAML: Map keys must be unique/);
  });

  it('names the source in the message', () => {
    assert.throws(
      () => parseConfig('middleware: 1\n', { source: 'proxy.yaml' }),
      /^ConfigError: invalid config proxy\.yaml:\n {2}middleware: expected array, got 1$/,
    );
  });

  it('accepts the listen settings beside the stack and names their problems', () => {
    const config = parseConfig('listen: { stateless: true }\nmiddleware: [{ metrics: {} }]\n', { env: {} });
    assert.deepEqual(config.listen, { stateless: true });
    assert.equal(config.middleware[0]?.name, 'metrics');
    assert.equal(parseConfig('middleware: []\n', { env: {} }).listen, undefined);
    assert.equal(
      only('listen: { stateless: yes please }\nmiddleware: []\n'),
      'listen.stateless: expected boolean, got "yes please"',
    );
    assert.equal(
      only('listen: { sessions: false }\nmiddleware: []\n'),
      'listen.sessions: unknown option "sessions" (known: stateless)',
    );
    assert.equal(only('listen: true\nmiddleware: []\n'), 'listen: expected object, got true');
  });

  it('validates plain data too', () => {
    assert.deepEqual(validateConfig({ middleware: [] }).middleware, []);
    assert.throws(() => validateConfig(null), /\(root\): expected object, got null/);
  });
});
