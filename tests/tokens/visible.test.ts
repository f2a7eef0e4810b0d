import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { TokenCounter } from '../../src/tokens/types.js';
import {
  countRequestTokens,
  countResultTokens,
  countToolTokens,
  visibleRequestText,
  visibleResultText,
} from '../../src/tokens/visible.js';

/** Counts characters, so expected totals are easy to read. */
const chars: TokenCounter = { name: 'chars', exact: true, count: (text) => text.length };

function fixture(path: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/tokens/${path}`, import.meta.url), 'utf8'));
}

describe('visibleResultText', () => {
  it('tools/call: text blocks, embedded resource text, resource links and structured content', () => {
    const result = {
      content: [
        { type: 'text', text: 'Sunny, 21°C' },
        { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
        { type: 'audio', data: 'UklGRg==', mimeType: 'audio/wav' },
        { type: 'resource', resource: { uri: 'file:///a.txt', mimeType: 'text/plain', text: 'file body' } },
        { type: 'resource', resource: { uri: 'file:///a.bin', blob: 'AAEC' } },
        { type: 'resource_link', uri: 'file:///b.md', name: 'b.md', description: 'notes' },
      ],
      structuredContent: { tempC: 21 },
      isError: false,
    };
    assert.deepEqual(visibleResultText('tools/call', result), [
      'Sunny, 21°C',
      'file body',
      'b.md',
      'file:///b.md',
      'notes',
      '{"tempC":21}',
    ]);
    assert.equal(countResultTokens('tools/call', result, chars), 11 + 9 + 4 + 12 + 5 + 12);
  });

  it('counts image and audio blocks as nothing', () => {
    const result = { content: [{ type: 'image', data: 'x'.repeat(10_000), mimeType: 'image/png' }] };
    assert.equal(countResultTokens('tools/call', result, chars), 0);
  });

  it('tools/list: name, description and schemas as JSON, per tool', () => {
    const tool = {
      name: 'echo',
      title: 'Echo',
      description: 'Echoes text.',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
      outputSchema: { type: 'object' },
      annotations: { readOnlyHint: true },
    };
    assert.deepEqual(visibleResultText('tools/list', { tools: [tool, { name: 'bare' }] }), [
      'echo',
      'Echoes text.',
      JSON.stringify(tool.inputSchema),
      '{"type":"object"}',
      'bare',
    ]);
    assert.equal(countToolTokens(tool, chars), 4 + 12 + JSON.stringify(tool.inputSchema).length + 17);
  });

  it('tools/list: the total is the sum of the tools on a fixture list', () => {
    const list = fixture('tools/github-30-tools.json') as { tools: unknown[]; nextCursor: string };
    const perTool = list.tools.map((tool) => countToolTokens(tool, chars));
    assert.equal(perTool.length, 30);
    assert.ok(perTool.every((n) => n > 100));
    assert.equal(
      countResultTokens('tools/list', list, chars),
      perTool.reduce((a, b) => a + b, 0),
    );
  });

  it('resources/read: text contents only', () => {
    const result = {
      contents: [
        { uri: 'file:///a.md', mimeType: 'text/markdown', text: '# Title' },
        { uri: 'file:///logo.png', mimeType: 'image/png', blob: 'iVBORw0KGgo=' },
        { uri: 'file:///b.txt', text: 'body' },
      ],
    };
    assert.deepEqual(visibleResultText('resources/read', result), ['# Title', 'body']);
    assert.equal(countResultTokens('resources/read', result, chars), 11);
  });

  it('prompts/get: the text of each message, single block or array', () => {
    const result = {
      description: 'for the user, not the model',
      messages: [
        { role: 'user', content: { type: 'text', text: 'Review this code:' } },
        {
          role: 'user',
          content: { type: 'resource', resource: { uri: 'file:///x.ts', text: 'let x = 1;' } },
        },
        { role: 'assistant', content: [{ type: 'text', text: 'Sure.' }] },
        { role: 'user', content: { type: 'image', data: 'AAAA', mimeType: 'image/png' } },
      ],
    };
    assert.deepEqual(visibleResultText('prompts/get', result), ['Review this code:', 'let x = 1;', 'Sure.']);
  });

  it('sampling/createMessage: the generated content', () => {
    const result = { role: 'assistant', model: 'gpt-4o', content: { type: 'text', text: 'Hello' } };
    assert.deepEqual(visibleResultText('sampling/createMessage', result), ['Hello']);
  });

  it('yields nothing for other methods', () => {
    assert.deepEqual(visibleResultText('resources/list', { resources: [{ uri: 'a', name: 'b' }] }), []);
    assert.deepEqual(visibleResultText('ping', {}), []);
  });

  it('never throws on odd shapes and counts what is there', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const odd: Array<[string, unknown]> = [
      ['tools/call', null],
      ['tools/call', 'a string'],
      ['tools/call', 42],
      ['tools/call', { content: 'not blocks' }],
      [
        'tools/call',
        { content: [null, 1, 'x', { type: 'text' }, { type: 'text', text: 5 }, { type: 'resource' }] },
      ],
      ['tools/call', { content: { type: 'text', text: 'single' } }],
      ['tools/call', { structuredContent: circular }],
      ['tools/call', { structuredContent: { big: 10n } }],
      ['tools/list', { tools: 'none' }],
      ['tools/list', { tools: [null, 3, { name: 7, inputSchema: circular }] }],
      ['resources/read', { contents: [null, { text: 1 }] }],
      ['prompts/get', { messages: [null, { content: null }] }],
      ['prompts/get', { messages: {} }],
    ];
    for (const [method, result] of odd) {
      assert.doesNotThrow(() => countResultTokens(method, result, chars), `${method} ${String(result)}`);
    }
    assert.deepEqual(visibleResultText('tools/call', odd[5]![1]), ['single']);
    assert.equal(
      countResultTokens('tools/call', { content: [{ type: 'text', text: 'ok' }, null] }, chars),
      2,
    );
  });
});

describe('visibleRequestText', () => {
  it('tools/call: the tool name and its arguments as JSON', () => {
    const params = { name: 'weather', arguments: { city: 'Oslo' }, _meta: { progressToken: 1 } };
    assert.deepEqual(visibleRequestText('tools/call', params), ['weather', '{"city":"Oslo"}']);
    assert.equal(countRequestTokens('tools/call', params, chars), 7 + 15);
    assert.deepEqual(visibleRequestText('tools/call', { name: 'now' }), ['now']);
  });

  it('sampling/createMessage: the system prompt and the messages', () => {
    const params = {
      systemPrompt: 'Be brief.',
      messages: [{ role: 'user', content: { type: 'text', text: 'Summarise' } }],
      maxTokens: 100,
    };
    assert.deepEqual(visibleRequestText('sampling/createMessage', params), ['Be brief.', 'Summarise']);
  });

  it('yields nothing for other methods and odd params', () => {
    assert.deepEqual(visibleRequestText('resources/read', { uri: 'file:///a' }), []);
    assert.equal(countRequestTokens('tools/call', undefined, chars), 0);
    assert.equal(countRequestTokens('tools/call', { arguments: { n: 10n } }, chars), 0);
  });
});
