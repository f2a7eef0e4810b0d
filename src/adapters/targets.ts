import type { Pipeline } from '../core/pipeline.js';
import type { Middleware } from '../core/types.js';
import { InvalidOptionError } from '../errors/index.js';
import { answerEarlyInFront, answerEarlyInFrontV2, earlyAnswerSupport } from './early.js';
import {
  type McpTransport,
  type MiddlewareTransport,
  type WrapTransportOptions,
  wrapTransport,
} from './transport.js';

/**
 * Anything with a `connect(transport)` method: an SDK `Server` or `Client` (v1 or v2),
 * or an `McpServer` (whose inner `server` is patched).
 */
export type ConnectTarget = Connectable | McpServerLike;

/** An SDK `Server` or `Client`: anything with `connect(transport)`. */
export interface Connectable {
  /** Connects to a transport (the SDK's own signature). */
  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own transport types
  connect(transport: any, ...rest: any[]): Promise<void>;
}

/** An SDK `McpServer`: its inner `server` is the one patched. */
export interface McpServerLike {
  /** The low-level server the `McpServer` delegates to. */
  server: Connectable;
}

const STACK = Symbol.for('mcp-perf.stack');

interface InstalledStack {
  readonly side: 'server' | 'client';
  readonly layers: Middleware[];
  /** The pipeline of the latest connection. */
  pipeline: Pipeline | undefined;
  /** Why a client gets no early answers, until reported on its first connection. */
  unreported: Error | undefined;
}

type Patchable = {
  connect(transport: unknown, ...rest: unknown[]): Promise<void>;
  [STACK]?: InstalledStack;
};

/**
 * Adds middleware to an MCP server, client or transport.
 *
 * On an `McpServer`, `Server` or `Client` (SDK v1 or v2) it patches `connect()` so that
 * every transport connected from then on runs through the stack; the target is
 * returned. On a `Client` it also patches the way requests leave it (`request()` on
 * SDK v1, the request funnel on v2), so that the leading request middlewares may answer
 * before the SDK sends anything (`EarlyAnswer`). Several calls on one target add layers
 * to one stack (later calls run inside earlier ones) and never nest wrappers. Layers
 * apply to connections made after the call: add them before `connect()`.
 *
 * On a bare transport it returns the wrapping transport (see {@link wrapTransport});
 * `options.side` is then required.
 *
 * Middleware instances are shared by every connection of the target, which is what
 * stateless Streamable HTTP (a new server and transport per request) needs: caches,
 * limiters and histograms live in the middleware, not the connection.
 *
 * @example
 * ```ts
 * const server = new McpServer({ name: 'files', version: '1.0.0' });
 * withMiddleware(server, [metrics(), concurrencyLimit({ limit: 8 }), cache()]);
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function withMiddleware<T extends ConnectTarget>(target: T, stack: readonly Middleware[]): T;
export function withMiddleware(
  target: McpTransport,
  stack: readonly Middleware[],
  options: WrapTransportOptions,
): MiddlewareTransport;
export function withMiddleware(
  target: ConnectTarget | McpTransport,
  stack: readonly Middleware[],
  options?: WrapTransportOptions,
): unknown {
  if (!Array.isArray(stack))
    throw new InvalidOptionError('withMiddleware', 'stack', 'an array of middleware', stack);
  for (const [i, m] of stack.entries()) {
    if (typeof m !== 'function' && (typeof m !== 'object' || m === null || typeof m.name !== 'string')) {
      throw new InvalidOptionError(
        'withMiddleware',
        `stack[${i}]`,
        'a function or a { name, request?, notification? } object',
        m,
      );
    }
  }
  const t = target as unknown as Record<string, unknown>;
  const inner = t.server as Record<string, unknown> | undefined;
  if (typeof inner === 'object' && inner !== null && typeof inner.connect === 'function') {
    // McpServer: its connect() delegates to the inner Server's, which is the one to patch.
    install(inner as unknown as Patchable, sideOf(inner), stack);
    return target;
  }
  if (typeof t.connect !== 'function') {
    if (typeof t.send === 'function' && typeof t.start === 'function') {
      if (options === undefined) {
        throw new InvalidOptionError(
          'withMiddleware',
          'side',
          '"server" or "client" for a bare transport',
          undefined,
        );
      }
      return wrapTransport(target as McpTransport, stack, options);
    }
    throw new InvalidOptionError(
      'withMiddleware',
      'target',
      'an McpServer, Server, Client or Transport',
      target,
    );
  }
  install(target as unknown as Patchable, sideOf(t), stack);
  return target;
}

function sideOf(protocol: Record<string, unknown>): 'server' | 'client' {
  if (typeof protocol.getServerCapabilities === 'function') return 'client';
  if (typeof protocol.getClientCapabilities === 'function') return 'server';
  throw new InvalidOptionError('withMiddleware', 'target', 'an SDK Server or Client (v1 or v2)', protocol);
}

function install(protocol: Patchable, side: 'server' | 'client', stack: readonly Middleware[]): void {
  const installed = protocol[STACK];
  if (installed !== undefined) {
    installed.layers.push(...stack);
    return;
  }
  const state: InstalledStack = { side, layers: [...stack], pipeline: undefined, unreported: undefined };
  const original = protocol.connect;
  protocol.connect = function connectWithMiddleware(this: unknown, transport: unknown, ...rest: unknown[]) {
    const wrapped = wrapTransport(transport as McpTransport, state.layers, { side: state.side });
    state.pipeline = wrapped.pipeline;
    const connecting = original.call(this, wrapped, ...rest);
    if (state.unreported === undefined) return connecting;
    // Reported once the SDK has set the transport's onerror, which leads to the client's.
    return connecting.then(() => {
      const error = state.unreported;
      state.unreported = undefined;
      if (error !== undefined) wrapped.pipeline.reportError(error);
    });
  };
  protocol[STACK] = state;
  if (side === 'client') {
    const support = earlyAnswerSupport(protocol);
    if (!support.supported) {
      state.unreported = new Error(`early answers are off: ${support.reason}`);
    } else if (support.sdk === 'v1') answerEarlyInFront(protocol, () => state.pipeline);
    else answerEarlyInFrontV2(protocol, () => state.pipeline);
  }
}
