import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInvalidOptionError } from '../../../src/index.js';
import {
  MEMORY_RATE_LIMIT_STORE_DEFAULTS,
  MemoryRateLimitStore,
} from '../../../src/middleware/rate-limit/index.js';
import { rateLimitStoreContract } from '../../../src/testing/index.js';

rateLimitStoreContract('memory', () => new MemoryRateLimitStore(), { runner: { describe, it } });

describe('MemoryRateLimitStore', () => {
  const bucket = { capacity: 1, refillPerMs: 1 / 1000 };

  it('is bounded by maxKeys, dropping the least recently used bucket', () => {
    assert.equal(MEMORY_RATE_LIMIT_STORE_DEFAULTS.maxKeys, 10_000);
    const store = new MemoryRateLimitStore({ maxKeys: 2 });
    store.take('a', 1, 0, bucket);
    store.take('b', 1, 0, bucket);
    assert.equal(store.take('a', 1, 0, bucket).allowed, false, 'a is used again: now the most recent');
    store.take('c', 1, 0, bucket);
    assert.equal(store.size, 2);
    assert.equal(store.take('a', 1, 0, bucket).allowed, false, 'a was kept');
    assert.equal(store.take('b', 1, 0, bucket).allowed, true, 'b was dropped and starts full');
  });

  it('answers synchronously', () => {
    const r = new MemoryRateLimitStore().take('k', 1, 0, bucket);
    assert.ok(!(r instanceof Promise));
  });

  it('rejects a bad maxKeys', () => {
    assert.throws(
      () => new MemoryRateLimitStore({ maxKeys: 0 }),
      (e: unknown) => isInvalidOptionError(e) && e.option === 'maxKeys',
    );
  });
});
