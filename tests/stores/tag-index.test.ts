import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVERY_KEY, TagIndex } from '../../src/stores/tag-index.js';

/** A toy store: key → tags, which the index is told about as a store would tell it. */
function harness(listLimit = 1_000_000) {
  const entries = new Map<string, readonly string[]>();
  const carries = (key: string, tag: string) => entries.get(key)?.includes(tag) === true;
  const index = new TagIndex(carries, listLimit);
  /** The listed keys of a tag that is not broad. */
  const listed = (tag: string): string[] => {
    const keys = index.candidates(tag);
    assert.notEqual(keys, EVERY_KEY, `${tag} is listed`);
    return keys as string[];
  };
  return {
    index,
    entries,
    listed,
    set(key: string, tags: readonly string[]) {
      const old = entries.get(key);
      if (old !== undefined) index.remove(old);
      entries.set(key, tags);
      index.add(key, tags);
    },
    drop(key: string) {
      const old = entries.get(key);
      if (old === undefined) return;
      entries.delete(key);
      index.remove(old);
    },
    /** The keys that really carry `tag`, as the store's invalidation would find them. */
    carrying(tag: string) {
      const keys = index.candidates(tag);
      const all = keys === EVERY_KEY ? [...entries.keys()] : keys;
      return [...new Set(all)].filter((k) => carries(k, tag)).sort();
    },
  };
}

describe('TagIndex', () => {
  it('finds every key carrying a tag, through replacements and removals', () => {
    const h = harness();
    h.set('a', ['method:tools/call', 'tool:x']);
    h.set('b', ['method:tools/call', 'tool:y']);
    h.set('c', ['method:tools/call', 'tool:x']);
    assert.deepEqual(h.carrying('tool:x'), ['a', 'c']);
    assert.deepEqual(h.carrying('method:tools/call'), ['a', 'b', 'c']);
    h.set('a', ['method:tools/call', 'tool:y']);
    assert.deepEqual(h.carrying('tool:x'), ['c']);
    assert.deepEqual(h.carrying('tool:y'), ['a', 'b']);
    h.drop('c');
    assert.deepEqual(h.carrying('tool:x'), []);
    assert.deepEqual(h.index.candidates('tool:x'), [], 'a tag with no live entry is forgotten');
    assert.equal(h.index.size, 2);
  });

  it('keeps its lists near the live count under churn', () => {
    const h = harness();
    for (let i = 0; i < 10_000; i++) {
      h.set(`k${i}`, ['method:tools/call', 'tool:page']);
      if (i >= 100) h.drop(`k${i - 100}`);
    }
    assert.deepEqual(h.carrying('tool:page').length, 100);
    assert.ok(h.listed('tool:page').length <= 4 * 100 + 33, 'compacted');
    for (let i = 0; i < 2_000; i++) h.set('same', ['tool:page']);
    assert.ok(
      h.listed('tool:page').length <= 4 * 101 + 33,
      'a key stored again and again does not pile up: compaction drops its repeats',
    );
    assert.deepEqual(h.carrying('tool:page').length, 101);
  });

  it('stops listing a tag carried by more entries than its limit, until none carries it', () => {
    const h = harness(3);
    for (const key of ['a', 'b', 'c']) h.set(key, ['broad', `own:${key}`]);
    assert.deepEqual([...h.listed('broad')].sort(), ['a', 'b', 'c']);
    h.set('d', ['broad', 'own:d']);
    assert.equal(h.index.candidates('broad'), EVERY_KEY, 'a fourth entry makes it broad');
    assert.deepEqual(h.carrying('broad'), ['a', 'b', 'c', 'd']);
    assert.deepEqual(h.listed('own:d'), ['d'], 'narrow tags stay listed');
    h.drop('a');
    h.drop('b');
    assert.equal(h.index.candidates('broad'), EVERY_KEY, 'still broad while entries carry it');
    h.drop('c');
    h.drop('d');
    assert.deepEqual(h.index.candidates('broad'), [], 'forgotten when none carries it');
    h.set('e', ['broad']);
    assert.deepEqual(h.listed('broad'), ['e'], 'listed again from scratch');
  });

  it('forgets everything on clear', () => {
    const h = harness();
    h.set('a', ['t']);
    h.index.clear();
    assert.deepEqual(h.index.candidates('t'), []);
    assert.equal(h.index.size, 0);
  });
});
