import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseSize } from '../../src/config/index.js';

describe('parseDuration', () => {
  it('reads numbers as milliseconds and strings with a unit', () => {
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration(' 10 s '), 10_000);
  });
  it('refuses what is not a non-negative duration', () => {
    for (const bad of [
      '5 minutes',
      '5',
      'm',
      '-1s',
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      null,
      {},
      '1e3ms',
    ]) {
      assert.equal(parseDuration(bad), undefined, String(bad));
    }
  });
});

describe('parseSize', () => {
  it('reads integers as bytes and strings with decimal or binary units', () => {
    assert.equal(parseSize(512), 512);
    assert.equal(parseSize('512B'), 512);
    assert.equal(parseSize('64KB'), 64_000);
    assert.equal(parseSize('64KiB'), 65_536);
    assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
    assert.equal(parseSize('1gib'), 1024 ** 3);
    assert.equal(parseSize('1.5MB'), 1_500_000);
  });
  it('refuses what is not a non-negative size', () => {
    for (const bad of ['64 megabytes', '64', 'MiB', '-1KB', 1.5, -1, '64Mi', null]) {
      assert.equal(parseSize(bad), undefined, String(bad));
    }
  });
});
