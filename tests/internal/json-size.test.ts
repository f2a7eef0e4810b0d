import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateJsonSize } from '../../src/internal/json-size.js';

describe('estimateJsonSize', () => {
  it('equals the JSON length for ASCII values without escapes', () => {
    const samples: unknown[] = [
      [],
      {},
      [1],
      { a: 1 },
      'text',
      0,
      -1.5e-7,
      1e21,
      true,
      false,
      null,
      { a: [1, 'x', null, true, false, { b: undefined, c: 2 }], d: undefined },
      [undefined, () => 1, Symbol('s'), Number.NaN],
      new Date(0),
      { nested: { toJSON: () => ({ replaced: true }) } },
      { content: [{ type: 'text', text: 'x'.repeat(1024) }], structuredContent: { n: 12345 } },
    ];
    for (const sample of samples) {
      assert.equal(estimateJsonSize(sample), JSON.stringify(sample).length, String(JSON.stringify(sample)));
    }
  });

  it('counts UTF-16 code units: an estimate, low for escapes and non-ASCII text', () => {
    assert.equal(estimateJsonSize('é'), 3);
    assert.ok(estimateJsonSize('a"b') < JSON.stringify('a"b').length);
  });

  it('stops walking once past the limit', () => {
    const big = { items: Array.from({ length: 10_000 }, (_, i) => ({ id: i, text: 'x'.repeat(100) })) };
    const full = estimateJsonSize(big);
    const bounded = estimateJsonSize(big, 1_000);
    assert.ok(bounded > 1_000);
    assert.ok(bounded < full / 100, `${bounded} should be far below ${full}`);
  });

  it('throws on a bigint and on a cycle', () => {
    assert.throws(() => estimateJsonSize({ n: 1n }), /bigint/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => estimateJsonSize(cyclic), /circular/);
  });
});
