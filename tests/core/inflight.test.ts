import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InflightTable } from '../../src/core/inflight.js';
import type { RequestId } from '../../src/index.js';

const entry = (id: RequestId) => ({ id });

describe('InflightTable', () => {
  it('finds, counts and removes integer, string and fractional ids alike', () => {
    const table = new InflightTable<{ id: RequestId }>();
    const entries = [entry(0), entry(1), entry(-3), entry('a'), entry(''), entry(2.5), entry(2 ** 40)];
    for (const e of entries) table.add(e);
    assert.equal(table.size, entries.length);
    for (const e of entries) assert.equal(table.get(e.id), e);
    assert.equal(table.get(2), undefined);
    assert.equal(table.get('0'), undefined, 'a string id is not the number with the same digits');
    for (const e of entries) assert.equal(table.remove(e), true);
    assert.equal(table.size, 0);
    for (const e of entries) assert.equal(table.get(e.id), undefined);
  });

  it('keeps integer ids that share a slot apart', () => {
    const table = new InflightTable<{ id: RequestId }>();
    const low = entry(5);
    const high = entry(5 + 256);
    const higher = entry(5 + 512);
    table.add(low);
    table.add(high);
    table.add(higher);
    assert.equal(table.get(5), low);
    assert.equal(table.get(5 + 256), high);
    assert.equal(table.get(5 + 512), higher);
    assert.equal(table.remove(low), true);
    assert.equal(table.get(5 + 256), high, 'the overflowed id is still found once its slot frees');
    const again = entry(5);
    table.add(again);
    assert.equal(table.get(5), again);
    assert.deepEqual(new Set(table.values()), new Set([again, high, higher]));
  });

  it('holds more requests than it has slots', () => {
    const table = new InflightTable<{ id: RequestId }>();
    const entries = Array.from({ length: 1000 }, (_, i) => entry(i));
    for (const e of entries) table.add(e);
    assert.equal(table.size, 1000);
    for (const e of entries) assert.equal(table.get(e.id), e);
    for (const e of entries.filter((_, i) => i % 2 === 0)) table.remove(e);
    assert.equal(table.size, 500);
    for (const [i, e] of entries.entries()) assert.equal(table.get(e.id), i % 2 === 0 ? undefined : e);
  });

  it('removes only the entry it is given, not another under the same id', () => {
    const table = new InflightTable<{ id: RequestId }>();
    const first = entry(7);
    table.add(first);
    assert.equal(table.remove(entry(7)), false);
    assert.equal(table.get(7), first);
    const named = entry('x');
    table.add(named);
    assert.equal(table.remove(entry('x')), false);
    assert.equal(table.remove(named), true);
    assert.equal(table.remove(named), false, 'a second removal finds nothing');
    assert.equal(table.size, 1);
  });

  it('lists a copy of its entries and clears them all', () => {
    const table = new InflightTable<{ id: RequestId }>();
    const entries = [entry(1), entry('b'), entry(257)];
    for (const e of entries) table.add(e);
    for (const e of table.values()) table.remove(e);
    assert.equal(table.size, 0);
    for (const e of entries) table.add(e);
    table.clear();
    assert.equal(table.size, 0);
    assert.deepEqual(table.values(), []);
    assert.equal(table.get(1), undefined);
  });
});
