/**
 * Early answers on an SDK `Client`: a request first goes to the `early` hooks of the
 * pipeline's leading request middlewares (e.g. metrics, then a cache hit; see
 * `EarlyAnswer`), and only when they decline does the SDK build the JSON-RPC request, arm
 * its timeout, send it and wait for the response. On an in-memory pair that machinery,
 * not the transport, is most of a call's cost, so a hit answered here costs a fraction of
 * one answered from inside the transport.
 *
 * - SDK v1: `client.request(request, resultSchema, options)` is patched; the answer is
 *   parsed by the caller's zod schema, as the SDK parses a response.
 * - SDK v2: `client._requestWithSchemaViaCodec(codec, request, resultSchema, options)`,
 *   the funnel every v2 request goes through, is patched; the answer is decoded by the
 *   connection's era codec and validated by the caller's Standard Schema, as the SDK
 *   does with a response. An answer the codec does not decode as complete, or the schema
 *   rejects, takes the ordinary way instead, so that the SDK reports the server's answer
 *   in its own terms (a cache then counts that request's hit twice: the early one and the
 *   one on the ordinary way, if the entry is still there).
 *
 * Either way the caller gets a fresh object for every call. An answer that is the same
 * frozen object as before (a cached entry's value) is parsed once per result schema (and
 * codec): its parsed form is kept, weakly held by the answer, and each later call gets a
 * copy of it, which costs a fraction of parsing it again (benchmark
 * `cache.client-hit.inmemory` measures such a hit). Only parsed forms made of plain objects,
 * arrays and JSON primitives are kept (anything else, a `Date` from a transform say, is
 * parsed every time), and the schema must give the same output for the same input, as a
 * schema without side effects does.
 *
 * @module
 */

import type { Pipeline } from '../core/pipeline.js';
import type { JsonObject } from '../core/types.js';

/** A zod schema (v3, or v4 classic) as the SDK v1 client takes one for a result. */
interface ResultSchema {
  safeParse(value: unknown): { success: true; data: unknown } | { success: false; error: unknown };
}

/** The request options (SDK v1 and v2 alike) that decide whether a request may be answered early. */
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

/** A result as an SDK v2 era codec decodes it. */
type Decoded = { kind: 'complete'; result: unknown } | { kind: string };

/** An SDK v2 era codec, reduced to the decoding of results. */
interface Codec {
  decodeResult(method: string, raw: unknown): Decoded;
}

/** A Standard Schema (`~standard`), as the SDK v2 client takes one for a result. */
interface StandardSchema {
  '~standard': {
    validate(value: unknown): StandardOutcome | Promise<StandardOutcome>;
  };
}

type StandardOutcome = { value: unknown; issues?: undefined } | { issues: readonly unknown[] };

type RequestViaCodec = (
  codec: Codec,
  request: { method: string; params?: JsonObject },
  resultSchema: unknown,
  options?: RequestOptions,
) => Promise<unknown>;

/**
 * True for an SDK v1 `Client`, whose `request(request, resultSchema, options)` validates
 * with the schema it is given.
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
 * True for an SDK v2 `Client`, whose requests all go through
 * `_requestWithSchemaViaCodec(codec, request, resultSchema, options)`.
 */
export function isV2Client(protocol: object): boolean {
  const p = protocol as Record<string, unknown>;
  return typeof p._requestWithSchemaViaCodec === 'function' && typeof p.getServerCapabilities === 'function';
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
    if (
      pipeline?.answersEarly === true &&
      typeof (resultSchema as Partial<ResultSchema> | null)?.safeParse === 'function' &&
      mayAnswerEarly(options)
    ) {
      const result = pipeline.answerEarly(request.method, request.params);
      if (result !== undefined) return delivered(result, resultSchema as ResultSchema);
    }
    return original.call(this, request, resultSchema, options);
  };
}

/**
 * Patches an SDK v2 client's request funnel so that the pipeline of its current
 * connection (`pipelineOf()`) may answer first (see the module comment). Requests that
 * resume a stream, carry an aborted signal or come with a schema that is not a Standard
 * Schema always take the SDK's way.
 */
export function answerEarlyInFrontV2(client: object, pipelineOf: () => Pipeline | undefined): void {
  const target = client as { _requestWithSchemaViaCodec: RequestViaCodec };
  const original = target._requestWithSchemaViaCodec;
  target._requestWithSchemaViaCodec = function requestOrAnswerEarly(
    this: unknown,
    codec,
    request,
    resultSchema,
    options,
  ) {
    const pipeline = pipelineOf();
    if (
      pipeline?.answersEarly === true &&
      typeof codec?.decodeResult === 'function' &&
      isStandardSchema(resultSchema) &&
      mayAnswerEarly(options)
    ) {
      const result = pipeline.answerEarly(request.method, request.params);
      if (result !== undefined) {
        return deliveredV2(result, request.method, codec, resultSchema, () =>
          original.call(this, codec, request, resultSchema, options),
        );
      }
    }
    return original.call(this, codec, request, resultSchema, options);
  };
}

/**
 * `result` as SDK v2 delivers a response to `method`: decoded by `codec` and validated by
 * `schema`, or copied from that earlier; `ordinary()` when either rejects it.
 */
function deliveredV2(
  result: JsonObject,
  method: string,
  codec: Codec,
  schema: StandardSchema,
  ordinary: () => Promise<unknown>,
): Promise<unknown> {
  const known = recalled(result, schema, codec);
  if (known !== NOT_KNOWN) return Promise.resolve(known);
  const decoded = codec.decodeResult(method, result);
  if (decoded.kind !== 'complete') return ordinary();
  return Promise.resolve(schema['~standard'].validate((decoded as { result: unknown }).result)).then(
    (outcome) => {
      if (outcome.issues !== undefined && outcome.issues.length !== 0) return ordinary();
      const value = (outcome as { value: unknown }).value;
      remember(result, schema, codec, value);
      return value;
    },
  );
}

function isStandardSchema(schema: unknown): schema is StandardSchema {
  const standard = (schema as Partial<StandardSchema> | null)?.['~standard'];
  return typeof standard?.validate === 'function';
}

/** A result schema's output for an answer given before, with the schema and codec. */
interface Parsed {
  schema: unknown;
  codec: unknown;
  /** A private copy: the caller that got the first parse may change its own. */
  data: unknown;
}

/** Parsed forms of frozen answers, held no longer than the answer itself. */
const parsedAnswers = new WeakMap<JsonObject, Parsed>();

const NOT_KNOWN = Symbol('not known');

/** A copy of what `schema` (and `codec`) made of `result` before, or {@link NOT_KNOWN}. */
function recalled(result: JsonObject, schema: unknown, codec: unknown): unknown {
  const known = parsedAnswers.get(result);
  return known !== undefined && known.schema === schema && known.codec === codec
    ? copyPlain(known.data)
    : NOT_KNOWN;
}

/** Keeps a private copy of `data`, what `schema` made of `result`, if both qualify. */
function remember(result: JsonObject, schema: unknown, codec: unknown, data: unknown): void {
  if (Object.isFrozen(result) && isPlain(data, 0)) {
    parsedAnswers.set(result, { schema, codec, data: copyPlain(data) });
  }
}

/** `result` as the caller's schema delivers it, parsed or copied from its earlier parse. */
function delivered(result: JsonObject, schema: ResultSchema): Promise<unknown> {
  const known = recalled(result, schema, undefined);
  if (known !== NOT_KNOWN) return Promise.resolve(known);
  const parsed = schema.safeParse(result);
  if (!parsed.success) return Promise.reject(parsed.error);
  remember(result, schema, undefined, parsed.data);
  return Promise.resolve(parsed.data);
}

/** Nesting deeper than this is parsed every time rather than copied. */
const MAX_PLAIN_DEPTH = 64;

/**
 * True when `value` is plain data that {@link copyPlain} reproduces exactly: JSON
 * primitives, `undefined`, arrays without holes and objects whose prototype is
 * `Object.prototype`, with enumerable string keys only, none of them `__proto__`, and no
 * getters.
 */
function isPlain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isPlain(value[i], depth + 1)) return false;
    }
    return Object.keys(value).length === value.length;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const descriptors = Object.getOwnPropertyDescriptors(value);
  if (Object.getOwnPropertySymbols(descriptors).length !== 0) return false;
  for (const key of Object.keys(descriptors)) {
    const d = descriptors[key]!;
    if (key === '__proto__' || !d.enumerable || d.get !== undefined || d.set !== undefined) return false;
    if (!isPlain(d.value, depth + 1)) return false;
  }
  return true;
}

/**
 * A deep copy of plain data (see {@link isPlain}): fresh arrays and objects, shared
 * primitives. Spread and `slice` copy an object or array in one step from its shape;
 * the source must not be frozen, or V8 takes a path several times slower.
 */
function copyPlain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = value.slice();
    for (let i = 0; i < out.length; i++) {
      const item: unknown = out[i];
      if (typeof item === 'object' && item !== null) out[i] = copyPlain(item);
    }
    return out;
  }
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(out);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = out[key];
    if (typeof item === 'object' && item !== null) out[key] = copyPlain(item);
  }
  return out;
}

function mayAnswerEarly(options: RequestOptions | undefined): boolean {
  if (options === undefined) return true;
  return (
    options.signal?.aborted !== true &&
    options.resumptionToken === undefined &&
    options.onresumptiontoken === undefined &&
    options.task === undefined &&
    options.relatedTask === undefined
  );
}
