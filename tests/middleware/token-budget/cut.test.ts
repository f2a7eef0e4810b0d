import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exactTokenCounter } from '../../../src/entries/tokens.js';
import { approximateTokenCounter } from '../../../src/index.js';
import {
  type Cut,
  countSlices,
  cutCounted,
  cutText,
  isGraphemeBoundary,
  type SliceCounts,
} from '../../../src/middleware/token-budget/cut.js';
import type { TokenCounter } from '../../../src/tokens/types.js';
import { TRICKY } from './fixtures.js';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

function clusterBoundaries(text: string): Set<number> {
  const set = new Set([...segmenter.segment(text)].map((s) => s.index));
  set.add(text.length);
  return set;
}

async function cut(text: string, budget: number, counter: TokenCounter, whole = true): Promise<Cut> {
  return cutText(text, budget, counter, whole);
}

const SAMPLES: Record<string, string> = {
  emoji: '😀😃😄😁😆😅🤣😂🙂🙃'.repeat(40),
  zwj: '👨‍👩‍👧‍👦👩‍❤️‍💋‍👨🏳️‍🌈👁️‍🗨️'.repeat(30),
  flags: '🇫🇷🇩🇪🇯🇵🇺🇸🇧🇷'.repeat(40),
  cjk: '人工智能正在改变世界。機械学習のモデルは大量のデータを必要とします。한국어 텍스트도 포함됩니다。'.repeat(
    20,
  ),
  combining: 'e\u0301a\u0308o\u0302u\u0300n\u0303 Zalgo: Z\u0351\u036b\u0343\u036a\u0302 '.repeat(60),
  mixed: TRICKY.repeat(20),
};

describe('cutText', () => {
  for (const [name, text] of Object.entries(SAMPLES)) {
    it(`cuts ${name} only between grapheme clusters, within the budget, exactly counted`, async () => {
      const counter = exactTokenCounter();
      const { get_encoding } = await import('tiktoken');
      const reference = get_encoding('o200k_base');
      try {
        const boundaries = clusterBoundaries(text);
        const total = reference.encode_ordinary(text).length;
        for (const budget of [1, 2, 3, 7, 50, 333, Math.floor(total / 2), total - 1]) {
          const c = await cut(text, budget, counter);
          assert.ok(boundaries.has(c.index), `${name} @${budget}: cut inside a cluster at ${c.index}`);
          const kept = text.slice(0, c.index);
          assert.equal(
            c.keptTokens,
            reference.encode_ordinary(kept).length,
            `${name} @${budget}: kept count`,
          );
          assert.ok(c.keptTokens <= budget, `${name} @${budget}: kept ${c.keptTokens} tokens`);
          assert.equal(c.totalTokens, total);
          // Close to the budget: the next cluster would not have fitted (or the text ended).
          const next = [...boundaries].filter((b) => b > c.index).sort((a, b) => a - b)[0];
          if (next !== undefined && c.index > 0) {
            assert.ok(
              reference.encode_ordinary(text.slice(0, next)).length > budget - 8,
              `${name} @${budget}: stopped early at ${c.index}`,
            );
          }
        }
        const all = await cut(text, total, counter);
        assert.equal(all.index, text.length);
      } finally {
        reference.free();
        counter.dispose();
      }
    });
  }

  it('keeps nothing when not even the first cluster fits', async () => {
    const c = await cut('👨‍👩‍👧‍👦 family', 1, approximateTokenCounter());
    assert.equal(c.index, 0);
    assert.equal(c.keptTokens, 0);
  });

  it('stops counting at the limit unless the whole text is asked for', async () => {
    let counted = 0;
    const spy: TokenCounter = {
      name: 'spy',
      exact: true,
      count: (t) => {
        counted += t.length;
        return Math.ceil(t.length / 4);
      },
    };
    const text = 'word '.repeat(100_000);
    const partial = await cut(text, 100, spy, false);
    assert.equal(partial.totalTokens, undefined);
    assert.ok(counted < 20_000, `counted ${counted} characters for a 100-token cut`);
  });

  it('cuts a text counted once at any limit, counting only around the cut', async () => {
    let counted = 0;
    const spy: TokenCounter = {
      name: 'spy',
      exact: false,
      count: (t) => {
        counted += t.length;
        return approximateTokenCounter().count(t);
      },
    };
    const text = `${'INFO request id=4711 path=/api/items/42 status=200\r\n'.repeat(2_000)}${SAMPLES.mixed}`;
    // Segmenting the whole text would be slow (each segment copies its input): judge each
    // cut with the 200 characters before it.
    const boundary = (i: number) => {
      const from = Math.max(0, i - 200);
      return clusterBoundaries(text.slice(from, i + 10)).has(i - from);
    };
    const whole: SliceCounts = await countSlices(text, spy, Number.POSITIVE_INFINITY);
    assert.equal(whole.complete, true);
    assert.equal(counted, text.length, 'counted once, slice by slice');
    for (const budget of [1, 50, 1_000, 4_321, whole.total - 1, whole.total]) {
      counted = 0;
      const cut = cutCounted(whole, budget, spy);
      // At most the slice the cut falls in (4 K characters) and a binary search in its last 256.
      assert.ok(counted < 8_000, `@${budget}: counted ${counted} of ${text.length} characters again`);
      assert.deepEqual(cut, await cutText(text, budget, approximateTokenCounter(), true), `@${budget}`);
      assert.ok(cut.index === 0 || boundary(cut.index), `@${budget}: cut inside a cluster`);
    }
    const partial: SliceCounts = await countSlices(text, spy, 100);
    assert.equal(partial.complete, false);
    assert.throws(() => cutCounted(partial, partial.total, spy), RangeError);
  });

  it('judges boundaries between ASCII characters without a segmenter, CR LF joined', () => {
    const text = 'a\r\nb\n\rc \u0301d\t😀e\u200d\r\n';
    const boundaries = clusterBoundaries(text);
    for (let i = 0; i <= text.length; i++) {
      assert.equal(isGraphemeBoundary(text, i), boundaries.has(i), `at ${i}`);
    }
  });

  it('judges grapheme boundaries with context', () => {
    const family = '👨‍👩‍👧‍👦';
    assert.equal(isGraphemeBoundary(`a${family}b`, 1), true);
    assert.equal(isGraphemeBoundary(`a${family}b`, 3), false);
    assert.equal(isGraphemeBoundary(`a${family}b`, 1 + family.length), true);
    assert.equal(isGraphemeBoundary('e\u0301', 1), false);
  });
});
