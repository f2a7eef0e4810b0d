import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, canonicalParams } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts object keys at every level, whatever the insertion order', () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } };
    const b = { a: { c: 'x', d: [3, { y: 2, z: 1 }] }, b: 1 };
    assert.equal(canonicalJson(a), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    assert.equal(canonicalJson(a), canonicalJson(b));
  });

  it('keeps array order (arrays are ordered data)', () => {
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  });

  it('agrees with JSON.stringify on scalars, escapes and edge values', () => {
    const samples: unknown[] = [
      'plain',
      'quote " backslash \\ newline \n tab \t unicode \u2028 emoji 😀 nul \u0000',
      0,
      -0,
      1.5,
      1e21,
      -1e-7,
      Number.MAX_SAFE_INTEGER,
      true,
      false,
      null,
      [],
      {},
      [undefined, () => 1, Symbol('s'), Number.NaN, Number.POSITIVE_INFINITY],
      { u: undefined, f: () => 1, s: Symbol('s'), n: Number.NaN, ok: 1 },
      new Date(Date.UTC(2026, 0, 2)),
      { nested: { toJSON: () => ({ replaced: true }) } },
    ];
    for (const sample of samples) {
      assert.equal(canonicalJson(sample), JSON.stringify(sample), `sample ${String(JSON.stringify(sample))}`);
    }
  });

  it('returns undefined where JSON.stringify does', () => {
    assert.equal(canonicalJson(undefined), undefined);
    assert.equal(
      canonicalJson(() => 1),
      undefined,
    );
  });

  it('distinguishes values that differ only in type', () => {
    assert.notEqual(canonicalJson({ a: 1 }), canonicalJson({ a: '1' }));
    assert.notEqual(canonicalJson({ a: null }), canonicalJson({}));
  });

  it('throws on a bigint and on a cycle instead of looping', () => {
    assert.throws(() => canonicalJson({ n: 1n }), /bigint/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), /circular/);
  });

  it('round-trips: parsing the output gives a value deep-equal to the input', () => {
    const value = { z: [1, 'two', { three: [null, true] }], a: { 'key with space': -2.5 } };
    assert.deepEqual(JSON.parse(canonicalJson(value)!), value);
  });
});

describe('canonicalParams', () => {
  it('leaves out the top-level _meta only', () => {
    const withMeta = { name: 'echo', arguments: { _meta: 'kept', text: 'a' }, _meta: { progressToken: 7 } };
    const without = { arguments: { text: 'a', _meta: 'kept' }, name: 'echo' };
    assert.equal(canonicalParams(withMeta), canonicalParams(without));
    assert.equal(canonicalParams(without), '{"arguments":{"_meta":"kept","text":"a"},"name":"echo"}');
  });

  it('treats missing params and empty params alike', () => {
    assert.equal(canonicalParams(undefined), '{}');
    assert.equal(canonicalParams({}), '{}');
    assert.equal(canonicalParams({ _meta: { x: 1 } }), '{}');
  });

  it('keeps a cursor, so each page of a list has its own text', () => {
    assert.notEqual(canonicalParams({ cursor: 'p2' }), canonicalParams({}));
  });
});
