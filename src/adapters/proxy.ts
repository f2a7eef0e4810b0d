import type { SendOptions } from '../core/context.js';
import { Pipeline } from '../core/pipeline.js';
import type { JsonRpcMessage, Middleware } from '../core/types.js';
import { InvalidOptionError } from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import { bindTransport } from '../internal/endpoint.js';
import type { McpTransport } from './transport.js';

/** Options of {@link createProxy}. */
export interface ProxyOptions {
  /** The transport facing the client (e.g. a `StdioServerTransport`). */
  downstream: McpTransport;
  /** The transport facing the real server (e.g. a `StdioClientTransport` to a child process). */
  upstream: McpTransport;
  /** Middlewares, outermost first. Default: none. */
  stack?: readonly Middleware[];
  /** Receives transport and pipeline errors. Default: ignore them. */
  onerror?: (error: Error) => void;
  /** Called once when either side closes (the other is then closed too). */
  onclose?: () => void;
}

/** A running proxy between two transports. */
export interface McpProxy {
  /** The proxy's pipeline (its session facts, its stack). */
  readonly pipeline: Pipeline;
  /** Starts both transports (upstream first). */
  start(): Promise<void>;
  /** Closes both transports. */
  close(): Promise<void>;
}

/**
 * Bridges a downstream transport (towards the client) and an upstream one (towards
 * the server) through a middleware stack: a proxy in front of any MCP server, written
 * in any language. Requests from downstream run down the stack and on to upstream;
 * everything else passes through (notifications through the hooks).
 *
 * @example
 * ```ts
 * const proxy = createProxy({
 *   downstream: new StdioServerTransport(),
 *   upstream: new StdioClientTransport({ command: 'python', args: ['server.py'] }),
 *   stack: [metrics(), cache()],
 * });
 * await proxy.start();
 * ```
 */
export function createProxy(options: ProxyOptions): McpProxy {
  const { downstream, upstream } = options;
  for (const name of ['downstream', 'upstream'] as const) {
    const t = options[name] as McpTransport | undefined;
    if (typeof t?.send !== 'function' || typeof t.start !== 'function') {
      throw new InvalidOptionError('createProxy', name, 'an MCP transport', t);
    }
  }
  const onerror = options.onerror;
  const pipeline = new Pipeline(
    'proxy',
    {
      toCaller: (message, sendOptions) => downstream.send(message, sendOptions),
      toHandler: (message, _extra, sendOptions) => upstream.send(message, stripRelated(sendOptions)),
      sessionId: () => downstream.sessionId,
      reportError: (error) => onerror?.(error),
      protocolVersionNegotiated: (version) => {
        upstream.setProtocolVersion?.(version);
        downstream.setProtocolVersion?.(version);
      },
    },
    options.stack ?? [],
  );
  // Middleware tells upstreams apart by the endpoint the upstream transport reaches.
  bindTransport(pipeline, upstream);
  let closing = false;
  const closeBoth = () => {
    if (closing) return;
    closing = true;
    pipeline.close();
    Promise.allSettled([downstream.close(), upstream.close()]).then(() => options.onclose?.());
  };
  const report = (error: unknown) => onerror?.(asError(error));
  downstream.onmessage = (message: JsonRpcMessage, extra?: unknown) => {
    const sending = pipeline.fromCaller(message, extra);
    if (sending) sending.then(undefined, report);
  };
  // A transport that knows which caller request a message belongs to (the stateless HTTP
  // front's shared upstream) says so in a third argument, as a server's send() would.
  upstream.onmessage = (message: JsonRpcMessage, extra?: unknown, sendOptions?: SendOptions) => {
    const sending = pipeline.fromHandler(message, extra, sendOptions);
    if (sending) sending.then(undefined, report);
  };
  downstream.onclose = closeBoth;
  upstream.onclose = closeBoth;
  downstream.onerror = (error) => onerror?.(error);
  upstream.onerror = (error) => onerror?.(error);
  return {
    pipeline,
    async start() {
      await upstream.start();
      await downstream.start();
    },
    async close() {
      closeBoth();
    },
  };
}

/** A downstream request id means nothing upstream; other options pass through. */
function stripRelated(options: SendOptions | undefined): SendOptions | undefined {
  if (options?.relatedRequestId === undefined) return options;
  const { relatedRequestId: _dropped, ...rest } = options;
  return rest;
}
