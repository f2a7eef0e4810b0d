import type { SendOptions } from '../core/context.js';
import { Pipeline, type PipelineEnds } from '../core/pipeline.js';
import type { JsonRpcMessage, Middleware, Side } from '../core/types.js';
import { InvalidOptionError } from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import { bindTransport } from '../internal/endpoint.js';

/**
 * The transport interface shared by SDK v1 (`@modelcontextprotocol/sdk`) and v2
 * (`@modelcontextprotocol/server` / `client`), reduced to what the wrapper uses. Both
 * SDKs' transports are assignable to it.
 */
export interface McpTransport {
  /** Starts the transport. */
  start(): Promise<void>;
  /** Sends a message. */
  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own message and option types
  send(message: any, options?: any): Promise<void>;
  /** Closes the transport. */
  close(): Promise<void>;
  /** Called when the transport closes. */
  onclose?: (() => void) | undefined;
  /** Called on a transport error. */
  onerror?: ((error: Error) => void) | undefined;
  /** Called for every message received. */
  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own message and extra types
  onmessage?: ((message: any, extra?: any) => void) | undefined;
  /** The session id, where the transport has sessions. */
  sessionId?: string | undefined;
  /** Tells the transport the negotiated protocol version. */
  setProtocolVersion?: ((version: string) => void) | undefined;
}

/** Options of {@link wrapTransport}. */
export interface WrapTransportOptions {
  /**
   * Which role the transport plays: `server` for a transport handed to a server's
   * `connect()`, `client` for one handed to a client's `connect()`.
   */
  side: 'server' | 'client';
}

/** Optional transport members forwarded only when the inner transport has them. */
const OPTIONAL_METHODS = [
  'setProtocolVersion',
  'setSupportedProtocolVersions',
  'setScopeChallengeResolver',
] as const;
const OPTIONAL_GETTERS = ['hasPerRequestStream'] as const;

const WRAPPED = Symbol.for('mcp-perf.wrapped-transport');

/**
 * A transport that runs a middleware pipeline over another transport. Hand it to the
 * SDK's `connect()` in place of the inner transport. Created by {@link wrapTransport}.
 */
export class MiddlewareTransport implements McpTransport {
  /** The pipeline of this connection. */
  readonly pipeline: Pipeline;
  /** The wrapped transport. */
  readonly inner: McpTransport;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own message and extra types
  onmessage?: ((message: any, extra?: any) => void) | undefined;
  /** @internal */
  readonly [WRAPPED] = true;
  private started = false;

  /**
   * @param inner - the transport to wrap
   * @param stack - middlewares, outermost first
   * @param side - `server` or `client`
   */
  constructor(inner: McpTransport, stack: readonly Middleware[], side: Side) {
    this.inner = inner;
    const ends: PipelineEnds =
      side === 'server'
        ? {
            toCaller: (message, options) => inner.send(message, options),
            toHandler: (message, extra) => {
              this.onmessage?.(message, extra);
            },
            sessionId: () => inner.sessionId,
            reportError: (error) => this.onerror?.(error),
          }
        : {
            toCaller: (message, _options, extra) => {
              this.onmessage?.(message, extra);
            },
            toHandler: (message, _extra, options) => inner.send(message, options),
            sessionId: () => inner.sessionId,
            reportError: (error) => this.onerror?.(error),
          };
    this.pipeline = new Pipeline(side, ends, stack);
    // Middleware tells upstreams apart by the endpoint this transport reaches (URL, command).
    bindTransport(this.pipeline, inner);
    const self = this as unknown as Record<string, unknown>;
    const source = inner as unknown as Record<string, unknown>;
    for (const name of OPTIONAL_METHODS) {
      const method = source[name];
      if (typeof method !== 'function') continue;
      self[name] =
        name === 'setProtocolVersion'
          ? (version: string) => {
              this.pipeline.session.setProtocolVersion(version);
              return (method as (v: string) => unknown).call(inner, version);
            }
          : (...args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(inner, args);
    }
    for (const name of OPTIONAL_GETTERS) {
      if (name in inner) Object.defineProperty(this, name, { get: () => source[name], enumerable: true });
    }
  }

  /**
   * The inner transport's session id, read live: HTTP assigns it after `initialize`,
   * and a value copied early would make the SDK client skip the handshake.
   */
  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  set sessionId(value: string | undefined) {
    this.inner.sessionId = value;
  }

  /** Chains onto the inner transport's callbacks and starts it. */
  async start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      const inner = this.inner;
      const pipeline = this.pipeline;
      const previousMessage = inner.onmessage;
      const previousClose = inner.onclose;
      const previousError = inner.onerror;
      const report = (error: unknown) => this.onerror?.(asError(error));
      // Messages from the wire go to the SDK, whose onmessage returns nothing; a promise
      // comes back only if a middleware sent something on, and its failure is reported.
      const fromWire =
        pipeline.side === 'server'
          ? (message: JsonRpcMessage, extra?: unknown) => {
              const sending = pipeline.fromCaller(message, extra);
              if (sending) sending.then(undefined, report);
            }
          : (message: JsonRpcMessage, extra?: unknown) => {
              const sending = pipeline.fromHandler(message, extra);
              if (sending) sending.then(undefined, report);
            };
      inner.onmessage = previousMessage
        ? (message: JsonRpcMessage, extra?: unknown) => {
            previousMessage.call(inner, message, extra);
            fromWire(message, extra);
          }
        : fromWire;
      inner.onclose = () => {
        previousClose?.call(inner);
        pipeline.close();
        this.onclose?.();
      };
      inner.onerror = (error: Error) => {
        previousError?.call(inner, error);
        this.onerror?.(error);
      };
    }
    return this.inner.start();
  }

  /**
   * Sends a message from the SDK through the pipeline. A message that passes straight
   * through returns the inner transport's own promise, so the SDK sees its failures as
   * it would unwrapped; one that a middleware holds resolves at once.
   */
  send(message: JsonRpcMessage, options?: SendOptions): Promise<void> {
    const sending =
      this.pipeline.side === 'server'
        ? this.pipeline.fromHandler(message, undefined, options)
        : this.pipeline.fromCaller(message, undefined, options);
    return sending ?? RESOLVED;
  }

  /** Closes the inner transport. */
  close(): Promise<void> {
    return this.inner.close();
  }
}

const RESOLVED = Promise.resolve();

/** True if the transport is already a {@link MiddlewareTransport} (of any installed copy). */
export function isMiddlewareTransport(transport: unknown): transport is MiddlewareTransport {
  return (
    typeof transport === 'object' &&
    transport !== null &&
    (transport as Record<symbol, unknown>)[WRAPPED] === true
  );
}

/**
 * Wraps a transport so that every message crossing it runs through `stack`. Wrapping
 * an already wrapped transport adds the layers to its existing pipeline (inside the
 * existing ones) instead of nesting a second wrapper.
 *
 * @example
 * ```ts
 * const transport = wrapTransport(new StdioServerTransport(), [metrics(), cache()], { side: 'server' });
 * await server.connect(transport);
 * ```
 */
export function wrapTransport(
  transport: McpTransport,
  stack: readonly Middleware[],
  options: WrapTransportOptions,
): MiddlewareTransport {
  const side = options?.side;
  if (side !== 'server' && side !== 'client') {
    throw new InvalidOptionError('wrapTransport', 'side', '"server" or "client"', side);
  }
  if (isMiddlewareTransport(transport)) {
    if (transport.pipeline.side !== side) {
      throw new InvalidOptionError(
        'wrapTransport',
        'side',
        `"${transport.pipeline.side}" (already wrapped)`,
        side,
      );
    }
    transport.pipeline.add(stack);
    return transport;
  }
  return new MiddlewareTransport(transport, stack, side);
}
