/**
 * The upstream behind a stateless `--listen`: one connection to the real server (a child
 * or an HTTP session), opened and initialized by the proxy itself on first use, that every
 * stateless POST borrows through a channel of its own. A stateless POST stands alone (no
 * session, often no `initialize` before it), while the server behind the proxy usually
 * keeps a session; the channels bridge the two:
 *
 * - request ids are renumbered into the shared connection's own id space (every
 *   stateless client counts from 0), and answers go back to the channel that asked,
 *   with its own id; progress tokens likewise;
 * - a client's `initialize` is answered with the result of the proxy's own handshake,
 *   and its `notifications/initialized` stays here;
 * - a channel closed before its answers came (the HTTP request ended) cancels them
 *   upstream;
 * - the server cannot reach a stateless client on its own: its requests are refused and
 *   its unrelated notifications dropped, as a stateless server transport would.
 *
 * If the connection closes (a child that exits), waiting requests are answered with an
 * error and the next request opens a new one.
 */

import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { McpTransport } from '../adapters/transport.js';
import type { JsonRpcMessage } from '../core/types.js';
import { asError } from '../internal/as-error.js';

/** A transport to the real server, with an optional graceful stop (a child's). */
export type UpstreamTransport = McpTransport & { stop?(): Promise<unknown> };

/** What the channels show as their endpoint, so middleware keyed on it (the cache) is shared by every POST. */
export type UpstreamEndpoint = { url: URL } | { command: string; args: readonly string[] };

/** JSON-RPC error codes used here. */
const INTERNAL_ERROR = -32603;
const METHOD_NOT_FOUND = -32601;
const CONNECTION_CLOSED = -32000;

interface Waiter {
  readonly channel: UpstreamChannel;
  readonly id: string | number;
  readonly progressToken: string | number | undefined;
}

interface Connection {
  readonly transport: UpstreamTransport;
  readonly ready: Promise<Record<string, unknown>>;
}

/** One shared, lazily opened and initialized upstream connection (see the module comment). */
export class SharedUpstream {
  private connection: Connection | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();
  private closed = false;

  /**
   * @param open - opens a new transport to the real server
   * @param endpoint - what the real server is, for middleware that keys on it
   * @param onerror - told about connection problems
   */
  constructor(
    private readonly open: () => UpstreamTransport,
    private readonly endpoint: UpstreamEndpoint,
    private readonly onerror: (error: Error) => void,
  ) {}

  /** A channel for one stateless POST. */
  channel(): UpstreamChannel {
    return new UpstreamChannel(this, this.endpoint);
  }

  /** Closes the shared connection; channels opened later fail. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    this.failWaiting('the proxy is closing');
    if (connection !== undefined) await (connection.transport.stop?.() ?? connection.transport.close());
  }

  /** The initialize result of the shared connection, opening it first if needed. */
  ready(initialize?: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new Error('the proxy is closing'));
    this.connection ??= this.connect(initialize);
    return this.connection.ready;
  }

  /** Sends a channel's request upstream under an id of the shared connection; `undefined` if it closed meanwhile. */
  forward(channel: UpstreamChannel, message: Record<string, unknown>): number | undefined {
    const connection = this.connection;
    if (connection === undefined) return undefined;
    const upstreamId = this.nextId++;
    const params = message.params as { _meta?: { progressToken?: string | number } } | undefined;
    const progressToken = params?._meta?.progressToken;
    this.waiting.set(upstreamId, { channel, id: message.id as string | number, progressToken });
    const out =
      progressToken === undefined
        ? { ...message, id: upstreamId }
        : {
            ...message,
            id: upstreamId,
            params: { ...params, _meta: { ...params!._meta, progressToken: upstreamId } },
          };
    connection.transport.send(out).catch((error: unknown) => this.answerError(upstreamId, asError(error)));
    return upstreamId;
  }

  /** Sends a notification upstream as it is (once the connection is ready). */
  notify(message: JsonRpcMessage): void {
    this.connection?.transport.send(message).catch((error: unknown) => this.onerror(asError(error)));
  }

  /** Forgets a waiting request whose channel closed, and cancels it upstream. */
  abandon(upstreamId: number): void {
    if (!this.waiting.delete(upstreamId)) return;
    this.notify({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: upstreamId, reason: 'the HTTP request ended' },
    } as JsonRpcMessage);
  }

  private connect(initialize: Record<string, unknown> | undefined): Connection {
    const transport = this.open();
    const handshakeId = this.nextId++;
    let settle!: { resolve(r: Record<string, unknown>): void; reject(e: Error): void };
    const handshake = new Promise<Record<string, unknown>>((resolve, reject) => {
      settle = { resolve, reject };
    });
    transport.onmessage = (message: Record<string, unknown>) => {
      if (message.id === handshakeId && !('method' in message)) {
        if (message.error !== undefined)
          settle.reject(new Error(`initialize failed: ${JSON.stringify(message.error)}`));
        else settle.resolve(message.result as Record<string, unknown>);
        return;
      }
      this.fromUpstream(transport, message);
    };
    transport.onerror = (error) => this.onerror(error);
    transport.onclose = () => {
      settle.reject(new Error('the server closed the connection during initialize'));
      if (this.connection?.transport !== transport) return;
      this.connection = undefined;
      this.failWaiting('the server closed the connection');
    };
    const ready = (async () => {
      await transport.start();
      const params = initialize ?? {};
      await transport.send({
        jsonrpc: '2.0',
        id: handshakeId,
        method: 'initialize',
        params: {
          protocolVersion: params.protocolVersion ?? LATEST_PROTOCOL_VERSION,
          // Server-to-client requests cannot reach a stateless client: promise none.
          capabilities: {},
          clientInfo: params.clientInfo ?? { name: 'mcp-perf-proxy', version: '0' },
        },
      });
      const result = await handshake;
      (transport as { setProtocolVersion?: (v: string) => void }).setProtocolVersion?.(
        String(result.protocolVersion),
      );
      await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return result;
    })();
    ready.catch((error: unknown) => {
      this.onerror(asError(error));
      if (this.connection?.transport !== transport) return;
      this.connection = undefined;
      void (transport.stop?.() ?? transport.close()).catch(() => {});
    });
    return { transport, ready };
  }

  private fromUpstream(transport: UpstreamTransport, message: Record<string, unknown>): void {
    const method = message.method;
    if (method === undefined) {
      const waiter = this.waiting.get(message.id as number);
      if (waiter === undefined) return;
      this.waiting.delete(message.id as number);
      waiter.channel.deliver({ ...message, id: waiter.id } as JsonRpcMessage);
      return;
    }
    if ('id' in message) {
      // A request from the server: nothing stateless can answer it but the proxy.
      const reply =
        method === 'ping'
          ? { jsonrpc: '2.0', id: message.id, result: {} }
          : {
              jsonrpc: '2.0',
              id: message.id,
              error: {
                code: METHOD_NOT_FOUND,
                message: `${String(method)} cannot reach a client of a stateless proxy`,
              },
            };
      transport.send(reply).catch((error: unknown) => this.onerror(asError(error)));
      return;
    }
    if (method === 'notifications/progress') {
      const params = message.params as { progressToken?: unknown } | undefined;
      const waiter = this.waiting.get(params?.progressToken as number);
      if (waiter?.progressToken === undefined) return;
      // Related to the caller's request, so the HTTP front streams it on that request's response.
      waiter.channel.deliver(
        {
          ...message,
          params: { ...params, progressToken: waiter.progressToken },
        } as unknown as JsonRpcMessage,
        waiter.id,
      );
    }
    // Other notifications belong on a standalone stream, which stateless HTTP has not.
  }

  private answerError(upstreamId: number, error: Error): void {
    const waiter = this.waiting.get(upstreamId);
    if (waiter === undefined) return;
    this.waiting.delete(upstreamId);
    waiter.channel.deliver(errorResponse(waiter.id, CONNECTION_CLOSED, error.message));
  }

  private failWaiting(reason: string): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.channel.deliver(errorResponse(w.id, CONNECTION_CLOSED, reason));
  }
}

/**
 * The transport one stateless POST's proxy talks to: requests go to the shared
 * connection under ids of its own, answers come back with the POST's ids.
 */
export class UpstreamChannel implements McpTransport {
  onmessage?: (
    message: JsonRpcMessage,
    extra?: unknown,
    options?: { relatedRequestId: string | number },
  ) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  /** The real server's endpoint, read by middleware that tells upstreams apart. */
  readonly _url: URL | undefined;
  readonly _serverParams: { command: string; args: readonly string[] } | undefined;
  /** This channel's requests still waiting upstream: own id → shared id. */
  private readonly open = new Map<string | number, number>();
  private closed = false;

  constructor(
    private readonly shared: SharedUpstream,
    endpoint: UpstreamEndpoint,
  ) {
    this._url = 'url' in endpoint ? endpoint.url : undefined;
    this._serverParams = 'command' in endpoint ? endpoint : undefined;
  }

  async start(): Promise<void> {}

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.closed) throw new Error('upstream channel closed');
    const m = message as unknown as Record<string, unknown>;
    const method = m.method as string | undefined;
    if (method === undefined) return; // an answer to a server request, which were never forwarded
    if (!('id' in m)) {
      if (method === 'notifications/initialized') return;
      if (method === 'notifications/cancelled') {
        const params = m.params as { requestId?: string | number } | undefined;
        const upstreamId = this.open.get(params?.requestId as string | number);
        if (upstreamId === undefined) return;
        this.open.delete(params!.requestId!);
        this.shared.abandon(upstreamId);
        return;
      }
      await this.shared.ready();
      this.shared.notify(message);
      return;
    }
    const id = m.id as string | number;
    let result: Record<string, unknown>;
    try {
      result = await this.shared.ready(
        method === 'initialize' ? (m.params as Record<string, unknown>) : undefined,
      );
    } catch (error) {
      this.deliver(errorResponse(id, INTERNAL_ERROR, `upstream unavailable: ${asError(error).message}`));
      return;
    }
    if (this.closed) return;
    if (method === 'initialize') {
      this.deliver({ jsonrpc: '2.0', id, result } as JsonRpcMessage);
      return;
    }
    const upstreamId = this.shared.forward(this, m);
    if (upstreamId === undefined)
      this.deliver(errorResponse(id, CONNECTION_CLOSED, 'the server closed the connection'));
    else this.open.set(id, upstreamId);
  }

  /** Hands a message from the shared connection to this channel's proxy. */
  deliver(message: JsonRpcMessage, relatedRequestId?: string | number): void {
    if (this.closed) return;
    const id = (message as { id?: string | number }).id;
    if (id !== undefined && !('method' in message)) this.open.delete(id);
    if (relatedRequestId === undefined) this.onmessage?.(message);
    else this.onmessage?.(message, undefined, { relatedRequestId });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const upstreamId of this.open.values()) this.shared.abandon(upstreamId);
    this.open.clear();
    this.onclose?.();
  }
}

function errorResponse(id: string | number, code: number, message: string): JsonRpcMessage {
  return { jsonrpc: '2.0', id, error: { code, message } } as JsonRpcMessage;
}
