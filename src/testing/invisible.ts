/**
 * `assertInvisible`: runs a fixed set of MCP exchanges against the counting server bare
 * and with a middleware stack installed, and reports every difference the client could
 * see. A middleware that is configured not to act (a cache with nothing to cache yet, a
 * limit nobody reaches) must leave every answer, error, progress notification and
 * cancellation exactly as the bare server produced them.
 */

import { AssertionError } from 'node:assert';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { withMiddleware } from '../adapters/targets.js';
import { wrapTransport } from '../adapters/transport.js';
import type { Middleware } from '../core/types.js';
import { InvalidOptionError } from '../errors/index.js';
import { evidence, firstDifference, type TrafficCount, trafficProbe } from './compare.js';
import { type Counts, createCountingServer, type Deferred, deferred, linkPair } from './servers.js';

/** The protocol eras: `legacy` (initialize handshake, SDK v1) and `modern` (2026-07-28, SDK v2). */
export type Era = 'legacy' | 'modern';

/** Where the stack is installed: on the server's transport or on the client's. */
export type Side = 'server' | 'client';

/** Options of {@link checkInvisible} and {@link assertInvisible}. */
export interface InvisibleOptions {
  /**
   * Eras to run. Default: both when `@modelcontextprotocol/server` and `/client` (v2) are
   * installed, else `legacy` only (and the report says why). Naming `modern` here
   * when v2 is missing is an error.
   */
  eras?: readonly Era[];
  /** Sides to install the stack on. Default: both. */
  sides?: readonly Side[];
}

/** One exchange's outcome, as the client saw it. */
export interface ExchangeRecord {
  /** What was done, e.g. `tools/call progress`. */
  step: string;
  /** Canonical JSON of the outcome (result, error code and message, progress seen). */
  evidence: string;
}

/** What {@link checkInvisible} found. */
export interface InvisibilityReport {
  /** Every difference, `era/side/step: bare … vs wrapped …`; empty when invisible. */
  differences: string[];
  /** Sessions run with the stack: `legacy/server`, `modern/client` … */
  sessions: string[];
  /** Exchanges compared per session. */
  steps: number;
  /** Eras skipped, with the reason. */
  skipped: string[];
  /** Traffic the stack saw per session (proof it was in the path). */
  traffic: Record<string, TrafficCount>;
}

type Script = (client: ScriptClient, counts: Counts, gate: Deferred) => Promise<ExchangeRecord[]>;

/** The calls the script makes; both SDK clients have them (v1 takes request options third on callTool). */
interface ScriptClient {
  getServerCapabilities(): unknown;
  getServerVersion(): unknown;
  listTools(): Promise<unknown>;
  listPrompts(): Promise<unknown>;
  listResources(): Promise<unknown>;
  listResourceTemplates(): Promise<unknown>;
  readResource(params: { uri: string }): Promise<unknown>;
  getPrompt(params: { name: string; arguments: Record<string, string> }): Promise<unknown>;
  call(
    name: string,
    args: Record<string, unknown>,
    options?: { onprogress?: (p: unknown) => void; signal?: AbortSignal },
  ): Promise<unknown>;
  ping?(): Promise<unknown>;
}

function outcomeOf(error: unknown): unknown {
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  return { error: { code: e?.code ?? null, message: String(e?.message ?? e) } };
}

async function settle(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { result: await promise };
  } catch (error) {
    return outcomeOf(error);
  }
}

/** Yields to the event loop until `done()` or `turns` turns have passed. */
async function turnsUntil(done: () => boolean, turns: number): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
}

const script: Script = async (client, counts, gate) => {
  const records: ExchangeRecord[] = [];
  const record = (step: string, value: unknown) => records.push({ step, evidence: evidence(value) });
  record('server capabilities', {
    capabilities: client.getServerCapabilities(),
    version: client.getServerVersion(),
  });
  record('tools/list', await settle(client.listTools()));
  record('prompts/list', await settle(client.listPrompts()));
  record('resources/list', await settle(client.listResources()));
  record('resources/templates/list', await settle(client.listResourceTemplates()));
  record('resources/read', await settle(client.readResource({ uri: 'file:///readme.txt' })));
  record('resources/read again', await settle(client.readResource({ uri: 'file:///readme.txt' })));
  record('resources/read unknown', await settle(client.readResource({ uri: 'file:///missing.txt' })));
  record('prompts/get', await settle(client.getPrompt({ name: 'greet', arguments: { name: 'Ada' } })));
  record('prompts/get unknown', await settle(client.getPrompt({ name: 'nope', arguments: {} })));
  record('tools/call echo', await settle(client.call('echo', { text: 'hello' })));
  record('tools/call echo again', await settle(client.call('echo', { text: 'hello' })));
  record('tools/call add', await settle(client.call('add', { a: 2, b: 3 })));
  record('tools/call read_only', await settle(client.call('read_only', { q: 'x' })));
  record('tools/call isError', await settle(client.call('fail', {})));
  record('tools/call unknown tool', await settle(client.call('no_such_tool', {})));
  record('tools/call invalid arguments', await settle(client.call('echo', { text: 5 })));
  const progress: unknown[] = [];
  const withProgress = await settle(
    client.call('progress', { steps: 3 }, { onprogress: (p) => void progress.push(p) }),
  );
  await turnsUntil(() => progress.length >= 3, 20);
  record('tools/call with progress', { outcome: withProgress, progress });
  const before = counts.gate ?? 0;
  const abort = new AbortController();
  const cancelled = settle(client.call('gate', { label: 'cancel me' }, { signal: abort.signal }));
  await turnsUntil(() => (counts.gate ?? 0) > before, 200);
  const started = (counts.gate ?? 0) > before;
  abort.abort('the user gave up');
  const outcome = await cancelled;
  gate.resolve();
  await turnsUntil(() => (counts['gate:aborted'] ?? 0) > 0, 50);
  record('tools/call cancelled', {
    started,
    rejected: 'error' in (outcome as object),
    handlerSawAbort: (counts['gate:aborted'] ?? 0) > 0,
  });
  if (client.ping) record('ping', await settle(client.ping()));
  return records;
};

interface Session {
  client: ScriptClient;
  counts: Counts;
  gate: Deferred;
  close(): Promise<void>;
}

async function legacySession(stack: readonly Middleware[] | undefined, side: Side): Promise<Session> {
  const gate = deferred();
  const { server, counts } = createCountingServer({ gate: () => gate.promise });
  const pair = await linkPair(server, counts, stack === undefined ? {} : { [side]: stack });
  const c: Client = pair.client;
  return {
    counts,
    gate,
    close: () => pair.close(),
    client: {
      getServerCapabilities: () => c.getServerCapabilities(),
      getServerVersion: () => c.getServerVersion(),
      listTools: () => c.listTools(),
      listPrompts: () => c.listPrompts(),
      listResources: () => c.listResources(),
      listResourceTemplates: () => c.listResourceTemplates(),
      readResource: (p) => c.readResource(p),
      getPrompt: (p) => c.getPrompt(p),
      call: (name, args, options) => c.callTool({ name, arguments: args }, undefined, options as never),
      ping: () => c.ping(),
    },
  };
}

interface V2 {
  Client: typeof import('@modelcontextprotocol/client').Client;
  InMemoryTransport: typeof import('@modelcontextprotocol/server').InMemoryTransport;
  serveStdio: typeof import('@modelcontextprotocol/server/stdio').serveStdio;
  servers: typeof import('./servers-v2.js');
}

async function loadV2(): Promise<V2 | string> {
  try {
    const [client, server, stdio, servers] = await Promise.all([
      import('@modelcontextprotocol/client'),
      import('@modelcontextprotocol/server'),
      import('@modelcontextprotocol/server/stdio'),
      import('./servers-v2.js'),
    ]);
    return {
      Client: client.Client,
      InMemoryTransport: server.InMemoryTransport,
      serveStdio: stdio.serveStdio,
      servers,
    };
  } catch (error) {
    return `the modern era needs @modelcontextprotocol/server and @modelcontextprotocol/client (v2): ${(error as Error).message}`;
  }
}

async function modernSession(v2: V2, stack: readonly Middleware[] | undefined, side: Side): Promise<Session> {
  const gate = deferred();
  const counts: Counts = {};
  const versions = v2.servers.MODERN_AND_LEGACY_VERSIONS;
  const [clientSide, serverSide] = v2.InMemoryTransport.createLinkedPair();
  const handle = v2.serveStdio(
    () =>
      v2.servers.createCountingServerV2({
        counts,
        gate: () => gate.promise,
        serverOptions: { supportedProtocolVersions: versions },
      }).server,
    {
      transport:
        stack !== undefined && side === 'server'
          ? (wrapTransport(serverSide, stack, { side: 'server' }) as unknown as typeof serverSide)
          : serverSide,
    },
  );
  const c = new v2.Client(
    { name: 'invisible-check', version: '1.0.0' },
    { supportedProtocolVersions: versions, versionNegotiation: { mode: 'auto' } },
  );
  if (stack !== undefined && side === 'client') withMiddleware(c, stack);
  await c.connect(clientSide);
  return {
    counts,
    gate,
    async close() {
      await c.close();
      await handle.close();
    },
    client: {
      getServerCapabilities: () => c.getServerCapabilities(),
      getServerVersion: () => c.getServerVersion(),
      listTools: () => c.listTools(),
      listPrompts: () => c.listPrompts(),
      listResources: () => c.listResources(),
      listResourceTemplates: () => c.listResourceTemplates(),
      readResource: (p) => c.readResource(p),
      getPrompt: (p) => c.getPrompt(p),
      call: (name, args, options) => c.callTool({ name, arguments: args }, options as never),
    },
  };
}

async function run(open: () => Promise<Session>): Promise<ExchangeRecord[]> {
  const session = await open();
  try {
    return await script(session.client, session.counts, session.gate);
  } finally {
    session.gate.resolve();
    await session.close();
  }
}

/**
 * Runs the exchanges bare and wrapped in every era and on every side asked for, and
 * reports each difference. The same middleware instances serve every wrapped session,
 * as they would serve every connection in production.
 */
export async function checkInvisible(
  middleware: Middleware | readonly Middleware[],
  options: InvisibleOptions = {},
): Promise<InvisibilityReport> {
  const stack: readonly Middleware[] = Array.isArray(middleware) ? middleware : [middleware as Middleware];
  for (const [i, m] of stack.entries()) {
    if (typeof m !== 'function' && (typeof m !== 'object' || m === null)) {
      throw new InvalidOptionError(
        'assertInvisible',
        `middleware[${i}]`,
        'a middleware (function or object)',
        m,
      );
    }
  }
  const sides = options.sides ?? ['server', 'client'];
  for (const side of sides) {
    if (side !== 'server' && side !== 'client')
      throw new InvalidOptionError('assertInvisible', 'sides', '"server" and/or "client"', side);
  }
  const v2 = await loadV2();
  const skipped: string[] = [];
  let eras = options.eras ?? ['legacy', 'modern'];
  for (const era of eras) {
    if (era !== 'legacy' && era !== 'modern')
      throw new InvalidOptionError('assertInvisible', 'eras', '"legacy" and/or "modern"', era);
  }
  if (typeof v2 === 'string') {
    if (options.eras?.includes('modern'))
      throw new InvalidOptionError('assertInvisible', 'eras', v2, 'modern');
    eras = eras.filter((e) => e !== 'modern');
    skipped.push(`modern: ${v2}`);
  }
  const differences: string[] = [];
  const sessions: string[] = [];
  const traffic: Record<string, TrafficCount> = {};
  let steps = 0;
  for (const era of eras) {
    const open = (s: readonly Middleware[] | undefined, side: Side) =>
      era === 'legacy' ? legacySession(s, side) : modernSession(v2 as V2, s, side);
    const bare = await run(() => open(undefined, 'server'));
    steps = bare.length;
    for (const side of sides) {
      const probe = trafficProbe();
      const name = `${era}/${side}`;
      sessions.push(name);
      traffic[name] = probe.count;
      const wrapped = await run(() => open([probe.middleware, ...stack], side));
      const byStep = new Map(wrapped.map((r) => [r.step, r.evidence]));
      for (const b of bare) {
        const w = byStep.get(b.step);
        if (w === undefined) differences.push(`${name}/${b.step}: missing from the wrapped run`);
        else if (w !== b.evidence) differences.push(`${name}/${b.step}: ${firstDifference(b.evidence, w)}`);
      }
      if (probe.count.requests.size === 0) {
        differences.push(`${name}: no request crossed the stack; the middleware was not in the path`);
      }
    }
  }
  return { differences, sessions, steps, skipped, traffic };
}

/**
 * Throws an `AssertionError` listing every difference {@link checkInvisible} finds
 * between the bare server and the server with `middleware` installed: lists, reads,
 * prompts, tool calls (results, `isError`, unknown tools, invalid arguments), progress
 * notifications, cancellation, ping — in both protocol eras, on the server's side and
 * on the client's. Resolves with the report when there is none.
 *
 * @example
 * ```ts
 * import { test } from 'node:test';
 * import { assertInvisible } from 'mcp-perf/testing';
 * test('my middleware changes nothing until it acts', () => assertInvisible(myMiddleware()));
 * ```
 */
export async function assertInvisible(
  middleware: Middleware | readonly Middleware[],
  options: InvisibleOptions = {},
): Promise<InvisibilityReport> {
  const report = await checkInvisible(middleware, options);
  if (report.differences.length > 0) {
    throw new AssertionError({
      message: `the middleware is visible to the client (${report.differences.length} difference${report.differences.length === 1 ? '' : 's'}):\n${report.differences.map((d) => `  - ${d}`).join('\n')}`,
      actual: report.differences,
      expected: [],
      operator: 'assertInvisible',
    });
  }
  return report;
}
