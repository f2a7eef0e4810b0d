import assert from 'node:assert/strict';
import type { RateLimitStore } from '../middleware/rate-limit/index.js';
import { resolveRunner, type TestRunner } from './runner.js';

/**
 * The behaviour every {@link RateLimitStore} must have, as one suite each store's test
 * file runs. `create` returns a fresh store (for a shared store: one with a fresh key
 * prefix) driven by the `now` passed to `take`. `skip` skips the suite with that reason
 * (a shared store whose server is unreachable outside CI). `runner` is the test runner's
 * `describe` and `it` (node:test's or vitest's); default: the globals.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest';
 * import { rateLimitStoreContract } from 'mcp-perf/testing';
 * rateLimitStoreContract('my store', () => new MyStore(), { runner: { describe, it } });
 * ```
 */
export function rateLimitStoreContract(
  name: string,
  create: () => RateLimitStore | Promise<RateLimitStore>,
  options: { skip?: string; runner?: TestRunner } = {},
): void {
  const bucket = { capacity: 3, refillPerMs: 1 / 100 };
  const { describe, it, skip } = resolveRunner(options.runner, 'rateLimitStoreContract');

  describe(`RateLimitStore contract: ${name}${options.skip === undefined ? '' : ` (skipped: ${options.skip})`}`, () => {
    if (options.skip !== undefined) {
      skip(`every contract test: ${options.skip}`);
      return;
    }
    it('starts full and refuses once the burst is spent, with the refill time', async () => {
      const store = await create();
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(await store.take('k', 1, 1000, bucket));
      assert.deepEqual(
        seen.map((r) => [r.allowed, r.remaining]),
        [
          [true, 2],
          [true, 1],
          [true, 0],
          [false, 0],
        ],
      );
      assert.equal(seen[3]!.retryAfterMs, 100);
    });

    it('refills with time, never beyond capacity', async () => {
      const store = await create();
      for (let i = 0; i < 3; i++) await store.take('k', 1, 0, bucket);
      assert.equal((await store.take('k', 1, 50, bucket)).retryAfterMs, 50);
      assert.equal((await store.take('k', 1, 100, bucket)).allowed, true);
      const later = await store.take('k', 1, 1_000_000, bucket);
      assert.deepEqual([later.allowed, later.remaining], [true, 2]);
    });

    it('keeps keys apart and charges the cost', async () => {
      const store = await create();
      assert.equal((await store.take('a', 3, 0, bucket)).allowed, true);
      assert.equal((await store.take('a', 1, 0, bucket)).allowed, false);
      const b = await store.take('b', 2, 0, bucket);
      assert.deepEqual([b.allowed, b.remaining], [true, 1]);
      const big = await store.take('b', 2, 0, bucket);
      assert.deepEqual([big.allowed, big.retryAfterMs], [false, 100]);
    });
  });
}
