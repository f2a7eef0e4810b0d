/**
 * Random interleavings against a realistic stack on both ends (SDK v1, in-memory):
 * requests to several tools (some slow, with progress), lists and reads, cancellations
 * before, while and after answering, invalidations, background refreshes (the clock is
 * moved past freshness), requests under ids shaped like the pipeline's own, duplicate ids
 * and malformed frames. Every request must get exactly one answer (or none after its own
 * cancellation), the right one, and no principal may ever see another's entry.
 *
 * Replay a failure with `FUZZ_SEED=<seed printed in the failure>`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { type AuthInfo, type JsonRpcMessage, withMiddleware } from '../../src/index.js';
import { cache } from '../../src/middleware/cache/index.js';
import { concurrencyLimit } from '../../src/middleware/concurrency/index.js';
import { metrics } from '../../src/middleware/metrics/index.js';
import { rateLimit } from '../../src/middleware/rate-limit/index.js';
import { fakeClock, until } from '../middleware/cache/helpers.js';

/** mulberry32: a small seeded PRNG, so that a failing run replays exactly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

const PRINCIPALS = ['alice', 'bob', undefined] as const;
const KEYS = ['k0', 'k1', 'k2', 'k3'];
const URIS = ['fuzz://r/a', 'fuzz://r/b', 'fuzz://r/c'];
const STEPS = Number(process.env.FUZZ_STEPS ?? 2_500);

const authOf = (who: string | undefined): AuthInfo | undefined =>
  who === undefined
    ? undefined
    : { token: `token-${who}`, clientId: 'fuzz-app', scopes: [], extra: { sub: who } };

const whoOf = (auth: { extra?: Record<string, unknown> } | undefined) =>
  (auth?.extra?.sub as string | undefined) ?? 'anonymous';

/** The tools and resources; each answer is a function of the request (and its principal). */
function fuzzServer(): McpServer {
  const server = new McpServer({ name: 'fuzz', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  server.registerTool('whoami', { inputSchema: { k: z.string() } }, async ({ k }, extra) => ({
    content: [{ type: 'text', text: `${whoOf(extra.authInfo)}:${k}` }],
  }));
  server.registerTool(
    'slow',
    { inputSchema: { text: z.string(), steps: z.number() } },
    async ({ text, steps }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps },
          });
        }
      }
      // Ignores its abort signal on purpose, as many handlers do.
      return { content: [{ type: 'text', text }] };
    },
  );
  server.registerResource(
    'doc',
    new ResourceTemplate('fuzz://r/{name}', { list: undefined }),
    { mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, text: `body of ${uri.href}` }] }),
  );
  return server;
}

type Call = { name: string; arguments: Record<string, unknown>; _meta?: Record<string, unknown> };

/** Where the SDK client's request names its principal: `_meta` is not part of a cache key. */
const WHO = 'fuzz/who';

/** A request the fuzzer makes, and the text its answer must carry. */
function randomCall(r: ReturnType<typeof prng>, who: string | undefined): { call: Call; expect: string } {
  const k = r.pick(KEYS);
  switch (r.int(3)) {
    case 0:
      return { call: { name: 'echo', arguments: { text: `echo ${k}` } }, expect: `echo ${k}` };
    case 1: {
      return { call: { name: 'whoami', arguments: { k } }, expect: `${who ?? 'anonymous'}:${k}` };
    }
    default: {
      const steps = 1 + r.int(4);
      return {
        call: { name: 'slow', arguments: { text: `slow ${k} ${steps}`, steps } },
        expect: `slow ${k} ${steps}`,
      };
    }
  }
}

const textOf = (result: unknown) =>
  ((result as { content?: { text?: string }[] } | undefined)?.content?.[0]?.text ?? '') as string;

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function fuzz(seed: number): Promise<{ problems: string[]; tally: Record<string, number> }> {
  const r = prng(seed);
  const problems: string[] = [];
  const tally: Record<string, number> = {};
  const count = (what: string) => {
    tally[what] = (tally[what] ?? 0) + 1;
  };
  const clock = fakeClock();
  // One instance of each middleware serves both server connections, as in production.
  const serverStack = [
    metrics(),
    rateLimit({ limit: 1_000_000, windowMs: 1_000 }),
    // The SDK's server never answers a cancelled request, so a slot whose handler was
    // cancelled is held for the whole grace: a short one lets the run exercise that path
    // (and its expiry) without four cancels in a row stalling every later request.
    concurrencyLimit({ limit: 4, maxQueue: 10_000, maxQueueWaitMs: 600_000, cancelGraceMs: 20 }),
    cache({
      now: clock.now,
      ttlMs: 1_000,
      staleMs: 10_000,
      tools: { include: ['echo', 'whoami', 'slow'], ttlMs: 1_000, staleMs: 10_000 },
      resources: { ttlMs: 1_000, staleMs: 10_000 },
    }),
  ];
  const clientCache = cache({
    now: clock.now,
    tools: { include: ['echo'], ttlMs: 1_000, staleMs: 10_000 },
    resources: { ttlMs: 1_000, staleMs: 10_000 },
  });

  // Connection A: a wrapped SDK client and a wrapped server; the principal of each
  // request travels as the transport's authInfo, named in the request's `_meta`.
  const serverA = fuzzServer();
  withMiddleware(serverA, serverStack);
  const client = new Client({ name: 'fuzz-client', version: '1.0.0' });
  withMiddleware(client, [metrics(), clientCache]);
  const [clientSide, serverSideA] = InMemoryTransport.createLinkedPair();
  const send = clientSide.send.bind(clientSide);
  clientSide.send = (message, options) => {
    const who = (message as { params?: { _meta?: Record<string, string> } }).params?._meta?.[WHO];
    return send(message, { ...options, authInfo: authOf(who) } as never);
  };
  const errors: string[] = [];
  serverA.server.onerror = (e) => errors.push(`server A: ${e.message}`);
  await serverA.connect(serverSideA);
  await client.connect(clientSide);

  // Connection B: raw JSON-RPC into a second wrapped server, with forged and duplicate ids.
  const serverB = fuzzServer();
  withMiddleware(serverB, serverStack);
  const [raw, serverSideB] = InMemoryTransport.createLinkedPair();
  const rawResponses = new Map<string | number, JsonRpcMessage[]>();
  const rawProgress: { token: unknown; total: unknown }[] = [];
  raw.onmessage = (message) => {
    const m = message as JsonRpcMessage;
    if ('method' in m) {
      if (m.method === 'notifications/progress')
        rawProgress.push({ token: m.params?.progressToken, total: m.params?.total });
      return;
    }
    const list = rawResponses.get(m.id as string | number) ?? [];
    list.push(m);
    rawResponses.set(m.id as string | number, list);
  };
  serverB.server.onerror = (e) => errors.push(`server B: ${e.message}`);
  client.onerror = (e) => errors.push(`client: ${e.message}`);
  await serverB.connect(serverSideB);
  await raw.start();
  const rawSend = (message: unknown, who?: string) =>
    raw.send(message as never, { authInfo: authOf(who) } as never);
  await rawSend({
    jsonrpc: '2.0',
    id: 'init',
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  await until(() => rawResponses.has('init'), 'the raw handshake');
  await rawSend({ jsonrpc: '2.0', method: 'notifications/initialized' });

  const pending: Promise<void>[] = [];
  const unsettled = new Set<string>();
  /** What each send of one raw id must be answered with, in order ('' for a malformed one). */
  type RawExpectation = { expects: string[]; malformed: boolean; duplicate: boolean; cancelled: boolean };
  const rawExpected = new Map<string | number, RawExpectation>();
  const progressTokens = new Map<string, number>();
  let seq = 0;

  const sdkCall = () => {
    const who = r.pick(PRINCIPALS);
    const { call, expect } = randomCall(r, who);
    if (who !== undefined) call._meta = { [WHO]: who };
    const mode = r.pick([
      'plain',
      'plain',
      'progress',
      'abort-before',
      'abort-while',
      'abort-after',
    ] as const);
    const controller = new AbortController();
    if (mode === 'abort-before') controller.abort('before');
    const steps = call.arguments.steps as number | undefined;
    const seen: number[] = [];
    const promise = client.callTool(call, undefined, {
      signal: controller.signal,
      ...(mode === 'progress'
        ? {
            onprogress: (p: { progress: number; total?: number }) => {
              seen.push(p.progress);
              if (steps === undefined || p.total !== steps || p.progress > steps) {
                problems.push(`progress ${JSON.stringify(p)} for ${JSON.stringify(call)}`);
              }
            },
          }
        : {}),
    });
    if (mode === 'abort-while') {
      const wait = r.int(4);
      void (async () => {
        for (let i = 0; i < wait; i++) await tick();
        controller.abort('while');
      })();
    }
    const what = `sdk ${JSON.stringify(call)} as ${who} (${mode})`;
    unsettled.add(what);
    pending.push(
      promise
        .finally(() => unsettled.delete(what))
        .then(
          (result) => {
            count(`sdk:${mode}:answered`);
            if (mode === 'abort-after') controller.abort('after');
            if (textOf(result) !== expect) {
              problems.push(
                `sdk ${JSON.stringify(call)} as ${who}: got ${JSON.stringify(textOf(result))}, want ${expect}`,
              );
            }
          },
          (error: unknown) => {
            if (controller.signal.aborted) return count(`sdk:${mode}:cancelled`);
            problems.push(`sdk ${JSON.stringify(call)} failed: ${(error as Error).message}`);
          },
        ),
    );
  };

  const sdkList = () => {
    const which = r.int(2);
    const p =
      which === 0
        ? client.listTools().then((l) => {
            const names = l.tools.map((t) => t.name).sort();
            if (names.join() !== 'echo,slow,whoami') problems.push(`tools/list gave ${names.join()}`);
          })
        : client.readResource({ uri: r.pick(URIS) }).then((res) => {
            const c = res.contents[0] as { uri: string; text?: string };
            if (c.text !== `body of ${c.uri}`) problems.push(`resources/read gave ${JSON.stringify(c)}`);
          });
    pending.push(
      p.then(
        () => count('sdk:list/read'),
        (e: unknown) => void problems.push(`list/read failed: ${(e as Error).message}`),
      ),
    );
  };

  const rawCall = () => {
    const who = r.pick(PRINCIPALS);
    const { call, expect } = randomCall(r, who);
    const kind = r.pick([
      'plain',
      'plain',
      'forged',
      'forged-nonce',
      'duplicate',
      'cancel',
      'progress',
    ] as const);
    let id: string | number;
    if (kind === 'forged') id = r.pick(['mcp-perf:1', 'mcp-perf:2', 'mcp-perf:early', `mcp-perf:${seq++}`]);
    else if (kind === 'forged-nonce') id = `mcp-perf:${randomUUID()}:${r.int(3) + 1}`;
    else id = r.chance(0.5) ? ++seq : `raw-${++seq}`;
    const existing = rawExpected.get(id);
    // A forged id may repeat, but only once every earlier request under it was answered.
    if (
      existing !== undefined &&
      ((rawResponses.get(id)?.length ?? 0) < existing.expects.length || existing.cancelled)
    ) {
      return;
    }
    const entry = existing ?? { expects: [], malformed: false, duplicate: false, cancelled: false };
    rawExpected.set(id, entry);
    const params: Record<string, unknown> = { ...call };
    if (kind === 'progress') {
      const token = `pt-${seq}`;
      progressTokens.set(token, call.arguments.steps as number);
      params._meta = { progressToken: token };
    }
    const message = { jsonrpc: '2.0', id, method: 'tools/call', params };
    entry.expects.push(expect);
    void rawSend(message, who);
    count(`raw:${kind}`);
    if (kind === 'duplicate') {
      entry.duplicate = true;
      entry.expects.push(expect);
      void rawSend(message, who);
    }
    if (kind === 'cancel') {
      const wait = r.int(4);
      entry.cancelled = true;
      void (async () => {
        for (let i = 0; i < wait; i++) await tick();
        await rawSend({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id } });
      })();
    }
  };

  const malformed = () => {
    const frames: unknown[] = [
      42,
      null,
      'text',
      [],
      { jsonrpc: '2.0' },
      { jsonrpc: '2.0', id: {}, method: 'tools/call' },
      { jsonrpc: '2.0', id: 'nobody-asked', result: {} },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never-sent' } },
      {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: 'mcp-perf:1', progress: 1 },
      },
    ];
    void rawSend(r.pick(frames));
    const id = `bad-${++seq}`;
    const answered: unknown[] = [
      { jsonrpc: '2.0', id, method: 7 },
      { jsonrpc: '2.0', id, method: 'tools/call', params: 5 },
    ];
    if (r.chance(0.5)) {
      rawExpected.set(id, { expects: [''], malformed: true, duplicate: false, cancelled: false });
      void rawSend(r.pick(answered));
    }
    count('raw:malformed');
  };

  const invalidate = () => {
    if (r.chance(0.5)) void serverA.server.sendResourceUpdated({ uri: r.pick(URIS) });
    else void serverA.server.sendToolListChanged();
    count('invalidation');
  };

  const deadline = Date.now() + 4_000;
  for (let step = 0; step < STEPS && Date.now() < deadline; step++) {
    const action = r.int(100);
    if (action < 35) sdkCall();
    else if (action < 45) sdkList();
    else if (action < 80) rawCall();
    else if (action < 86) malformed();
    else if (action < 90) invalidate();
    else if (action < 96) clock.advance(r.pick([200, 600, 1_200, 3_000]));
    else for (let i = r.int(6); i >= 0; i--) await tick();
  }

  let settled = false;
  void Promise.all(pending).then(() => {
    settled = true;
  });
  await until(() => settled, 'every SDK call to settle', 20_000).catch(() =>
    problems.push(`SDK calls never settled: ${[...unsettled].slice(0, 5).join('; ')}`),
  );
  const rawDone = () => {
    for (const [id, e] of rawExpected) {
      const got = rawResponses.get(id)?.length ?? 0;
      if (!e.cancelled && got < e.expects.length) return false;
    }
    return true;
  };
  await until(rawDone, 'every raw request to be answered', 20_000).catch(() => undefined);
  for (let i = 0; i < 20; i++) await tick();

  for (const [id, e] of rawExpected) {
    const got = rawResponses.get(id) ?? [];
    const name = JSON.stringify(id);
    if (e.cancelled ? got.length > e.expects.length : got.length !== e.expects.length) {
      problems.push(
        `raw ${name}: ${got.length} answers for ${e.expects.length} requests${e.cancelled ? ' (cancelled)' : ''}`,
      );
    }
    for (const [i, m] of got.entries()) {
      const error = (m as { error?: { code: number; message: string } }).error;
      if (error !== undefined) {
        if (!e.malformed && !(e.duplicate && error.code === -32600)) {
          problems.push(`raw ${name}: error ${error.code} ${error.message}`);
        }
        continue;
      }
      const text = textOf((m as { result: unknown }).result);
      if (e.malformed) problems.push(`raw ${name}: a malformed request was served`);
      else if (text !== e.expects[i])
        problems.push(`raw ${name}: got ${JSON.stringify(text)}, want ${e.expects[i]}`);
    }
    if (e.duplicate && !got.some((m) => 'result' in m))
      problems.push(`raw ${name}: neither duplicate was served`);
  }
  for (const p of rawProgress) {
    const steps = progressTokens.get(p.token as string);
    if (steps === undefined || p.total !== steps)
      problems.push(`raw progress ${JSON.stringify(p)} matches no request`);
  }

  if (problems.length !== 0 && process.env.FUZZ_DEBUG) {
    for (const m of serverStack)
      console.error((m as { name: string }).name, JSON.stringify((m as { stats?(): unknown }).stats?.()));
    console.error('client cache', JSON.stringify(clientCache.stats()));
  }
  // Both peers still work.
  const last = await client
    .callTool({ name: 'echo', arguments: { text: 'still here' } }, undefined, { timeout: 5_000 })
    .catch((e: unknown) => {
      problems.push(`connection A: ${(e as Error).message}`);
      return undefined;
    });
  if (textOf(last) !== 'still here') problems.push('connection A stopped answering');
  await rawSend({
    jsonrpc: '2.0',
    id: 'last',
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: 'last' } },
  });
  await until(() => rawResponses.has('last'), 'the last raw answer').catch(() =>
    problems.push('connection B stopped answering'),
  );
  if (process.env.FUZZ_DEBUG) console.error([...new Set(errors)].join('\n'));
  for (const e of errors)
    if (!/invalid|malformed|unknown|nobody-asked|not a|neither/i.test(e)) problems.push(e);
  await client.close();
  await serverA.close();
  await raw.close();
  await serverB.close();
  return { problems, tally };
}

describe('fuzz: random interleavings through a full stack on both ends', () => {
  const seeds = process.env.FUZZ_SEED
    ? [Number(process.env.FUZZ_SEED)]
    : [Math.floor(Math.random() * 2 ** 31), Math.floor(Math.random() * 2 ** 31)];
  for (const seed of seeds) {
    it(`every request gets exactly its own answer, principals never cross (seed ${seed})`, async (t) => {
      const { problems, tally } = await fuzz(seed);
      t.diagnostic(`seed ${seed}: ${JSON.stringify(tally)}`);
      assert.deepEqual(
        problems.slice(0, 20),
        [],
        `seed ${seed} (replay with FUZZ_SEED=${seed}): ${problems.length} problems`,
      );
      assert.ok(
        (tally['sdk:plain:answered'] ?? 0) > 10 && (tally['raw:plain'] ?? 0) > 10,
        'the run did something',
      );
    });
  }
});
