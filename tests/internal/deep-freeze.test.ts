import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deepFreeze, frozenCopy } from '../../src/internal/deep-freeze.js';

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

describe('frozenCopy', () => {
  it('copies plain objects and arrays at every level, frozen, leaving the value alone', () => {
    const value = { a: [1, { b: 'x' }], c: { d: null } };
    const copy = frozenCopy(value);
    assert.deepEqual(copy, value);
    assert.notEqual(copy, value);
    assert.notEqual(copy.a, value.a);
    assert.ok(Object.isFrozen(copy) && Object.isFrozen(copy.a) && Object.isFrozen(copy.a[1]));
    assert.ok(!Object.isFrozen(value) && !Object.isFrozen(value.a));
  });

  it('keeps a "__proto__" own key as data, not as the prototype', () => {
    const odd = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const copy = frozenCopy(odd);
    assert.deepEqual(Object.keys(copy), ['__proto__']);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.equal((copy as { polluted?: boolean }).polluted, undefined);
  });

  it('copies objects of other classes with structuredClone and freezes the copy', () => {
    const value = { at: new Date(5) };
    const copy = frozenCopy(value);
    assert.ok(copy.at instanceof Date && copy.at !== value.at && Object.isFrozen(copy.at));
    assert.equal(copy.at.getTime(), 5);
    assert.ok(!Object.isFrozen(value.at));
  });

  it('refuses a cycle with a TypeError instead of overflowing the stack', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => frozenCopy(cyclic), TypeError);
  });

  it('answers scalars as they are', () => {
    assert.equal(frozenCopy('s'), 's');
    assert.equal(frozenCopy(null), null);
  });
});
