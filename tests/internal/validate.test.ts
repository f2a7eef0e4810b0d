import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInvalidOptionError } from '../../src/errors/index.js';
import {
  clockOption,
  functionOption,
  integerOption,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber,
} from '../../src/internal/validate.js';

function rejects(fn: () => unknown, message: RegExp, option: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isInvalidOptionError(error));
    assert.equal(error.option, option);
    assert.match(error.message, message);
    return true;
  });
}

describe('option validators', () => {
  it('positiveInteger answers the value, or the fallback for undefined', () => {
    assert.equal(positiveInteger('f', 'n', 3), 3);
    assert.equal(positiveInteger('f', 'n', undefined, 7), 7);
    assert.equal(positiveInteger('f', 'n', Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
  });

  it('positiveInteger names the factory, the option and the value it refused', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3', null, 2 ** 53]) {
      rejects(() => positiveInteger('f', 'n', bad), /^f: options\.n must be a positive integer \(got /, 'n');
    }
    rejects(() => positiveInteger('f', 'n', undefined), /must be a positive integer \(got undefined\)/, 'n');
  });

  it('a bounded range says both ends, with thousands separators', () => {
    assert.equal(positiveInteger('f', 'n', 5, undefined, 5), 5);
    rejects(
      () => positiveInteger('f', 'n', 6, undefined, 5),
      /must be an integer from 1 to 5 \(got 6\)/,
      'n',
    );
    rejects(
      () => positiveInteger('f', 'w', 0, undefined, 10_000_000),
      /must be an integer from 1 to 10,000,000/,
      'w',
    );
    assert.equal(integerOption('f', 's', undefined, 6, 2, 60), 6);
    rejects(() => integerOption('f', 's', 1, 6, 2, 60), /an integer from 2 to 60/, 's');
  });

  it('integerOption with min 0 accepts zero and says non-negative', () => {
    assert.equal(integerOption('f', 'q', 0, 5, 0), 0);
    rejects(() => integerOption('f', 'q', -1, 5, 0), /must be a non-negative integer/, 'q');
  });

  it('positiveNumber and nonNegativeNumber take fractions, refuse non-finite values', () => {
    assert.equal(positiveNumber('f', 'r', 0.5), 0.5);
    assert.equal(positiveNumber('f', 'r', undefined, 2), 2);
    rejects(() => positiveNumber('f', 'r', 0), /must be a positive number \(got 0\)/, 'r');
    rejects(() => positiveNumber('f', 'r', Number.POSITIVE_INFINITY), /a positive number/, 'r');
    assert.equal(nonNegativeNumber('f', 'd', 0), 0);
    rejects(
      () => nonNegativeNumber('f', 'd', -0.1, undefined, 'a number of ms >= 0'),
      /a number of ms >= 0/,
      'd',
    );
  });

  it('functionOption accepts a function or undefined', () => {
    const f = () => 1;
    assert.equal(functionOption('f', 'cb', f), f);
    assert.equal(functionOption('f', 'cb', undefined), undefined);
    rejects(() => functionOption('f', 'cb', 'x' as never), /options\.cb must be a function/, 'cb');
  });

  it('clockOption takes clock, or the deprecated now, never two different ones', () => {
    const a = () => 1;
    const b = () => 2;
    assert.equal(clockOption('f', {}), undefined);
    assert.equal(clockOption('f', { clock: a }), a);
    assert.equal(clockOption('f', { now: b }), b);
    assert.equal(clockOption('f', { clock: a, now: a }), a);
    rejects(
      () => clockOption('f', { clock: a, now: b }),
      /options\.now must be left out when clock is given/,
      'now',
    );
    rejects(() => clockOption('f', { clock: 5 as never }), /options\.clock must be a function/, 'clock');
  });
});
