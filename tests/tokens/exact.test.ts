import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { Tiktoken } from 'tiktoken';
import {
  DEFAULT_TOKEN_ENCODING,
  encodingForModel,
  exactTokenCounter,
  freeEncoders,
  liveEncoderCount,
  type TokenEncoding,
} from '../../src/entries/tokens.js';
import { isInvalidOptionError } from '../../src/errors/index.js';
import { loadCorpus } from './corpus.js';

const require = createRequire(import.meta.url);
const tiktokenPath = require.resolve('tiktoken');

async function reference(encoding: TokenEncoding): Promise<Tiktoken> {
  const { get_encoding } = await import('tiktoken');
  return get_encoding(encoding);
}

describe('exactTokenCounter', () => {
  it('loads nothing until the first count, then builds one encoder', () => {
    const counter = exactTokenCounter();
    assert.equal(require.cache[tiktokenPath], undefined, 'tiktoken loaded by the import or the factory');
    assert.equal(liveEncoderCount(), 0);
    assert.equal(counter.count('Hello, world!'), 4);
    assert.notEqual(require.cache[tiktokenPath], undefined);
    assert.equal(liveEncoderCount(), 1);
    counter.dispose();
    assert.equal(liveEncoderCount(), 0);
  });

  it('defaults to o200k_base and names itself after its encoding', () => {
    assert.equal(DEFAULT_TOKEN_ENCODING, 'o200k_base');
    const counter = exactTokenCounter();
    assert.equal(counter.encoding, 'o200k_base');
    assert.equal(counter.name, 'tiktoken:o200k_base');
    assert.equal(counter.exact, true);
    assert.equal(exactTokenCounter({ encoding: 'cl100k_base' }).name, 'tiktoken:cl100k_base');
  });

  for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
    it(`equals tiktoken's own ${encoding} count on every corpus sample`, async () => {
      const direct = await reference(encoding);
      const counter = exactTokenCounter({ encoding });
      try {
        for (const sample of loadCorpus()) {
          assert.equal(
            counter.count(sample.text),
            direct.encode_ordinary(sample.text).length,
            `${sample.category}/${sample.name}`,
          );
        }
      } finally {
        direct.free();
        counter.dispose();
      }
    });
  }

  it('counts special tokens in user text as ordinary text instead of throwing', async () => {
    const direct = await reference('o200k_base');
    const counter = exactTokenCounter();
    try {
      for (const text of [
        '<|endoftext|>',
        'before <|endoftext|> after',
        '<|endofprompt|><|fim_prefix|><|fim_middle|><|fim_suffix|>',
        'a tool said: <|endoftext|><|im_start|>system',
      ]) {
        assert.throws(() => direct.encode(text), /special token/, `reference should refuse ${text}`);
        const n = counter.count(text);
        assert.equal(n, direct.encode_ordinary(text).length, text);
        assert.ok(n > 1, `${text} counted as one special token`);
      }
    } finally {
      direct.free();
      counter.dispose();
    }
  });

  it('shares one encoder per encoding across counters and frees it when the last holder disposes', () => {
    const a = exactTokenCounter();
    const b = exactTokenCounter({ model: 'gpt-4o' });
    const c = exactTokenCounter({ encoding: 'cl100k_base' });
    a.count('x');
    b.count('y');
    assert.equal(liveEncoderCount(), 1, 'two o200k counters share one encoder');
    c.warm();
    assert.equal(liveEncoderCount(), 2);
    a.dispose();
    a.dispose();
    assert.equal(liveEncoderCount(), 2, 'b still holds the o200k encoder');
    assert.equal(b.count('still works'), 2);
    b.dispose();
    assert.equal(liveEncoderCount(), 1);
    c.dispose();
    assert.equal(liveEncoderCount(), 0);
    assert.equal(a.count('Hello, world!'), 4, 'a disposed counter takes the encoder again');
    assert.equal(liveEncoderCount(), 1);
    a.dispose();
    assert.equal(liveEncoderCount(), 0);
  });

  it('freeEncoders frees every encoder and leaves counters usable', () => {
    const a = exactTokenCounter();
    const c = exactTokenCounter({ encoding: 'cl100k_base' });
    a.warm();
    c.warm();
    assert.equal(freeEncoders(), 2);
    assert.equal(liveEncoderCount(), 0);
    assert.equal(freeEncoders(), 0);
    assert.equal(a.count('Hello, world!'), 4);
    assert.equal(c.count('Hello, world!'), 4);
    assert.equal(liveEncoderCount(), 2);
    a.dispose();
    c.dispose();
    assert.equal(liveEncoderCount(), 0);
  });

  it('validates its options at factory time', () => {
    assert.throws(
      () => exactTokenCounter({ encoding: 'p50k_base' as TokenEncoding }),
      (e: unknown) => isInvalidOptionError(e) && /options\.encoding.*"p50k_base"/.test(e.message),
    );
    assert.throws(
      () => exactTokenCounter({ encoding: 'o200k_base', model: 'gpt-4o' }),
      (e: unknown) => isInvalidOptionError(e) && e.option === 'encoding',
    );
    assert.throws(
      () => exactTokenCounter({ model: 'claude-sonnet-4' }),
      (e: unknown) =>
        isInvalidOptionError(e) && e.option === 'model' && e.message.includes('"claude-sonnet-4"'),
    );
  });
});

describe('encodingForModel', () => {
  const cases: Array<[string, TokenEncoding]> = [
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini', 'o200k_base'],
    ['gpt-4o-2024-08-06', 'o200k_base'],
    ['chatgpt-4o-latest', 'o200k_base'],
    ['gpt-4.1', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-4.5-preview', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['o1-mini', 'o200k_base'],
    ['o3', 'o200k_base'],
    ['o3-mini-2025-01-31', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['gpt-5-mini', 'o200k_base'],
    ['GPT-5', 'o200k_base'],
    ['openai/gpt-4.1', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-0613', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['gpt-3.5-turbo-16k', 'cl100k_base'],
    ['gpt-35-turbo', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-embedding-3-large', 'cl100k_base'],
    ['text-embedding-ada-002', 'cl100k_base'],
  ];
  for (const [model, encoding] of cases) {
    it(`maps ${model} to ${encoding}`, () => {
      assert.equal(encodingForModel(model), encoding);
    });
  }

  it('agrees with tiktoken own model table where both know the model', async () => {
    const { get_encoding_name_for_model } = await import('tiktoken');
    for (const [model, encoding] of cases) {
      let theirs: string;
      try {
        theirs = get_encoding_name_for_model(model as Parameters<typeof get_encoding_name_for_model>[0]);
      } catch {
        continue;
      }
      assert.equal(theirs, encoding, model);
    }
  });

  for (const model of ['claude-3-5-sonnet', 'o10', 'gpt-4oo', 'llama3', '', 'gpt']) {
    it(`refuses ${JSON.stringify(model)} with an error naming it`, () => {
      assert.throws(
        () => encodingForModel(model),
        (e: unknown) =>
          isInvalidOptionError(e) &&
          e.option === 'model' &&
          e.message.includes(JSON.stringify(model)) &&
          e.message.includes('options.encoding'),
      );
    });
  }
});
