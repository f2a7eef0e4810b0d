import assert from 'node:assert/strict';
import type { JsonRpcMessage, McpTransport, Middleware, MiddlewareObject, Reply } from '../../src/index.js';

/** The tool child-process fixtures answer with their counts and order log; never logged. */
export const STATS_TOOL = 'stats';

/**
 * A middleware that records `name:in:method` before `next()` and `name:out:method` after,
 * so a test can assert the order in which the layers of a stack ran. Calls of the
 * {@link STATS_TOOL} inspection tool are not logged.
 */
export function orderLog(log: string[], name: string): MiddlewareObject {
  return {
    name,
    request: async function orderLogged(ctx, next) {
      if (ctx.method === 'tools/call' && ctx.params?.name === STATS_TOOL) return next();
      log.push(`${name}:in:${ctx.method}`);
      const reply = await next();
      log.push(`${name}:out:${ctx.method}`);
      return reply;
    },
  };
}

/** The text the local-answer middleware answers with. */
export const LOCAL_TEXT = 'answered locally';

/**
 * A middleware that answers `tools/call` of the tool named `local` itself, without
 * calling `next()`: the handler never sees it. Everything else passes on.
 */
export function localAnswer(log?: string[]): MiddlewareObject {
  return {
    name: 'local-answer',
    request: async function localAnswered(ctx, next) {
      if (ctx.method === 'tools/call' && ctx.params?.name === 'local') {
        log?.push('local-answer:answered');
        return { result: { content: [{ type: 'text', text: LOCAL_TEXT }] } };
      }
      return next();
    },
  };
}

/** A middleware that counts requests per method; its counts outlive every connection. */
export function methodCounter(): MiddlewareObject & { counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  return {
    name: 'method-counter',
    counts,
    request: async function counted(ctx, next) {
      counts[ctx.method] = (counts[ctx.method] ?? 0) + 1;
      return next();
    },
  };
}

/**
 * A small cache-like middleware for `tools/call`: the first answer for a tool name and
 * arguments is remembered in the middleware instance, later identical calls are answered
 * from it without `next()`.
 */
export function rememberToolCalls(): MiddlewareObject & { hits: number } {
  const answers = new Map<string, Reply>();
  const self = {
    name: 'remember-tool-calls',
    hits: 0,
    request: async function remembered(ctx, next) {
      if (ctx.method !== 'tools/call') return next();
      const key = JSON.stringify([ctx.params?.name, ctx.params?.arguments]);
      const known = answers.get(key);
      if (known !== undefined) {
        self.hits++;
        return known;
      }
      const reply = await next();
      if (reply.result !== undefined) answers.set(key, { result: reply.result });
      return reply;
    },
  } satisfies Middleware & { hits: number };
  return self;
}

/**
 * Wraps a transport and records every message it receives from the wire and every
 * message sent through it (with the send options), without changing anything.
 */
export class RecordingTransport implements McpTransport {
  readonly received: JsonRpcMessage[] = [];
  readonly sent: { message: JsonRpcMessage; options: unknown }[] = [];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own message and extra types
  onmessage?: (message: any, extra?: any) => void;

  /** Forwarded only when the inner transport has it (as the library's wrapper does). */
  setProtocolVersion?: (version: string) => void;

  constructor(readonly inner: McpTransport) {
    const set = inner.setProtocolVersion;
    if (typeof set === 'function') this.setProtocolVersion = (version) => set.call(inner, version);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  async start(): Promise<void> {
    this.inner.onmessage = (message: JsonRpcMessage, extra?: unknown) => {
      this.received.push(message);
      this.onmessage?.(message, extra);
    };
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (error: Error) => this.onerror?.(error);
    await this.inner.start();
  }

  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own option types
  send(message: JsonRpcMessage, options?: any): Promise<void> {
    this.sent.push({ message, options });
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The text of the first content block of a tool result. */
export function textOf(result: unknown): string | undefined {
  const content = (result as { content?: { type: string; text?: string }[] }).content;
  return content?.[0]?.text;
}

/** The client surface the shared scenario uses; SDK v1 and v2 clients both have it. */
export interface ScenarioClient {
  listTools(): Promise<{ tools: { name: string }[] }>;
  // biome-ignore lint/suspicious/noExplicitAny: v1 takes (params, resultSchema, options), v2 (params, options)
  callTool(params: { name: string; arguments?: Record<string, unknown> }, ...rest: any[]): Promise<unknown>;
}

/** The stack the shared scenario expects: an outer log, the local answer, an inner log. */
export function scenarioStack(log: string[]): Middleware[] {
  return [orderLog(log, 'outer'), localAnswer(log), orderLog(log, 'inner')];
}

/** What {@link runScenario} needs. */
export interface ScenarioOptions {
  client: ScenarioClient;
  /** How often each tool really ran (may ask a child process). */
  readCounts: () => Promise<Record<string, number>>;
  /** The stack's order log (may ask a child process). */
  readLog: () => Promise<string[]>;
  /**
   * The client's transport, recorded. When given, progress is checked on the wire
   * instead of through `onprogress`: the v1 client handles notifications a microtask
   * late but responses at once, so over stdio, where a progress notification and the
   * response arrive in one chunk, it drops steps even with no middleware at all.
   */
  wire?: RecordingTransport;
  /** Which SDK the client comes from (their `callTool` options differ). Default: `v1`. */
  sdk?: 'v1' | 'v2';
}

/**
 * Runs the same checks over any transport: a stack built by {@link scenarioStack} on one
 * side, a counting server on the other.
 */
export async function runScenario(options: ScenarioOptions): Promise<void> {
  const { client, readCounts, readLog, wire } = options;
  const before = (await readLog()).length;
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'echo'));

  const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
  assert.equal(textOf(echoed), 'hi');

  const local = await client.callTool({ name: 'local', arguments: {} });
  assert.equal(textOf(local), LOCAL_TEXT);

  const steps: number[] = [];
  const wireFrom = wire?.received.length ?? 0;
  const progressOptions = { onprogress: (p: { progress: number }) => steps.push(p.progress) };
  const progressParams = { name: 'progress', arguments: { steps: 3 } };
  const progressed =
    options.sdk === 'v2'
      ? await client.callTool(progressParams, progressOptions)
      : await client.callTool(progressParams, undefined, progressOptions);
  assert.equal(textOf(progressed), 'done 3');
  if (wire === undefined) assert.deepEqual(steps, [1, 2, 3]);
  else {
    const seen = wire.received.slice(wireFrom).map((m) => ('method' in m ? m.params?.progress : 'response'));
    assert.deepEqual(seen, [1, 2, 3, 'response']);
  }

  const counts = await readCounts();
  assert.equal(counts.echo, 1, 'echo ran once on the server');
  assert.equal(counts.progress, 1, 'progress ran once on the server');
  assert.equal(counts.local, undefined, 'the local answer never reached the server');

  const log = (await readLog()).slice(before);
  assert.deepEqual(log, [
    'outer:in:tools/list',
    'inner:in:tools/list',
    'inner:out:tools/list',
    'outer:out:tools/list',
    'outer:in:tools/call',
    'inner:in:tools/call',
    'inner:out:tools/call',
    'outer:out:tools/call',
    'outer:in:tools/call',
    'local-answer:answered',
    'outer:out:tools/call',
    'outer:in:tools/call',
    'inner:in:tools/call',
    'inner:out:tools/call',
    'outer:out:tools/call',
  ]);
}

/** A middleware that records `method:era` for every request, as the pipeline knows the era then. */
export function eraSpy(seen: string[]): MiddlewareObject {
  return {
    name: 'era-spy',
    request: async function eraSeen(ctx, next) {
      if (!(ctx.method === 'tools/call' && ctx.params?.name === STATS_TOOL)) {
        seen.push(`${ctx.method}:${ctx.session.era}`);
      }
      return next();
    },
  };
}
