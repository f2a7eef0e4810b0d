import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyMaterial, paramsKeyMaterial } from '../../src/internal/key-material.js';
import { canonicalJson } from '../helpers/canonical-json.js';

/** Values whose canonical JSON differs pairwise, and some that share it. */
const samples: unknown[] = [
  'plain',
  '',
  'quote " backslash \\ newline \n unicode \u2028 emoji 😀 nul \u0000',
  '\ud800',
  '\ud801',
  'a\udc00b',
  "'3:abc",
  '#1',
  0,
  1,
  -1.5,
  1e21,
  -1e-7,
  true,
  false,
  null,
  [],
  {},
  [[]],
  [{}],
  ['a', 'b'],
  ['ab'],
  { a: 'b' },
  { ab: '' },
  { a: { b: 1 } },
  { 'a{': 1 },
  [1, [2, [3]]],
  [[1, 2], 3],
  { k: '1:x' },
  { k: '1', x: '' },
];

/** A small deterministic generator in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('keyMaterial', () => {
  it('gives equal text exactly when the canonical JSON is equal (pairwise over the samples)', () => {
    for (const a of samples) {
      for (const b of samples) {
        const sameJson = canonicalJson(a) === canonicalJson(b);
        const sameMaterial = keyMaterial(a) === keyMaterial(b);
        assert.equal(sameMaterial, sameJson, `${String(canonicalJson(a))} vs ${String(canonicalJson(b))}`);
      }
    }
  });

  it('follows JSON.stringify on what is left out, -0, non-finite numbers and toJSON', () => {
    assert.equal(keyMaterial({ u: undefined, f: () => 1, ok: 1 }), keyMaterial({ ok: 1 }));
    assert.equal(keyMaterial([undefined, () => 1, Number.NaN]), keyMaterial([null, null, null]));
    assert.equal(keyMaterial(-0), keyMaterial(0));
    assert.equal(keyMaterial(new Date(0)), keyMaterial('1970-01-01T00:00:00.000Z'));
    assert.equal(keyMaterial(undefined), undefined);
  });

  it('sorts keys at every level, whatever the insertion order', () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } };
    const b = { a: { c: 'x', d: [3, { y: 2, z: 1 }] }, b: 1 };
    assert.equal(keyMaterial(a), keyMaterial(b));
  });

  it('sorts small and large objects alike, in code-unit order, whatever the insertion order', () => {
    const random = seeded(7);
    for (const size of [2, 3, 15, 16, 17, 40]) {
      const names = Array.from({ length: size }, (_, i) => `${String.fromCharCode(65 + ((i * 7) % 58))}${i}`);
      names.push('é', 'Z', 'a', '10', '9');
      const sorted = Object.fromEntries([...names].sort().map((n) => [n, n.length]));
      for (let round = 0; round < 5; round++) {
        const shuffled = [...names].sort(() => random() - 0.5);
        const value = Object.fromEntries(shuffled.map((n) => [n, n.length]));
        assert.equal(keyMaterial(value), keyMaterial(sorted), `size ${size}, round ${round}`);
        assert.equal(canonicalJson(value), canonicalJson(sorted));
      }
    }
  });

  it('keeps lone surrogates apart (they would all become U+FFFD in UTF-8)', () => {
    assert.notEqual(keyMaterial('\ud800'), keyMaterial('\ud801'));
    assert.notEqual(keyMaterial('\ud800'), keyMaterial('\ufffd'));
    assert.ok(keyMaterial('\ud800')!.startsWith('"'));
    assert.ok(keyMaterial('😀')!.startsWith("'"));
  });

  it('costs the same for a long string as a concatenation: no escaping pass', () => {
    const long = 'x"'.repeat(5_000);
    assert.equal(keyMaterial(long), `'${long.length}:${long}`);
  });

  it('throws on a bigint and on a cycle instead of looping', () => {
    assert.throws(() => keyMaterial({ n: 1n }), /bigint/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => keyMaterial(cyclic), /circular/);
  });
});

describe('paramsKeyMaterial', () => {
  it('leaves out the top-level _meta only', () => {
    assert.equal(
      paramsKeyMaterial({ name: 'x', _meta: { progressToken: 1 } }),
      paramsKeyMaterial({ name: 'x' }),
    );
    assert.notEqual(
      paramsKeyMaterial({ name: 'x', arguments: { _meta: 1 } }),
      paramsKeyMaterial({ name: 'x', arguments: {} }),
    );
  });

  it('treats missing params as {}', () => {
    assert.equal(paramsKeyMaterial(undefined), paramsKeyMaterial({}));
    assert.equal(paramsKeyMaterial({ _meta: {} }), '{}');
  });
});
