import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { get_encoding } from 'tiktoken';
import {
  approximateTokenCounter,
  estimateRange,
  estimateTokens,
  rangeCounter,
} from '../../src/tokens/approximate.js';
import { CATEGORIES, loadCorpus, loadHeldOut } from './corpus.js';

/** Headings of the error table in estimateTokens' doc comment, by corpus category. */
const TABLE_ROWS: Record<(typeof CATEGORIES)[number], string> = {
  prose: 'English prose',
  json: 'JSON',
  code: 'source code',
  'non-latin': 'non-Latin',
  tools: 'tool definitions',
  mixed: 'mixed',
};
/** Percentage points the measured error may exceed the documented one by. */
const MARGIN_MEDIAN = 1;
const MARGIN_P90 = 2;

function documentedErrors(): Map<string, { median: number; p90: number }> {
  const source = readFileSync(new URL('../../src/tokens/approximate.ts', import.meta.url), 'utf8');
  const rows = new Map<string, { median: number; p90: number }>();
  for (const match of source.matchAll(/^ \* \| ([^|]+?) \| ([\d.]+)% \| ([\d.]+)% \|/gm)) {
    rows.set(match[1]!, { median: Number(match[2]), p90: Number(match[3]) });
  }
  return rows;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const k = (sorted.length - 1) * q;
  const lo = Math.floor(k);
  const hi = Math.ceil(k);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (k - lo);
}

describe('estimateTokens', () => {
  const corpus = loadCorpus();
  const encoder = get_encoding('o200k_base');
  const exact = new Map(corpus.map((s) => [s, encoder.encode_ordinary(s.text).length]));
  encoder.free();
  const documented = documentedErrors();

  it('is measured on a corpus of at least 40 samples from 50 B to 20 KB', () => {
    assert.ok(corpus.length >= 40, `${corpus.length} samples`);
    for (const sample of corpus) {
      const bytes = Buffer.byteLength(sample.text);
      assert.ok(bytes >= 50 && bytes <= 20_000, `${sample.category}/${sample.name}: ${bytes} B`);
    }
    for (const category of CATEGORIES) {
      assert.ok(corpus.filter((s) => s.category === category).length >= 6, category);
    }
  });

  for (const category of CATEGORIES) {
    it(`stays within its documented error on ${category}`, () => {
      const row = [...documented].find(([heading]) => heading.startsWith(TABLE_ROWS[category]));
      assert.ok(row, `no row for ${category} in the doc comment's table`);
      const [, { median, p90 }] = row;
      const errors = corpus
        .filter((s) => s.category === category)
        .map((s) => (100 * Math.abs(estimateTokens(s.text) - exact.get(s)!)) / exact.get(s)!);
      const measuredMedian = quantile(errors, 0.5);
      const measuredP90 = quantile(errors, 0.9);
      assert.ok(
        measuredMedian <= median + MARGIN_MEDIAN,
        `median ${measuredMedian.toFixed(1)}% > documented ${median}%`,
      );
      assert.ok(measuredP90 <= p90 + MARGIN_P90, `p90 ${measuredP90.toFixed(1)}% > documented ${p90}%`);
    });
  }

  it('stays within its documented error on the fitted corpus and on samples held out of the fit', () => {
    const source = readFileSync(new URL('../../src/tokens/approximate.ts', import.meta.url), 'utf8');
    const table = new Map<string, { samples: number; median: number; p90: number; worst: number }>();
    for (const m of source.matchAll(
      /^ \* \| (fitted|held out) \(`[^`]+`\) \| (\d+) \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \|/gm,
    )) {
      table.set(m[1]!, {
        samples: Number(m[2]),
        median: Number(m[3]),
        p90: Number(m[4]),
        worst: Number(m[5]),
      });
    }
    const heldOut = loadHeldOut();
    const encoder = get_encoding('o200k_base');
    const errorOf = (text: string) => {
      const n = encoder.encode_ordinary(text).length;
      return (100 * Math.abs(estimateTokens(text) - n)) / n;
    };
    try {
      for (const [name, samples] of [
        ['fitted', corpus],
        ['held out', heldOut],
      ] as const) {
        const documentedRow = table.get(name);
        assert.ok(documentedRow, `no ${name} row in the doc comment`);
        assert.equal(samples.length, documentedRow.samples, `${name}: sample count`);
        const errors = samples.map((s) => errorOf(s.text));
        const measuredMedian = quantile(errors, 0.5);
        const measuredP90 = quantile(errors, 0.9);
        assert.ok(
          measuredMedian <= documentedRow.median + MARGIN_MEDIAN,
          `${name}: median ${measuredMedian.toFixed(1)}%`,
        );
        assert.ok(measuredP90 <= documentedRow.p90 + MARGIN_P90, `${name}: p90 ${measuredP90.toFixed(1)}%`);
        assert.ok(
          Math.max(...errors) <= documentedRow.worst + MARGIN_P90,
          `${name}: worst ${Math.max(...errors).toFixed(1)}%`,
        );
      }
      // No held-out sample is a copy of a fitted one.
      const fitted = new Set(corpus.map((s) => s.text));
      for (const sample of heldOut) assert.ok(!fitted.has(sample.text), sample.name);
    } finally {
      encoder.free();
    }
  });

  it('corrects the undercount of chars/4 on JSON', () => {
    const json = corpus.filter((s) => s.category === 'json');
    const signed = (estimate: (text: string) => number) =>
      quantile(
        json.map((s) => (estimate(s.text) - exact.get(s)!) / exact.get(s)!),
        0.5,
      );
    assert.ok(signed((t) => t.length / 4) < -0.2, 'chars/4 no longer undercounts: the corpus changed');
    assert.ok(Math.abs(signed(estimateTokens)) < 0.05);
  });

  it('returns 0 for the empty string and at least 1 otherwise', () => {
    assert.equal(estimateTokens(''), 0);
    for (const text of [' ', 'a', '.', '\n', '中', '\u{1F600}']) assert.ok(estimateTokens(text) >= 1, text);
  });

  it('never throws and stays finite on unusual text', () => {
    for (const text of [
      '<|endoftext|>',
      '\uD800 lone surrogate \uDFFF',
      ' '.repeat(10_000),
      '9'.repeat(1000),
      'x'.repeat(5000),
      '\u0000\u0001\u007f',
      '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
    ]) {
      const n = estimateTokens(text);
      assert.ok(Number.isInteger(n) && n >= 1, `${JSON.stringify(text.slice(0, 20))}: ${n}`);
    }
  });

  it('counts a range of a text in place exactly as it counts the slice', () => {
    const text = loadCorpus()
      .map((sample) => sample.text)
      .join('\n');
    for (let from = 0; from < text.length; from += 997) {
      const to = Math.min(text.length, from + (from % 3_001));
      assert.equal(estimateRange(text, from, to), estimateTokens(text.slice(from, to)), `${from}-${to}`);
    }
    assert.equal(rangeCounter(approximateTokenCounter()), estimateRange);
    const seen: string[] = [];
    const other = rangeCounter({ name: 'spy', exact: true, count: (t) => seen.push(t) });
    other(text, 0, text.length);
    other(text, 2, 5);
    assert.deepEqual(seen, [text, text.slice(2, 5)]);
  });

  it('grows with the text', () => {
    const one = estimateTokens('The quick brown fox jumps over the lazy dog. ');
    const ten = estimateTokens('The quick brown fox jumps over the lazy dog. '.repeat(10));
    assert.ok(ten >= 9 * one && ten <= 11 * one, `${one} vs ${ten}`);
  });
});

describe('approximateTokenCounter', () => {
  it('is a frozen, shared, inexact counter over estimateTokens', () => {
    const counter = approximateTokenCounter();
    assert.equal(counter, approximateTokenCounter());
    assert.ok(Object.isFrozen(counter));
    assert.equal(counter.exact, false);
    assert.equal(counter.name, 'approximate:o200k_base');
    const text = '{"city":"Paris","tempC":17.4}';
    assert.equal(counter.count(text), estimateTokens(text));
    assert.equal(counter.dispose, undefined);
  });
});
