import { CancelledError } from '../../src/errors/index.js';
import type { AuthInfo, Connection, JsonObject, RequestContext } from '../../src/index.js';

/** A hand-made request context for driving one middleware directly, without a pipeline. */
export interface FakeContext extends RequestContext {
  /** Fires the context's signal, as the pipeline does on `notifications/cancelled` or close. */
  cancel(reason?: string): void;
  /** Errors the middleware reported through the connection. */
  readonly reported: Error[];
}

let nextId = 1;

/** Builds a context for `method` (default `tools/call`) with `params`. */
export function fakeContext(
  options: {
    method?: string;
    params?: JsonObject;
    tool?: string;
    authInfo?: AuthInfo;
    control?: boolean;
  } = {},
): FakeContext {
  const method = options.method ?? 'tools/call';
  const params =
    options.params ?? (options.tool === undefined ? undefined : { name: options.tool, arguments: {} });
  const id = nextId++;
  const controller = new AbortController();
  const reported: Error[] = [];
  const state: Record<string, unknown> = {};
  const connection = {
    side: 'server',
    closed: false,
    session: {},
    reportError: (error: Error) => reported.push(error),
  } as unknown as Connection;
  return {
    id,
    method,
    params,
    message: { jsonrpc: '2.0', id, method, params },
    side: 'server',
    connection,
    session: connection.session,
    control: options.control ?? ['initialize', 'server/discover', 'ping'].includes(method),
    authInfo: options.authInfo,
    extra: undefined,
    progressToken: undefined,
    signal: controller.signal,
    get cancelled() {
      return controller.signal.aborted;
    },
    state,
    startedAt: 0,
    progress() {},
    cancel(reason = 'cancelled') {
      controller.abort(new CancelledError(reason));
    },
    reported,
  };
}
