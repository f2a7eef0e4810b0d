import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Middleware, MiddlewareObject, MiddlewareTransport } from '../../../src/index.js';
import { cache } from '../../../src/middleware/cache/index.js';
import { metrics } from '../../../src/middleware/metrics/index.js';
import { memoryStore } from '../../../src/stores/memory.js';
import { connectPair } from '../../helpers/servers.js';
import { connectPairV2 } from '../../helpers/servers-v2.js';
import { fakeClock, steerableStore, textOf } from './helpers.js';

const ECHO = { name: 'echo', arguments: { text: 'hi' } };

/** Counts what the SDK client hands its (wrapped) transport: a request answered early never gets there. */
function countSends(client: { transport?: { send(message: unknown, options?: unknown): Promise<void> } }) {
  const transport = client.transport;
  assert.ok(transport, 'the client is connected');
  const sent: string[] = [];
  const send = transport.send.bind(transport);
  transport.send = (message, options) => {
    const m = message as { method?: string };
    if (m.method !== undefined) sent.push(m.method);
    return send(message, options);
  };
  return sent;
}

/** A client-side layer that records every request it sees. */
function recorder(seen: string[]): Middleware {
  return {
    name: 'recorder',
    request: (ctx, next) => {
      seen.push(ctx.method);
      return next();
    },
  };
}

/**
 * Calls `echo` four times through a connected pair whose client stack is `c`: the first
 * call is sent, the hits never reach the transport, and every caller gets its own copy.
 * Closes the pair.
 */
async function answersHitsEarly(
  c: ReturnType<typeof cache>,
  pair: {
    client: Parameters<typeof countSends>[0] & {
      callTool(params: typeof ECHO): Promise<unknown>;
    };
    counts: Record<string, number>;
    close(): Promise<void>;
  },
): Promise<void> {
  try {
    type Result = { content: { text: string }[] };
    const call = () => pair.client.callTool(ECHO) as Promise<Result>;
    const sent = countSends(pair.client);
    const first = await call();
    assert.deepEqual(sent, ['tools/call']);
    const second = await call();
    const third = await call();
    assert.deepEqual(sent, ['tools/call'], 'the hits never reached the transport');
    assert.equal(pair.counts.echo, 1);
    assert.deepEqual(second, first);
    assert.notEqual(second, third, 'each caller gets its own object');
    second.content[0]!.text = 'changed by a caller';
    assert.equal(textOf(third), 'hi');
    assert.equal(textOf(await call()), 'hi', 'a caller cannot change what is stored');
    const stats = c.stats();
    assert.equal(stats.hits, 3);
    assert.equal(stats.misses, 1);
  } finally {
    await pair.close();
  }
}

/** The SDK's tool-result schema, counting its parses in `count.parses`. */
function countingSchema(count: { parses: number }): typeof CallToolResultSchema {
  return {
    safeParse(value: unknown) {
      count.parses++;
      return CallToolResultSchema.safeParse(value);
    },
  } as unknown as typeof CallToolResultSchema;
}

describe('early answers on an SDK v1 client', () => {
  it('answers a fresh hit at client.request(), before the SDK sends anything, with a fresh copy each time', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    await answersHitsEarly(c, await connectPair({ client: [c] }));
  });

  it('asks only the outermost request layer: a layer outside the cache still sees every request', async () => {
    const seen: string[] = [];
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPair({ client: [recorder(seen), c] });
    try {
      const sent = countSends(pair.client);
      await pair.client.callTool(ECHO);
      await pair.client.callTool(ECHO);
      assert.deepEqual(seen, ['initialize', 'tools/call', 'tools/call']);
      assert.deepEqual(sent, ['tools/call', 'tools/call'], 'both went the ordinary way');
      assert.equal(pair.counts.echo, 1, 'the second was still a hit, inside the pipeline');
      assert.equal(c.stats().hits, 1);
    } finally {
      await pair.close();
    }
  });

  it('keeps early hits behind metrics, which records them', async () => {
    const m = metrics();
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPair({ client: [m, c] });
    try {
      const sent = countSends(pair.client);
      await pair.client.callTool(ECHO);
      await pair.client.callTool(ECHO);
      await pair.client.callTool(ECHO);
      assert.deepEqual(sent, ['tools/call'], 'the hits never reached the transport');
      const call = m.snapshot().operations.find((op) => op.method === 'tools/call' && op.tool === 'echo');
      assert.ok(call, 'metrics saw the calls');
      assert.equal(call.requests, 3);
      assert.equal(call.outcomes.ok, 3);
      assert.deepEqual([call.cache.miss, call.cache.hit], [1, 2]);
    } finally {
      await pair.close();
    }
  });

  it('does not run a chain that cannot answer: metrics alone, or metrics behind a layer without a hook', async () => {
    const chains: [string, Middleware[], boolean][] = [
      ['metrics alone', [metrics()], false],
      ['metrics, cache', [metrics(), cache({ tools: { include: ['echo'] } })], true],
      ['cache, metrics', [cache({ tools: { include: ['echo'] } }), metrics()], true],
      ['recorder, cache', [recorder([]), cache({ tools: { include: ['echo'] } })], false],
    ];
    for (const [name, stack, answers] of chains) {
      const pair = await connectPair({ client: stack });
      try {
        const transport = pair.client.transport as MiddlewareTransport;
        assert.equal(transport.pipeline.answersEarly, answers, name);
      } finally {
        await pair.close();
      }
    }
  });

  it('validates an early answer with the caller’s result schema, as the SDK would', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPair({ client: [c] });
    try {
      const request = { method: 'tools/call' as const, params: ECHO };
      await pair.client.request(request, CallToolResultSchema);
      const sent = countSends(pair.client);
      const strict = z.object({ content: z.array(z.object({ type: z.literal('image') })) });
      await assert.rejects(pair.client.request(request, strict), z.ZodError);
      const shaped = await pair.client.request(
        request,
        CallToolResultSchema.transform((r) => ({ first: (r.content[0] as { text: string }).text })),
      );
      assert.deepEqual(shaped, { first: 'hi' });
      assert.deepEqual(sent, [], 'all answered early');
      assert.equal(pair.counts.echo, 1);
    } finally {
      await pair.close();
    }
  });

  it('parses a cached answer once per result schema, and hands every later caller its own copy', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPair({ client: [c] });
    try {
      const request = { method: 'tools/call' as const, params: ECHO };
      await pair.client.request(request, CallToolResultSchema);
      const count = { parses: 0 };
      const counted = countingSchema(count);
      const first = await pair.client.request(request, counted);
      const second = await pair.client.request(request, counted);
      const third = await pair.client.request(request, counted);
      assert.equal(count.parses, 1, 'parsed on the first early answer only');
      assert.deepEqual(second, first);
      assert.deepEqual(third, first);
      assert.notEqual(second, first);
      assert.notEqual(second.content, first.content, 'nested arrays are copied too');
      assert.notEqual(second.content[0], third.content[0], 'and the objects in them');
      (first.content[0] as { text: string }).text = 'changed by the first caller';
      (second.content as unknown[]).push({ type: 'text', text: 'added by the second' });
      const fourth = await pair.client.request(request, counted);
      assert.deepEqual(
        fourth,
        { content: [{ type: 'text', text: 'hi' }] },
        'no caller changes what the next one gets',
      );
      assert.equal(count.parses, 1);
      const other = { parses: 0 };
      await pair.client.request(request, countingSchema(other));
      assert.equal(other.parses, 1, 'another schema parses for itself');
      assert.equal(pair.counts.echo, 1);
    } finally {
      await pair.close();
    }
  });

  it('parses every time when the parsed form is not plain data, or the stored answer is not frozen', async () => {
    const request = { method: 'tools/call' as const, params: ECHO };
    let parses = 0;
    const dated = CallToolResultSchema.transform((r) => {
      parses++;
      return { at: new Date(0), text: (r.content[0] as { text: string }).text };
    });
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPair({ client: [c] });
    try {
      await pair.client.request(request, CallToolResultSchema);
      const a = await pair.client.request(request, dated);
      const b = await pair.client.request(request, dated);
      assert.equal(parses, 2, 'a Date is not plain data: no copy is kept');
      assert.ok(b.at instanceof Date && a.at !== b.at);
    } finally {
      await pair.close();
    }
    const unfrozen = { parses: 0 };
    const counted = countingSchema(unfrozen);
    const byReference = cache({
      tools: { include: ['echo'] },
      store: memoryStore({ isolation: 'reference' }),
    });
    const pair2 = await connectPair({ client: [byReference] });
    try {
      await pair2.client.request(request, CallToolResultSchema);
      await pair2.client.request(request, counted);
      await pair2.client.request(request, counted);
      assert.equal(unfrozen.parses, 2, 'an entry that can change is parsed on every answer');
      assert.equal(byReference.stats().hits, 2);
    } finally {
      await pair2.close();
    }
  });

  it('lets stale entries, bypass and refresh directives, stream resumption and aborted signals take the ordinary way', async () => {
    const clock = fakeClock();
    const c = cache({ clock: clock.now, tools: { include: ['echo'], ttlMs: 1_000, staleMs: 10_000 } });
    const pair = await connectPair({ client: [c] });
    try {
      await pair.client.callTool(ECHO);
      const sent = countSends(pair.client);

      await pair.client.callTool({ ...ECHO, _meta: { 'mcp-perf/cache': 'bypass' } });
      await pair.client.callTool({ ...ECHO, _meta: { 'mcp-perf/cache': 'refresh' } });
      assert.deepEqual(sent, ['tools/call', 'tools/call']);
      assert.equal(pair.counts.echo, 3);

      await pair.client.request({ method: 'tools/call', params: ECHO }, CallToolResultSchema, {
        resumptionToken: 'resume-here',
      });
      assert.equal(sent.length, 3, 'a resumed request goes to the transport (where the cache answers it)');
      assert.equal(pair.counts.echo, 3);

      const aborted = AbortSignal.abort(new Error('gave up'));
      await assert.rejects(pair.client.callTool(ECHO, undefined, { signal: aborted }), /gave up/);

      clock.advance(2_000);
      const stale = await pair.client.callTool(ECHO);
      assert.equal(textOf(stale), 'hi');
      assert.equal(sent.length, 4, 'a stale entry is served from inside the pipeline');
      assert.equal(c.stats().stale, 1);
    } finally {
      await pair.close();
    }
  });

  it('reads only a synchronous store early: any other store (Redis) is read once, on the ordinary path', async () => {
    const clock = fakeClock();
    const steered = steerableStore(clock.now);
    const c = cache({ clock: clock.now, store: steered.store, tools: { include: ['echo'] } });
    const pair = await connectPair({ client: [c] });
    try {
      await pair.client.callTool(ECHO);
      const sent = countSends(pair.client);
      const gets = steered.control.gets;
      assert.equal(textOf(await pair.client.callTool(ECHO)), 'hi');
      assert.deepEqual(sent, ['tools/call'], 'the hit was served inside the pipeline');
      assert.equal(steered.control.gets, gets + 1, 'one read for one request');
      assert.equal(pair.counts.echo, 1);
      assert.equal(c.stats().hits, 1);
    } finally {
      await pair.close();
    }
  });

  it('does not answer once the connection has closed', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPair({ client: [c] });
    await pair.client.callTool(ECHO);
    await pair.close();
    await assert.rejects(pair.client.callTool(ECHO), /Not connected/);
    assert.equal(c.stats().hits, 0);
  });

  it('runs the early hooks outermost first through next(), and reports a hook that throws or calls next() twice', async () => {
    const calls: string[] = [];
    const errors: Error[] = [];
    const outer: MiddlewareObject = {
      name: 'outer',
      request: (ctx, next) => {
        calls.push(`outer request ${ctx.method}`);
        return next();
      },
      early: (ctx, next) => {
        calls.push('outer early');
        const text = (ctx.params?.arguments as { text?: string } | undefined)?.text;
        if (text === 'twice') next();
        const result = next();
        calls.push(`outer saw ${result === undefined ? 'nothing' : 'a result'}`);
        return result;
      },
    };
    const canned: MiddlewareObject = {
      name: 'canned',
      request: (ctx, next) => {
        calls.push(`canned request ${ctx.method}`);
        return next();
      },
      early: (ctx) => {
        calls.push('canned early');
        const text = (ctx.params?.arguments as { text?: string } | undefined)?.text;
        if (text === 'boom') throw new Error('boom');
        return text === 'canned' ? { content: [{ type: 'text', text: 'from the early hook' }] } : undefined;
      },
    };
    const pair = await connectPair({ client: [outer, canned] });
    try {
      pair.client.onerror = (error) => errors.push(error);
      const call = (text: string) => pair.client.callTool({ name: 'echo', arguments: { text } });
      calls.length = 0;
      assert.equal(textOf(await call('canned')), 'from the early hook');
      assert.deepEqual(calls, ['outer early', 'canned early', 'outer saw a result']);
      calls.length = 0;
      assert.equal(textOf(await call('plain')), 'plain');
      assert.deepEqual(calls, [
        'outer early',
        'canned early',
        'outer saw nothing',
        'outer request tools/call',
        'canned request tools/call',
      ]);
      assert.equal(textOf(await call('boom')), 'boom');
      assert.equal(textOf(await call('twice')), 'twice');
      assert.equal(pair.counts.echo, 3);
      const reported = errors.map((e) => e.message).join('\n');
      assert.match(reported, /an early answer to tools\/call failed: boom/);
      assert.match(
        reported,
        /an early answer to tools\/call failed: middleware "outer" called next\(\) more than once/,
      );
    } finally {
      await pair.close();
    }
  });
});

describe('early answers on an SDK v2 client', () => {
  it('answers a fresh hit in the request funnel, decoded and validated as the SDK does, a fresh copy each time', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    await answersHitsEarly(c, await connectPairV2({ client: [c] }));
  });

  it('lets the SDK answer when the caller’s schema rejects the stored result', async () => {
    const c = cache({ tools: { include: ['echo'] } });
    const pair = await connectPairV2({ client: [c] });
    try {
      const request = { method: 'tools/call' as const, params: ECHO };
      await pair.client.callTool(ECHO);
      const sent = countSends(pair.client);
      const strict = z.object({ content: z.array(z.object({ type: z.literal('image') })) });
      await assert.rejects(pair.client.request(request, strict), /Invalid result for tools\/call/);
      assert.deepEqual(sent, ['tools/call'], 'the request took the ordinary way');
      assert.equal(pair.counts.echo, 1, 'and the cache answered it there');
    } finally {
      await pair.close();
    }
  });
});
