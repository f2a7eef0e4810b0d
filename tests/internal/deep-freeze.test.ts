import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deepFreeze } from '../../src/internal/deep-freeze.js';

describe('deepFreeze', () => {
  it('freezes plain objects and arrays at every level, in place', () => {
    const value = { a: [1, { b: { c: [2] } }], d: 'x' };
    assert.equal(deepFreeze(value), true);
    assert.ok(Object.isFrozen(value));
    assert.ok(Object.isFrozen(value.a));
    assert.ok(Object.isFrozen(value.a[1]));
    const inner = (value.a[1] as { b: { c: number[] } }).b.c;
    assert.ok(Object.isFrozen(inner));
    assert.throws(() => inner.push(3), TypeError);
  });

  it('descends into objects someone froze only at the top', () => {
    const value = Object.freeze({ inner: { n: 1 } });
    assert.equal(deepFreeze(value), true);
    assert.ok(Object.isFrozen(value.inner));
  });

  it('answers false for what it cannot freeze in place (other classes, too deep)', () => {
    assert.equal(deepFreeze({ at: new Date(0) }), false);
    assert.equal(deepFreeze({ bytes: new Uint8Array(2) }), false);
    let deep: unknown = {};
    for (let i = 0; i < 300; i++) deep = { deep };
    assert.equal(deepFreeze(deep), false);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(deepFreeze(cyclic), false);
  });

  it('accepts scalars and null-prototype objects', () => {
    assert.equal(deepFreeze('s'), true);
    assert.equal(deepFreeze(null), true);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: [1] });
    assert.equal(deepFreeze(bare), true);
    assert.ok(Object.isFrozen(bare.a));
  });
});
