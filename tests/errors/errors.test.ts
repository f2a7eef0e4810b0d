import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCodes,
  isMcpPerfError,
  isOverloadedError,
  isRateLimitedError,
  McpPerfError,
  OverloadedError,
  RateLimitedError,
  toJsonRpcError,
} from '../../src/index.js';

describe('refusal errors', () => {
  const detail = { retryAfterMs: 25, scope: 'global', limit: 1 };

  for (const [make, guard, code] of [
    [
      () => new OverloadedError('concurrency limit reached: 1/1 running', detail),
      isOverloadedError,
      ErrorCodes.Overloaded,
    ],
    [
      () => new RateLimitedError('rate limit reached: 0/10 tokens', detail),
      isRateLimitedError,
      ErrorCodes.RateLimited,
    ],
  ] as const) {
    const sample = make();
    it(`${sample.name} carries no stack frames and leaves the stack trace limit as it was`, () => {
      const before = Error.stackTraceLimit;
      const error = make();
      assert.equal(Error.stackTraceLimit, before);
      assert.equal(error.stack, `${error.name}: ${error.message}`);
      assert.ok(error instanceof Error);
      assert.ok(isMcpPerfError(error));
      assert.ok(guard(error));
      assert.deepEqual(toJsonRpcError(error), { code, message: error.message, data: detail });
      assert.ok((new Error('ordinary').stack ?? '').includes('\n    at '), 'other errors keep their frames');
      assert.ok(
        (new McpPerfError('other', 'ordinary').stack ?? '').includes('\n    at '),
        "the library's other errors keep theirs",
      );
    });
  }
});
