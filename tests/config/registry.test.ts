import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ConfigIssue,
  createStack,
  isConfigError,
  MIDDLEWARE_REGISTRY,
  parseConfig,
  validateConfig,
} from '../../src/config/index.js';
import * as api from '../../src/index.js';
import {
  middlewareKind,
  TOKEN_BUDGET_DEFAULTS,
  type TokenBudget,
  type ToolFilterMiddleware,
} from '../../src/index.js';
import { connectPair } from '../helpers/servers.js';

/** Asserts that validating `config` fails with an issue at each of `paths`. */
function assertIssuesAt(config: unknown, paths: readonly string[]): void {
  let issues: readonly ConfigIssue[] = [];
  try {
    validateConfig(config);
    assert.fail('the config was accepted');
  } catch (error) {
    assert.ok(isConfigError(error), String(error));
    issues = error.issues;
  }
  const found = issues.map((issue) => issue.path);
  for (const path of paths) assert.ok(found.includes(path), `${path} in ${found.join(', ')}`);
}

function textOf(result: unknown): string {
  return ((result as { content: unknown }).content as { type: string; text?: string }[])
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('');
}

describe('the middleware registry', () => {
  it('names every middleware the package gives a withX helper, by its factory name', () => {
    const exported = api as unknown as Record<string, unknown>;
    const factories = Object.keys(exported)
      .filter(
        (name) =>
          /^with[A-Z]/.test(name) && name !== 'withMiddleware' && typeof exported[name] === 'function',
      )
      .map((name) => name[4]!.toLowerCase() + name.slice(5));
    assert.ok(factories.length > 0);
    for (const factory of factories) assert.equal(typeof exported[factory], 'function', factory);
    assert.deepEqual(Object.keys(MIDDLEWARE_REGISTRY).sort(), factories.sort());
  });
});

describe('toolFilter from a config', () => {
  it('validates its rules, ranking and search settings', () => {
    const config = parseConfig(
      `middleware:
  - toolFilter:
      rules: { allow: ['*'], deny: [add, 'debug_*'], annotations: { destructiveHint: false }, tags: { deny: [admin] } }
      pinned: [echo]
      topK: 3
      mode: search
      searchTool: { name: find_tools, limit: 2, maxLimit: 4 }
      tokens: approximate
`,
      { env: {} },
    );
    assert.deepEqual(config.middleware[0], {
      name: 'toolFilter',
      options: {
        rules: {
          allow: ['*'],
          deny: ['add', 'debug_*'],
          annotations: { destructiveHint: false },
          tags: { deny: ['admin'] },
        },
        pinned: ['echo'],
        topK: 3,
        mode: 'search',
        searchTool: { name: 'find_tools', limit: 2, maxLimit: 4 },
        tokens: 'approximate',
      },
    });
  });

  it('builds the real tool filter: a denied tool is hidden from tools/list and its calls never run', async () => {
    const stack = await createStack(
      parseConfig('middleware:\n  - toolFilter: { rules: { deny: [add, "fa*"] }, tokens: approximate }\n'),
    );
    const filter = stack.find('toolFilter') as ToolFilterMiddleware;
    assert.equal(middlewareKind(stack.middleware[0]), 'toolFilter');
    assert.deepEqual(filter.rules, { deny: ['add', 'fa*'] });
    const pair = await connectPair({ server: stack.middleware });
    try {
      const names = (await pair.client.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('echo'));
      assert.ok(!names.includes('add') && !names.includes('fail'), names.join(', '));
      await pair.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }).then(
        (result) => assert.equal(result.isError, true),
        (error: Error) => assert.match(error.message, /add/),
      );
      assert.equal(pair.counts.add, undefined, 'the hidden tool never ran');
      assert.equal(filter.stats().rejectedCalls, 1);
      assert.ok(filter.stats().tokensSaved > 0, 'the configured counter measured the definitions');
    } finally {
      await pair.close();
      await stack.close();
    }
  });

  it('names the path of a bad value', () => {
    assertIssuesAt(
      {
        middleware: [
          {
            toolFilter: {
              rules: { deny: [42], annotations: { readOnly: true } },
              mode: 'browse',
              topK: 0,
              searchTool: { limit: 'many' },
              caller: 'admin',
            },
          },
        ],
      },
      [
        'middleware[0].toolFilter.rules.deny[0]',
        'middleware[0].toolFilter.rules.annotations.readOnly',
        'middleware[0].toolFilter.mode',
        'middleware[0].toolFilter.topK',
        'middleware[0].toolFilter.searchTool.limit',
        'middleware[0].toolFilter.caller',
      ],
    );
  });
});

describe('tokenBudget from a config', () => {
  it('validates its limits, budgets and store, converting durations and sizes', () => {
    const config = parseConfig(
      `middleware:
  - tokenBudget:
      maxTokens: 2000
      tools: { 'search_*': 4000, export: false }
      continuationTool: false
      pageTtlMs: 5m
      store: { memory: { maxBytes: 8MiB } }
      session: { tokens: 100000, policy: tighten }
      principal: { tokens: 500000, windowMs: 1h }
`,
      { env: {} },
    );
    assert.deepEqual(config.middleware[0], {
      name: 'tokenBudget',
      options: {
        maxTokens: 2000,
        tools: { 'search_*': 4000, export: false },
        continuationTool: false,
        pageTtlMs: 300_000,
        store: { memory: { maxBytes: 8 * 1024 * 1024 } },
        session: { tokens: 100_000, policy: 'tighten' },
        principal: { tokens: 500_000, windowMs: 3_600_000 },
      },
    });
  });

  it('builds the real token budget: a maxTokens from the config cuts a long result', async () => {
    const stack = await createStack(
      parseConfig(
        'middleware:\n  - tokenBudget: { maxTokens: 300, store: { memory: { maxEntries: 10 } } }\n',
      ),
    );
    const budget = stack.find('tokenBudget') as TokenBudget;
    assert.equal(middlewareKind(stack.middleware[0]), 'tokenBudget');
    const pair = await connectPair({ server: stack.middleware });
    try {
      const long = 'lorem ipsum dolor sit amet '.repeat(400);
      const short = await pair.client.callTool({ name: 'echo', arguments: { text: 'hi' } });
      assert.equal(textOf(short), 'hi');
      const result = await pair.client.callTool({ name: 'echo', arguments: { text: long } });
      const text = textOf(result);
      assert.ok(text.length < long.length / 2, `${text.length} characters delivered`);
      assert.match(text, /token budget: .*\(limit 300\)/);
      assert.equal(budget.stats().cut, 1);
      assert.ok(budget.counter.count(text) < TOKEN_BUDGET_DEFAULTS.maxTokens);
    } finally {
      await pair.close();
      await stack.close();
    }
  });

  it('names the path of a bad value', () => {
    assertIssuesAt(
      {
        middleware: [
          { metrics: {} },
          {
            tokenBudget: {
              maxTokens: 10,
              tools: { search: 'lots' },
              counter: 'words',
              pageTtlMs: 'soon',
              session: { policy: 'refuse' },
              onCut: 'log',
            },
          },
        ],
      },
      [
        'middleware[1].tokenBudget.maxTokens',
        'middleware[1].tokenBudget.tools.search',
        'middleware[1].tokenBudget.counter',
        'middleware[1].tokenBudget.pageTtlMs',
        'middleware[1].tokenBudget.session.tokens',
        'middleware[1].tokenBudget.onCut',
      ],
    );
  });
});
