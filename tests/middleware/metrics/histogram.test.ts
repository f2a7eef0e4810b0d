import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createHistogram,
  foldInto,
  type Histogram,
  PendingLatency,
} from '../../../src/middleware/metrics/histogram.js';

/** A deterministic spread of latencies: dense below 1 ms, then every power of two up to `highest`. */
function latencies(highest: number): number[] {
  const out: number[] = [];
  let seed = 7;
  for (let i = 0; i < 5000; i++) {
    seed = (seed * 48271) % 2147483647;
    out.push(seed % 1000);
  }
  for (let v = 1; v <= highest; v *= 2) out.push(v - 1, v, Math.min(v + 1, highest));
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 48271) % 2147483647;
    out.push(seed % (highest + 1));
  }
  return out;
}

function assertSameCounts(actual: Histogram, expected: Histogram, what: string): void {
  assert.equal(actual.totalCount, expected.totalCount, `${what}: total`);
  assert.equal(actual.countsArrayLength, expected.countsArrayLength, `${what}: layout`);
  for (let i = 0; i < expected.countsArrayLength; i++) {
    if (actual.getCountAtIndex(i) !== expected.getCountAtIndex(i)) {
      assert.fail(
        `${what}: bucket ${i} (from ${expected.valueFromIndex(i)} µs) holds ${actual.getCountAtIndex(i)}, expected ${expected.getCountAtIndex(i)}`,
      );
    }
  }
}

describe('PendingLatency', () => {
  for (const digits of [1, 2, 3, 4, 5]) {
    for (const highest of [3_600_000_000, 60_000_000, 1_000]) {
      it(`drains into exactly the buckets HDR would have used (${digits} digits, up to ${highest} µs)`, () => {
        const values = latencies(highest);
        const direct = createHistogram(highest, digits);
        const directLow = createHistogram(highest, Math.max(1, digits - 1));
        const pending = new PendingLatency(highest, digits);
        for (const v of values) {
          direct.recordValue(v);
          directLow.recordValue(v);
          pending.record(v);
        }
        assert.equal(pending.count, values.length);
        const drained = createHistogram(highest, digits);
        const drainedLow = createHistogram(highest, Math.max(1, digits - 1));
        pending.drainInto(drained, drainedLow);
        assertSameCounts(drained, direct, 'same digits');
        assertSameCounts(drainedLow, directLow, 'fewer digits');
        assert.equal(pending.count, 0);
      });
    }
  }

  it('forgets what it drained, and drains nothing twice', () => {
    const pending = new PendingLatency(60_000_000, 3);
    const a = createHistogram(60_000_000, 3);
    const b = createHistogram(60_000_000, 2);
    pending.record(12);
    pending.record(40_000_000);
    pending.drainInto(a, b);
    pending.drainInto(a, b);
    assert.equal(a.totalCount, 2);
    assert.equal(b.totalCount, 2);
    pending.record(500);
    pending.drainInto(a, b);
    assert.equal(a.totalCount, 3);
    assert.equal(a.getCountAtIndex(a.countsArrayIndex(500)), 1);
    assert.equal(a.getCountAtIndex(a.countsArrayIndex(12)), 1);
  });
});

describe('foldInto', () => {
  it('adds counts up to the source maximum, into the same or fewer digits', () => {
    const source = createHistogram(3_600_000_000, 3);
    const expected = createHistogram(3_600_000_000, 2);
    for (const v of latencies(3_600_000_000)) {
      source.recordValue(v);
      expected.recordValue(v);
    }
    const target = createHistogram(3_600_000_000, 2);
    foldInto(target, source);
    assertSameCounts(target, expected, 'folded');
    foldInto(target, createHistogram(3_600_000_000, 3));
    assert.equal(target.totalCount, expected.totalCount, 'an empty source adds nothing');
  });
});
