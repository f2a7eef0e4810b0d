import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asError } from '../../src/internal/as-error.js';

describe('asError', () => {
  it('answers an Error itself, whatever the context', () => {
    const error = new RangeError('r');
    assert.equal(asError(error), error);
    assert.equal(asError(error, 'store.get'), error);
  });

  it('wraps anything else, prefixed with the context when given', () => {
    assert.equal(asError('boom').message, 'boom');
    assert.equal(asError(42, 'store.get').message, 'store.get: 42');
    assert.ok(asError(undefined) instanceof Error);
  });
});
