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
 * The v2 funnel is a private member, so a client is patched only when it has the shape
 * these were read from (see {@link earlyAnswerSupport}); any other client takes the
 * ordinary way for every request, and `withMiddleware` reports why once, through the
 * client's `onerror`, after its first `connect()`.
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

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Whether early answers fit a client, and why not when they do not. */
export type EarlyAnswerSupport =
  | { supported: true; sdk: 'v1' | 'v2'; version: string | undefined }
  | { supported: false; sdk: 'v1' | 'v2' | undefined; version: string | undefined; reason: string };

/** The SDK packages early answers were built against, by the major version they fit. */
const SDK_PACKAGES = {
  v1: { name: '@modelcontextprotocol/sdk', major: 1 },
  v2: { name: '@modelcontextprotocol/client', major: 2 },
} as const;

/**
 * Decides whether early answers fit `client`, from its shape and the installed SDK
 * versions. An SDK v2 client (it has the public `getProtocolEra()`, or a member only v2
 * has) must have the request funnel
 * `_requestWithSchemaViaCodec(codec, request, resultSchema, options)`, a private member,
 * with those four parameters; an SDK v1 client, the public
 * `request(request, resultSchema, options)`. The installed package of that SDK, where it
 * can be found, must have the major version those were read from. Anything else is not
 * patched: its requests take the ordinary way (middleware still runs inside the
 * transport), and `reason` says what did not fit.
 */
export function earlyAnswerSupport(client: object): EarlyAnswerSupport {
  const c = client as Record<string, unknown>;
  const sdk =
    typeof c.getProtocolEra === 'function' || '_requestWithSchemaViaCodec' in c || '_requestWithSchema' in c
      ? 'v2'
      : 'v1';
  const { name, major } = SDK_PACKAGES[sdk];
  const version = installedVersion(name);
  const at = `${name} ${version ?? '(version unknown)'}`;
  if (version !== undefined && Number.parseInt(version, 10) !== major) {
    return { supported: false, sdk, version, reason: `${at}: early answers fit major version ${major} only` };
  }
  const [member, arity] = sdk === 'v2' ? ['_requestWithSchemaViaCodec', 4] : ['request', 3];
  const fn = c[member];
  if (typeof fn !== 'function' || fn.length !== arity || typeof c.getServerCapabilities !== 'function') {
    const found = typeof fn === 'function' ? `a function of ${fn.length} parameters` : typeof fn;
    return {
      supported: false,
      sdk,
      version,
      reason: `${at}: the client's ${member} is ${found}, not the ${arity}-parameter function early answers patch`,
    };
  }
  return { supported: true, sdk, version };
}

const versions = new Map<string, string | undefined>();

/** The version of the installed package `name` as this module resolves it, if it can be read. */
function installedVersion(name: string): string | undefined {
  if (versions.has(name)) return versions.get(name);
  let version: string | undefined;
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(name)));
    for (let i = 0; i < 8 && version === undefined; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name?: unknown;
          version?: unknown;
        };
        if (pkg.name === name && typeof pkg.version === 'string') version = pkg.version;
      } catch {
        // No package.json at this level: look one up.
      }
    }
  } catch {
    // Not installed, or not resolvable from here: the shape alone decides.
  }
  versions.set(name, version);
  return version;
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
