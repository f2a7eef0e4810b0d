import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { beyondLimit, decideLimit, judgeValues } from '../../src/bench/index.js';

const UPPER = { limit: 1.1, upper: true };
const LOWER = { limit: 50, upper: false };

describe('decideLimit: the re-measurement rule', () => {
  it('passes a first median within the limit, without asking for more', () => {
    const v = decideLimit(UPPER, [1.0, 1.3, 1.05]);
    assert.equal(v.status, 'pass');
    assert.equal(v.judgement.value.median, 1.05);
  });

  it('asks for a re-measurement when the first median breaches', () => {
    assert.equal(decideLimit(UPPER, [1.2, 1.3, 1.0]).status, 'remeasure');
  });

  it('lets the re-measurement decide: within the limit passes', () => {
    const v = decideLimit(UPPER, [1.2, 1.3, 1.25], [1.0, 1.02, 1.05, 0.98]);
    assert.equal(v.status, 'pass');
    assert.equal(v.judgement.value.n, 4);
  });

  it('fails only when the re-measured median and its better quartile both breach', () => {
    assert.equal(decideLimit(UPPER, [1.3], [1.15, 1.2, 1.25, 1.3, 1.2]).status, 'fail');
    // Median 1.2 beyond 1.1, lower quartile 1.0 within it: noisy, a pass.
    const noisy = decideLimit(UPPER, [1.3], [0.9, 1.0, 1.2, 1.3, 1.4]);
    assert.equal(noisy.status, 'noisy');
    assert.equal(noisy.judgement.medianBreached, true);
    assert.equal(noisy.judgement.quartileBreached, false);
  });

  it('reads the upper quartile for a lower limit', () => {
    assert.equal(decideLimit(LOWER, [40], [30, 40, 45, 60, 70]).status, 'noisy');
    assert.equal(decideLimit(LOWER, [40], [30, 35, 40, 45, 48]).status, 'fail');
    assert.equal(decideLimit(LOWER, [40], [50, 55, 60]).status, 'pass');
  });

  it('one value is its own quartiles: a re-measured breach fails, never noisy', () => {
    assert.equal(decideLimit(UPPER, [1.2], [1.15]).status, 'fail');
    assert.equal(decideLimit(UPPER, [1.2], [1.1]).status, 'pass');
  });

  it('treats the limit itself as within it', () => {
    assert.equal(beyondLimit(UPPER, 1.1), false);
    assert.equal(beyondLimit(LOWER, 50), false);
    assert.equal(judgeValues(UPPER, [1.1, 1.1]).medianBreached, false);
  });

  it('throws on no values rather than judging nothing', () => {
    assert.throws(() => judgeValues(UPPER, []), /no values/);
  });
});
