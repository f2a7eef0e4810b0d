import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BloomFilter, bloomHashes, bloomSize } from '../../src/stores/bloom.js';

describe('BloomFilter', () => {
  test('sizes itself with the textbook formulas', () => {
    assert.deepEqual(bloomSize(100_000, 0.01), { bits: 958_506, hashes: 7 });
    assert.deepEqual(bloomSize(1_000, 0.001), { bits: 14_378, hashes: 10 });
    assert.equal(bloomSize(1, 0.5).bits, 64, 'never smaller than one 64-bit word');
  });

  test('never forgets a key it was given', () => {
    const filter = new BloomFilter(10_000, 0.01);
    for (let i = 0; i < 10_000; i++) filter.add(`tools/call:search:{"q":"${i}"}`);
    for (let i = 0; i < 10_000; i++) assert.ok(filter.has(`tools/call:search:{"q":"${i}"}`), String(i));
  });

  test('keeps its false-positive rate near the target at the expected load', () => {
    const filter = new BloomFilter(10_000, 0.01);
    for (let i = 0; i < 10_000; i++) filter.add(`present-${i}`);
    let falsePositives = 0;
    for (let i = 0; i < 20_000; i++) if (filter.has(`absent-${i}`)) falsePositives++;
    const rate = falsePositives / 20_000;
    assert.ok(rate < 0.02, `measured ${rate}`);
    const estimate = filter.estimatedFalsePositiveRate();
    assert.ok(estimate > 0.005 && estimate < 0.015, `estimated ${estimate}`);
  });

  test('accepts the announced hash pair of a key in place of the key', () => {
    const sender = bloomHashes('uri:file:///ключ/🔑.txt');
    const filter = new BloomFilter(100, 0.01);
    filter.addHashes(sender[0], sender[1]);
    assert.ok(filter.has('uri:file:///ключ/🔑.txt'));
    assert.ok(sender[0] >= 0 && sender[0] < 2 ** 32 && sender[1] % 2 === 1);
  });

  test('counts distinct keys, not repeated adds, and clears', () => {
    const filter = new BloomFilter(1_000, 0.01);
    filter.add('a');
    filter.add('a');
    filter.add('b');
    assert.equal(filter.count, 2);
    filter.clear();
    assert.equal(filter.count, 0);
    assert.equal(filter.has('a'), false);
    assert.equal(filter.estimatedFalsePositiveRate(), 0);
  });
});
