/**
 * Early answers on an SDK v1 `Client`: `client.request()` first offers the request to
 * the `early` hooks of the pipeline's leading request middlewares (e.g. metrics, then a
 * cache hit; see `EarlyAnswer`), and only when they decline does the SDK build the
 * JSON-RPC request, arm its timeout, send it and wait for the response. On an in-memory
 * pair that machinery, not the transport, is most of a call's cost, so a hit answered
 * here costs a fraction of one answered from inside the transport.
 *
 * The answer reaches the caller as the SDK would have delivered it: parsed by the
 * caller's result schema, which also makes it a fresh object for every call.
 *
 * @module
 */

import type { Pipeline } from '../core/pipeline.js';
import type { JsonObject } from '../core/types.js';

/** A zod schema (v3, or v4 classic) as the SDK v1 client takes one for a result. */
interface ResultSchema {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: unknown };
}

/** The options of SDK v1 `request()` that decide whether a request may be answered early. */
interface RequestOptions {
  signal?: AbortSignal;
  resumptionToken?: unknown;
  onresumptiontoken?: unknown;
  task?: unknown;
  relatedTask?: unknown;
}

type Request = (
  request: { method: string; params?: JsonObject },
  resultSchema: unknown,
  options?: RequestOptions,
) => Promise<unknown>;

/**
 * True for an SDK v1 `Client`, whose `request(request, resultSchema, options)` validates
 * with the schema it is given. SDK v2's client validates through its protocol era's codec
 * (it has `_requestWithSchema`) and keeps the ordinary path.
 */
export function isV1Client(protocol: object): boolean {
  const p = protocol as Record<string, unknown>;
  return (
    typeof p.request === 'function' &&
    typeof p.getServerCapabilities === 'function' &&
    typeof p._requestWithSchema !== 'function'
  );
}

/**
 * Patches `client.request` so that the pipeline of the client's current connection
 * (`pipelineOf()`) may answer first. Requests that resume a stream, create or relate to
 * a task, carry an aborted signal, or come with a schema the patch cannot run (zod v4
 * mini) always take the SDK's way.
 */
export function answerEarlyInFront(client: object, pipelineOf: () => Pipeline | undefined): void {
  const target = client as { request: Request };
  const original = target.request;
  target.request = function requestOrAnswerEarly(this: unknown, request, resultSchema, options) {
    const pipeline = pipelineOf();
    if (pipeline?.answersEarly === true && mayAnswerEarly(resultSchema, options)) {
      const result = pipeline.answerEarly(request.method, request.params);
      if (result !== undefined) {
        const parsed = (resultSchema as ResultSchema).safeParse(result);
        return parsed.success ? Promise.resolve(parsed.data) : Promise.reject(parsed.error);
      }
    }
    return original.call(this, request, resultSchema, options);
  };
}

function mayAnswerEarly(resultSchema: unknown, options: RequestOptions | undefined): boolean {
  if (typeof (resultSchema as Partial<ResultSchema> | null)?.safeParse !== 'function') return false;
  if (options === undefined) return true;
  return (
    options.signal?.aborted !== true &&
    options.resumptionToken === undefined &&
    options.onresumptiontoken === undefined &&
    options.task === undefined &&
    options.relatedTask === undefined
  );
}
