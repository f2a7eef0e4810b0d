import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Middleware } from '../../src/index.js';
import { assertInvisible, checkInvisible } from '../../src/testing/index.js';
import { everyMiddleware } from '../conformance/stacks.js';

/** Rewrites the text of every tool result: a client sees it at once. */
const rewritesResults: Middleware = {
  name: 'rewrites-results',
  request: async (ctx, next) => {
    const reply = await next();
    if (ctx.method !== 'tools/call' || reply.result === undefined) return reply;
    const result = reply.result as { content?: { type: string; text?: string }[] };
    return {
      result: { ...result, content: (result.content ?? []).map((c) => ({ ...c, text: `${c.text}!` })) },
    };
  },
};

/** Drops progress notifications: the results stay right, the progress is gone. */
const dropsProgress: Middleware = {
  name: 'drops-progress',
  request: (_ctx, next) => next(),
  notification: (ctx) => (ctx.message.method === 'notifications/progress' ? null : undefined),
};

describe('assertInvisible', () => {
  it('passes for every middleware the library ships, in both eras and on both sides', async () => {
    const report = await assertInvisible(everyMiddleware);
    assert.deepEqual(report.sessions, ['legacy/server', 'legacy/client', 'modern/server', 'modern/client']);
    assert.ok(report.steps >= 18, `only ${report.steps} exchanges compared`);
    for (const [session, count] of Object.entries(report.traffic)) {
      assert.ok((count.requests.get('tools/call') ?? 0) > 0, `${session}: no tools/call crossed the stack`);
    }
  });

  it('fails for a middleware that rewrites results, naming the exchanges that differ', async () => {
    await assert.rejects(
      assertInvisible(rewritesResults, { eras: ['legacy'], sides: ['server'] }),
      (error: Error) => {
        assert.equal(error.name, 'AssertionError');
        assert.match(error.message, /legacy\/server\/tools\/call echo: bare/);
        return true;
      },
    );
  });

  it('reports a middleware that drops progress notifications', async () => {
    const report = await checkInvisible(dropsProgress, { eras: ['legacy'] });
    assert.ok(
      report.differences.some((d) => d.startsWith('legacy/server/tools/call with progress')),
      report.differences.join('\n'),
    );
    assert.ok(
      report.differences.every((d) => d.includes('progress')),
      report.differences.join('\n'),
    );
  });
});
