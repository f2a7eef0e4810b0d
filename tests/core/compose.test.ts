import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compose } from '../../src/entries/core.js';
import {
  isMcpPerfError,
  type Middleware,
  NextCalledTwiceError,
  type Reply,
  type RequestContext,
} from '../../src/index.js';

const ctx = { method: 'tools/call' } as RequestContext;
const answer: Reply = { result: { ok: true } };

function logging(log: string[], name: string): Middleware {
  return {
    name,
    async request(_ctx, next) {
      log.push(`${name}:in`);
      const reply = await next();
      log.push(`${name}:out`);
      return reply;
    },
  };
}

describe('compose', () => {
  it('runs the first middleware outermost and the handler last', async () => {
    const log: string[] = [];
    const run = compose([logging(log, 'a'), logging(log, 'b'), logging(log, 'c')]);
    const reply = await run(ctx, async () => {
      log.push('handler');
      return answer;
    });
    assert.equal(reply, answer);
    assert.deepEqual(log, ['a:in', 'b:in', 'c:in', 'handler', 'c:out', 'b:out', 'a:out']);
  });

  it('lets a middleware answer without calling next()', async () => {
    const log: string[] = [];
    const local: Middleware = async function local() {
      log.push('local');
      return { result: { local: true } };
    };
    const run = compose([logging(log, 'a'), local, logging(log, 'never')]);
    const reply = await run(ctx, async () => {
      log.push('handler');
      return answer;
    });
    assert.deepEqual(reply, { result: { local: true } });
    assert.deepEqual(log, ['a:in', 'local', 'a:out']);
  });

  it('refuses next() called twice, naming the middleware', async () => {
    const twice: Middleware = async function twice(_ctx, next) {
      await next();
      return next();
    };
    const run = compose([twice]);
    await assert.rejects(
      run(ctx, async () => answer),
      (error: unknown) => error instanceof NextCalledTwiceError && /"twice"/.test(error.message),
    );
  });

  it('turns a synchronous throw into a rejection', async () => {
    const throws = (() => {
      throw new Error('boom');
    }) as unknown as Middleware;
    const run = compose([throws]);
    await assert.rejects(
      run(ctx, async () => answer),
      /boom/,
    );
  });

  it('skips objects without a request hook and runs an empty stack straight to the handler', async () => {
    const hooksOnly: Middleware = { name: 'hooks', notification: () => undefined };
    assert.equal(await compose([hooksOnly])(ctx, async () => answer), answer);
    assert.equal(await compose([])(ctx, async () => answer), answer);
  });

  it('brands its errors so guards work across copies', () => {
    assert.equal(isMcpPerfError(new NextCalledTwiceError('x')), true);
    assert.equal(isMcpPerfError(new Error('x')), false);
    assert.equal(isMcpPerfError({ [Symbol.for('mcp-perf.error')]: true }), true);
  });
});
