import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { exactTokenCounter } from '../../../src/entries/tokens.js';
import {
  createProxy,
  ErrorCodes,
  estimateTokens,
  isInvalidOptionError,
  isTokenBudgetExceededError,
  MemoryStore,
  metrics,
  PAGE_URI_PREFIX,
  TOKEN_BUDGET_DEFAULTS,
  TOKEN_BUDGET_META,
  type TokenBudgetCutEvent,
  tokenBudget,
  withTokenBudget,
} from '../../../src/index.js';
import { fakeContext } from '../../helpers/request-context.js';
import { connectPair } from '../../helpers/servers.js';
import { bigPair, createBigServer, linkOf, makeLog, makeRows, texts } from './fixtures.js';

type AnyClient = Pick<Client, 'callTool' | 'readResource'>;

/** Reads every page through resources/read, starting at `uri`; returns the pages' texts. */
async function readAllByResource(client: AnyClient, first: string): Promise<string[]> {
  const pages: string[] = [];
  let uri: string | undefined = first;
  while (uri !== undefined) {
    const page = await client.readResource({ uri });
    const [body, more] = page.contents as Array<{ uri: string; text: string }>;
    pages.push(body!.text);
    uri = more?.uri;
    assert.ok(pages.length < 1_000, 'pagination does not end');
  }
  return pages;
}

/** Reads every page through the continuation tool. */
async function readAllByTool(
  client: AnyClient,
  first: string,
  tool = 'token_budget_more',
): Promise<string[]> {
  const pages: string[] = [];
  let cursor: string | undefined = first;
  while (cursor !== undefined) {
    const page = await client.callTool({ name: tool, arguments: { cursor } });
    assert.notEqual(page.isError, true, JSON.stringify(page));
    pages.push(texts(page)[0]!);
    cursor = linkOf(page);
    assert.ok(pages.length < 1_000, 'pagination does not end');
  }
  return pages;
}

describe('tokenBudget: options', () => {
  it('has the documented defaults', () => {
    assert.equal(TOKEN_BUDGET_DEFAULTS.maxTokens, 25_000);
    assert.equal(TOKEN_BUDGET_DEFAULTS.compact, true);
    assert.equal(TOKEN_BUDGET_DEFAULTS.tabular, false);
    assert.equal(TOKEN_BUDGET_DEFAULTS.continuationToolName, 'token_budget_more');
    assert.equal(TOKEN_BUDGET_DEFAULTS.pageTtlMs, 900_000);
    const budget = tokenBudget();
    assert.equal(budget.counter.name, 'approximate:o200k_base');
    assert.equal(budget.store.name, 'memory');
  });

  it('names the option that is wrong', () => {
    const cases: Array<[unknown, string]> = [
      [{ maxTokens: 10 }, 'maxTokens'],
      [{ maxTokens: 1.5 }, 'maxTokens'],
      [{ tools: { search: -1 } }, 'tools["search"]'],
      [{ counter: 'fast' }, 'counter'],
      [{ compact: 'yes' }, 'compact'],
      [{ tabularMinSaving: 2 }, 'tabularMinSaving'],
      [{ continuationTool: 'sometimes' }, 'continuationTool'],
      [{ continuationToolName: 'has space' }, 'continuationToolName'],
      [{ session: { tokens: 0 } }, 'session.tokens'],
      [{ principal: { tokens: 1000, policy: 'drop' } }, 'principal.policy'],
      [{ session: { tokens: 1000, windowMs: -1 } }, 'session.windowMs'],
      [{ store: {} }, 'store'],
      [{ onCut: 1 }, 'onCut'],
    ];
    for (const [options, option] of cases) {
      assert.throws(
        () => tokenBudget(options as never),
        (e: unknown) =>
          isInvalidOptionError(e) && e.option === option && e.message.startsWith('tokenBudget:'),
        option,
      );
    }
  });
});

describe('tokenBudget: server side (SDK v1)', () => {
  it('passes results under the limit untouched and adds nothing to tools/list before a cut', async () => {
    const budget = tokenBudget();
    const pair = await bigPair({ server: [budget] }, 100);
    try {
      const small = await pair.client.callTool({ name: 'small', arguments: {} });
      assert.deepEqual(small.content, [{ type: 'text', text: 'ok' }]);
      const log = await pair.client.callTool({ name: 'log', arguments: {} });
      assert.deepEqual(texts(log), [makeLog(100)]);
      assert.equal(log._meta, undefined);
      const { tools } = await pair.client.listTools();
      assert.ok(!tools.some((t) => t.name === 'token_budget_more'));
      assert.equal(budget.stats().cut, 0);
    } finally {
      await pair.close();
    }
  });

  it('cuts a large result, says how much and where the rest is, and pages it back byte for byte (resource link)', async () => {
    const cuts: TokenBudgetCutEvent[] = [];
    const budget = tokenBudget({ maxTokens: 2_000, onCut: (e) => cuts.push(e) });
    const pair = await bigPair({ server: [budget] });
    const listChanged: string[] = [];
    pair.client.setNotificationHandler(
      (await import('@modelcontextprotocol/sdk/types.js')).ToolListChangedNotificationSchema,
      async (n) => {
        listChanged.push(n.method);
      },
    );
    try {
      assert.ok(pair.client.getServerCapabilities()?.resources, 'resources capability added');
      const original = makeLog(3_000);
      const result = await pair.client.callTool({ name: 'log', arguments: {} });
      const [kept, marker] = texts(result);
      const uri = linkOf(result)!;
      assert.ok(uri.startsWith(PAGE_URI_PREFIX));
      assert.ok(original.startsWith(kept!));
      assert.ok(budget.counter.count(kept!) <= 2_000);
      assert.match(
        marker!,
        /^\[token budget: about [\d,]+ of about [\d,]+ tokens were cut \(limit 2,000\)\./,
      );
      assert.ok(marker!.includes(`resources/read {"uri":"${uri}"}`));
      assert.ok(marker!.includes(`token_budget_more {"cursor":"${uri}"}`));
      const meta = (result._meta as Record<string, { tokensCut: number; next: string }>)[TOKEN_BUDGET_META]!;
      assert.equal(meta.next, uri);
      assert.equal(cuts.length, 1);
      assert.equal(cuts[0]!.tokensCut, meta.tokensCut);

      const pages = await readAllByResource(pair.client, uri);
      assert.ok(pages.length > 5);
      for (const page of pages) assert.ok(budget.counter.count(page) <= 2_000);
      assert.equal(kept + pages.join(''), original);
      assert.equal(budget.stats().pagesServed, pages.length);

      // The continuation tool is now listed, and the client was told.
      const { tools } = await pair.client.listTools();
      assert.ok(tools.some((t) => t.name === 'token_budget_more'));
      assert.deepEqual(listChanged, ['notifications/tools/list_changed']);
      // Resources the middleware added answer as an empty server would.
      assert.deepEqual((await pair.client.listResources()).resources, []);
    } finally {
      await pair.close();
    }
  });

  it('pages back byte for byte through the continuation tool, cutting at clusters', async () => {
    const budget = tokenBudget({ maxTokens: 300, compact: false });
    const pair = await bigPair({ server: [budget] });
    try {
      const result = await pair.client.callTool({ name: 'tricky', arguments: { repeat: 60 } });
      const original = (await import('./fixtures.js')).TRICKY.repeat(60);
      const pages = await readAllByTool(pair.client, linkOf(result)!);
      const all = [texts(result)[0]!, ...pages];
      assert.equal(all.join(''), original);
      const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
      const boundaries = new Set([...segmenter.segment(original)].map((s) => s.index));
      let at = 0;
      for (const piece of all.slice(0, -1)) {
        at += piece.length;
        assert.ok(
          boundaries.has(at),
          `cut inside a cluster at ${at}: ${JSON.stringify(original.slice(at - 4, at + 4))}`,
        );
      }
    } finally {
      await pair.close();
    }
  });

  it('keeps every block: later text blocks move to the pages as their own segments', async () => {
    const budget = tokenBudget({ maxTokens: 3_000 });
    const pair = await bigPair({ server: [budget] });
    try {
      const result = await pair.client.callTool({ name: 'blocks', arguments: {} });
      const log = makeLog(3_000);
      const meta = (result._meta as Record<string, { segments: string[] }>)[TOKEN_BUDGET_META]!;
      assert.deepEqual(meta.segments, ['content[0]', 'content[1]', 'content[2]']);
      const pages = await readAllByResource(pair.client, linkOf(result)!);
      assert.equal(texts(result)[0]! + pages.join(''), log.slice(0, 90_000));
    } finally {
      await pair.close();
    }
  });

  it('compacts pretty JSON before cutting, and only when over the limit', async () => {
    const pretty = estimateTokens(JSON.stringify(makeRows(60), null, 2));
    const minified = estimateTokens(JSON.stringify(makeRows(60)));
    assert.ok(pretty > minified + 100);
    const budget = tokenBudget({ maxTokens: minified + 50 });
    const pair = await bigPair({ server: [budget] });
    try {
      const fits = await pair.client.callTool({ name: 'pretty', arguments: { n: 5 } });
      assert.equal(texts(fits)[0], JSON.stringify(makeRows(5), null, 2), 'untouched under the limit');
      const compacted = await pair.client.callTool({ name: 'pretty', arguments: { n: 60 } });
      assert.equal(texts(compacted)[0], JSON.stringify(makeRows(60)));
      assert.equal(linkOf(compacted), undefined, 'compaction was enough');
      const stats = budget.stats();
      assert.equal(stats.compactedToFit, 1);
      assert.ok(stats.savedByCompaction > 0);
      assert.equal(stats.tools.pretty!.savedByCompaction, stats.savedByCompaction);
    } finally {
      await pair.close();
    }
  });

  it('uses the tabular form only where it saves at least 20%', async () => {
    const budget = tokenBudget({ maxTokens: 2_000, tabular: true });
    const pair = await bigPair({ server: [budget] });
    try {
      const result = await pair.client.callTool({ name: 'pretty', arguments: { n: 150 } });
      const first = texts(result)[0]!;
      assert.ok(first.startsWith('[150]{id,name,score}:\n0,item 0,0\n'), first.slice(0, 60));
    } finally {
      await pair.close();
    }
  });

  it('keeps structuredContent whole and valid for a tool with an outputSchema (the SDK client validates it)', async () => {
    const budget = tokenBudget({ maxTokens: 2_000 });
    const pair = await bigPair({ server: [budget] });
    try {
      const { tools } = await pair.client.listTools();
      assert.ok(tools.find((t) => t.name === 'report')?.outputSchema, 'outputSchema never removed');
      // Fits: structured kept, text cut to what is left.
      const fits = await pair.client.callTool({ name: 'report', arguments: { n: 40 } });
      assert.deepEqual(fits.structuredContent, { rows: makeRows(40) });
      // Too big even alone: still kept whole (the client requires it), the text goes to pages.
      const big = await pair.client.callTool({ name: 'report', arguments: {} });
      assert.deepEqual(big.structuredContent, { rows: makeRows(2_000) });
      // No room is left for the text copy: the result is the structured content, the marker and the link.
      assert.equal(texts(big).length, 1);
      assert.match(texts(big)[0]!, /^\[token budget:/);
      const pages = await readAllByResource(pair.client, linkOf(big)!);
      assert.equal(pages.join(''), JSON.stringify({ rows: makeRows(2_000) }));
    } finally {
      await pair.close();
    }
  });

  it('moves structuredContent that does not fit to the pages when the tool has no outputSchema', async () => {
    const budget = tokenBudget({ maxTokens: 2_000 });
    const pair = await bigPair({ server: [budget] });
    try {
      await pair.client.listTools();
      const result = await pair.client.callTool({ name: 'loose', arguments: {} });
      assert.equal(result.structuredContent, undefined);
      assert.match(texts(result)[1]!, /structured content did not fit/);
      const pages = await readAllByResource(pair.client, linkOf(result)!);
      assert.equal(pages.join(''), JSON.stringify({ rows: makeRows(2_000) }));
    } finally {
      await pair.close();
    }
  });

  it('applies per-tool limits by name and glob, and a lower limit the caller asks for in _meta', async () => {
    const budget = tokenBudget({ maxTokens: 20_000, tools: { 'lo*': 1_000, small: false } });
    const pair = await bigPair({ server: [budget] });
    try {
      const result = await pair.client.callTool({ name: 'log', arguments: {} });
      assert.equal((result._meta as Record<string, { limit: number }>)[TOKEN_BUDGET_META]!.limit, 1_000);
      const asked = await pair.client.callTool({
        name: 'blocks',
        arguments: {},
        _meta: { 'mcp-perf/maxTokens': 700 },
      });
      assert.equal((asked._meta as Record<string, { limit: number }>)[TOKEN_BUDGET_META]!.limit, 700);
    } finally {
      await pair.close();
    }
  });

  it('counts exactly with the exact counter: kept text within the limit, matching tiktoken', async () => {
    const counter = exactTokenCounter();
    const { get_encoding } = await import('tiktoken');
    const reference = get_encoding('o200k_base');
    const budget = tokenBudget({ maxTokens: 1_500, counter });
    const pair = await bigPair({ server: [budget] });
    try {
      const result = await pair.client.callTool({ name: 'tricky', arguments: { repeat: 200 } });
      const kept = texts(result)[0]!;
      const meta = (result._meta as Record<string, { tokensKept: number; tokensIn: number; exact: boolean }>)[
        TOKEN_BUDGET_META
      ]!;
      assert.equal(meta.exact, true);
      assert.equal(meta.tokensKept, reference.encode_ordinary(kept).length);
      assert.ok(meta.tokensKept <= 1_500);
      assert.ok(meta.tokensKept > 1_300, `kept only ${meta.tokensKept} tokens`);
      const whole = (await import('./fixtures.js')).TRICKY.repeat(200);
      assert.equal(meta.tokensIn, reference.encode_ordinary(whole).length);
      assert.match(texts(result)[1]!, /^\[token budget: [\d,]+ of [\d,]+ tokens were cut/);
    } finally {
      reference.free();
      counter.dispose();
      await pair.close();
    }
  });

  it('serves no page to another principal, or for an unknown or malformed URI', async () => {
    const budget = tokenBudget({ maxTokens: 500, continuationTool: 'always' });
    const alice = { token: 't-a', clientId: 'app', scopes: [], extra: { sub: 'alice' } };
    const bob = { token: 't-b', clientId: 'app', scopes: [], extra: { sub: 'bob' } };
    const call = fakeContext({ tool: 'log', authInfo: alice });
    const reply = await budget.request!(call, async () => ({
      result: { content: [{ type: 'text', text: makeLog(300) }] },
    }));
    const uri = linkOf(reply.result)!;
    const read = (authInfo: typeof alice) =>
      budget.request!(fakeContext({ method: 'resources/read', params: { uri }, authInfo }), async () => {
        throw new Error('a page request reached the server');
      });
    const own = await read(alice);
    assert.ok(own.result, 'the owner reads it');
    const other = await read(bob);
    assert.equal(other.error?.code, -32002);
    const byTool = await budget.request!(
      fakeContext({
        tool: 'token_budget_more',
        authInfo: bob,
        params: { name: 'token_budget_more', arguments: { cursor: uri } },
      }),
      async () => {
        throw new Error('reached the server');
      },
    );
    assert.equal(byTool.result?.isError, true);
    const malformed = await budget.request!(
      fakeContext({ method: 'resources/read', params: { uri: `${PAGE_URI_PREFIX}nope/0` }, authInfo: alice }),
      async () => ({ result: { contents: [] } }),
    );
    assert.equal(malformed.error?.code, ErrorCodes.InvalidParams);
  });

  it('a session budget refuses with a retryable error naming it; tighten lowers the limit instead', async () => {
    let now = 1_000_000;
    // One call of this log is about 4,000 tokens: two calls, then refused.
    const refusing = tokenBudget({ session: { tokens: 6_000, windowMs: 60_000 }, clock: () => now });
    const pair = await bigPair({ server: [refusing] }, 100);
    try {
      await pair.client.callTool({ name: 'log', arguments: {} });
      await pair.client.callTool({ name: 'log', arguments: {} });
      await assert.rejects(
        pair.client.callTool({ name: 'log', arguments: {} }),
        (e: { code: number; message: string; data: { retryAfterMs: number; scope: string } }) => {
          assert.equal(e.code, ErrorCodes.TokenBudgetExceeded);
          assert.match(
            e.message,
            /session token budget used up: [\d,]+ of 6,000 tokens; it resets in 60000 ms/,
          );
          assert.equal(e.data.scope, 'session');
          assert.equal(e.data.retryAfterMs, 60_000);
          return true;
        },
      );
      assert.equal(refusing.stats().refused, 1);
      now += 60_000;
      await pair.client.callTool({ name: 'log', arguments: {} });
    } finally {
      await pair.close();
    }

    const tightening = tokenBudget({ session: { tokens: 5_000, policy: 'tighten', tightenTo: 500 } });
    const second = await bigPair({ server: [tightening] });
    try {
      const first = await second.client.callTool({ name: 'log', arguments: {} });
      assert.equal((first._meta as Record<string, { limit: number }>)[TOKEN_BUDGET_META]!.limit, 5_000);
      const later = await second.client.callTool({ name: 'log', arguments: {} });
      assert.equal((later._meta as Record<string, { limit: number }>)[TOKEN_BUDGET_META]!.limit, 500);
    } finally {
      await second.close();
    }
  });

  it('a principal budget is shared by every connection of that principal', async () => {
    // One call of this log is about 2,400 tokens: two calls, then refused.
    const budget = tokenBudget({ principal: { tokens: 3_000 }, continuationTool: 'always' });
    const auth = { token: 't', clientId: 'app', scopes: [], extra: { sub: 'carol' } };
    const answer = async () => ({ result: { content: [{ type: 'text', text: makeLog(60) }] } });
    await budget.request!(fakeContext({ tool: 'log', authInfo: auth }), answer);
    await budget.request!(fakeContext({ tool: 'log', authInfo: auth }), answer);
    await assert.rejects(
      Promise.resolve().then(() => budget.request!(fakeContext({ tool: 'log', authInfo: auth }), answer)),
      (e: unknown) =>
        isTokenBudgetExceededError(e) && e.data.scope === 'principal' && e.data.retryAfterMs! > 0,
    );
    // Another principal is unaffected.
    const dave = { ...auth, extra: { sub: 'dave' } };
    assert.ok((await budget.request!(fakeContext({ tool: 'log', authInfo: dave }), answer)).result);
  });

  it('shows tokens per request through the same counter in metrics()', async () => {
    const budget = tokenBudget({ maxTokens: 1_000 });
    const m = metrics({ tokens: budget.counter });
    const pair = await bigPair({ server: [m, budget] });
    try {
      await pair.client.callTool({ name: 'log', arguments: {} });
      const op = m.snapshot().operations.find((o) => o.tool === 'log')!;
      const out = op.tokens!.outPerRequest;
      assert.ok(out > 0 && out <= 1_000, `metrics saw ${out} tokens`);
    } finally {
      await pair.close();
    }
  });
});

describe('tokenBudget: capability injection', () => {
  it('adds resources only to a server that had none, and leaves a server with resources as it was', async () => {
    const bare = await bigPair({});
    const budgeted = await bigPair({ server: [tokenBudget()] });
    const withResources = await connectPair({ server: [tokenBudget()] });
    const plain = await connectPair({});
    try {
      assert.equal(bare.client.getServerCapabilities()?.resources, undefined);
      assert.deepEqual(budgeted.client.getServerCapabilities()?.resources, {});
      assert.deepEqual(
        withResources.client.getServerCapabilities(),
        plain.client.getServerCapabilities(),
        'a server with resources keeps its own capabilities',
      );
      assert.deepEqual(
        (await withResources.client.listResources()).resources,
        (await plain.client.listResources()).resources,
        'resources/list still reaches the server',
      );
      await assert.rejects(bare.client.listResources(), /Method not found/);
      assert.deepEqual((await budgeted.client.listResources()).resources, []);
      assert.deepEqual((await budgeted.client.listResourceTemplates()).resourceTemplates, []);
    } finally {
      await Promise.all([bare.close(), budgeted.close(), withResources.close(), plain.close()]);
    }
  });
});

describe('tokenBudget: client and proxy sides', () => {
  it('client side: cuts what the server sent and serves the pages locally', async () => {
    const budget = tokenBudget({ maxTokens: 1_500 });
    const pair = await bigPair({ client: [budget] });
    try {
      const result = await pair.client.callTool({ name: 'log', arguments: {} });
      const pages = await readAllByResource(pair.client, linkOf(result)!);
      assert.equal(texts(result)[0]! + pages.join(''), makeLog(3_000));
      const byTool = await readAllByTool(pair.client, linkOf(result)!);
      assert.equal(byTool.join(''), pages.join(''));
    } finally {
      await pair.close();
    }
  });

  it('proxy: cuts between the client and the upstream server; withTokenBudget on a transport', async () => {
    const server = createBigServer();
    const [upClient, upServer] = InMemoryTransport.createLinkedPair();
    await server.connect(upServer);
    const [clientSide, downstream] = InMemoryTransport.createLinkedPair();
    const proxy = createProxy({ downstream, upstream: upClient, stack: [tokenBudget({ maxTokens: 1_200 })] });
    await proxy.start();
    const client = new Client({ name: 'behind-proxy', version: '1.0.0' });
    await client.connect(clientSide);
    try {
      const result = await client.callTool({ name: 'log', arguments: {} });
      const pages = await readAllByTool(client, linkOf(result)!);
      assert.equal(texts(result)[0]! + pages.join(''), makeLog(3_000));
    } finally {
      await client.close();
      await proxy.close();
      await server.close();
    }
    const [a] = InMemoryTransport.createLinkedPair();
    const wrapped = withTokenBudget(a, { maxTokens: 1_000 }, { side: 'client' });
    assert.notEqual(wrapped, a);
  });
});

describe('tokenBudget: stores', () => {
  it('delivers the result whole when the store cannot keep the remainder', async () => {
    const budget = tokenBudget({ maxTokens: 1_000, store: new MemoryStore({ maxEntrySize: 1_000 }) });
    const ctx = fakeContext({ tool: 'log' });
    const original = { content: [{ type: 'text', text: makeLog(300) }] };
    const reply = await budget.request!(ctx, async () => ({ result: original }));
    assert.equal(reply.result, original);
    assert.equal(budget.stats().storeErrors, 1);
    assert.match(ctx.reported[0]!.message, /declined a remainder/);
  });
});
