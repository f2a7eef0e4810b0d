/**
 * Workloads: which requests the load generator sends, in which proportions, with which
 * arguments. A workload is JSON, validated and compiled once into samplers.
 *
 * ```json
 * {
 *   "operations": [
 *     { "weight": 8, "method": "tools/call", "name": "echo",
 *       "arguments": { "text": { "$zipf": { "n": 1000, "s": 1.1, "format": "key-%d" } } } },
 *     { "weight": 1, "method": "tools/list" },
 *     { "weight": 1, "method": "resources/read", "uri": { "$uniform": { "n": 10, "format": "fixture://doc/%d" } } }
 *   ]
 * }
 * ```
 *
 * Operations: `tools/call` (`name`, `arguments`), `resources/read` (`uri`), `prompts/get`
 * (`name`, `arguments`), and the lists `tools/list`, `resources/list`,
 * `resources/templates/list`, `prompts/list`. `weight` defaults to 1.
 *
 * The file may also carry the load's shape, used by `mcp-perf bench` and `mcp-perf load`
 * when the command line does not set it: `rate` (open loop, requests per second) or
 * `concurrency` (closed loop), `duration` (ms, or `"500ms"`, `"10s"`, `"2m"`), `requests`
 * (a cap on the count) and `seed`. See {@link readLoadShape}. Any value in `arguments` or `uri` may be a
 * generator, drawn afresh for every request:
 *
 * - `{ "$zipf": { "n": N, "s": S, "format"?: "key-%d" } }`: rank 1..N with probability
 *   proportional to 1/rank^S (rank 1 is the hottest), as a number, or as `format`
 *   with `%d` replaced by the rank;
 * - `{ "$uniform": { "n": N, "format"?: … } }`: an integer 1..N, equally likely;
 * - `{ "$uniform": { "min": A, "max": B, "integer"?: true } }`: a number in [A, B)
 *   (an integer in [A, B] with `integer`);
 * - `{ "$oneOf": [v1, v2, …] }`: one of the listed values, equally likely;
 * - `{ "$const": v }`: `v` as it is (to send an object that has a `$` key).
 *
 * Anything else is a constant; objects and arrays are walked, so generators may be
 * nested anywhere.
 */

import { InvalidOptionError } from '../errors/index.js';

/** A source of uniform random numbers in [0, 1). */
export type Random = () => number;

/** A seeded PRNG (mulberry32): the same seed gives the same request sequence. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One request, ready to send. */
export type Request =
  | {
      /** Call a tool. */
      method: 'tools/call';
      /** The tool. */
      name: string;
      /** Its arguments, drawn. */
      arguments: Record<string, unknown>;
    }
  | {
      /** Get a prompt. */
      method: 'prompts/get';
      /** The prompt. */
      name: string;
      /** Its arguments, drawn (as strings). */
      arguments: Record<string, string>;
    }
  | {
      /** List something. */
      method: 'tools/list' | 'resources/list' | 'resources/templates/list' | 'prompts/list';
    }
  | {
      /** Read a resource. */
      method: 'resources/read';
      /** Its URI, drawn. */
      uri: string;
    };

/** The load's shape, as a workload file may carry it. */
export interface LoadShape {
  /** Open loop: requests per second. */
  rate?: number;
  /** Closed loop: requests in flight. */
  concurrency?: number;
  /** Sending time, in ms. */
  durationMs?: number;
  /** A cap on the number of requests. */
  maxRequests?: number;
  /** Seed of the random draws. */
  seed?: number;
}

const LIST_OPERATIONS = new Set(['tools/list', 'resources/list', 'resources/templates/list', 'prompts/list']);
const TOP_LEVEL_KEYS = new Set([
  'operations',
  'rate',
  'concurrency',
  'duration',
  'requests',
  'seed',
  '$schema',
]);

/** Parses a duration: a number of ms, or a string like `500ms`, `10s`, `2m`; undefined when malformed. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return ms > 0 ? ms : undefined;
}

/**
 * Reads the load's shape from a parsed workload file (the fields beside `operations`),
 * validating each: errors name the field, e.g. `workload.concurrency must be a positive
 * integer (got 0)`. Fields not present are left out.
 */
export function readLoadShape(json: unknown): LoadShape {
  if (!isObject(json)) return {};
  const shape: LoadShape = {};
  const root = 'workload';
  if (json.rate !== undefined) {
    if (typeof json.rate !== 'number' || !(json.rate > 0) || !Number.isFinite(json.rate))
      fail(`${root}.rate`, 'a positive number of requests per second', json.rate);
    shape.rate = json.rate;
  }
  if (json.concurrency !== undefined)
    shape.concurrency = positiveInt(`${root}.concurrency`, json.concurrency);
  if (shape.rate !== undefined && shape.concurrency !== undefined)
    fail(
      `${root}.concurrency`,
      'absent when rate is set (open loop or closed loop, not both)',
      json.concurrency,
    );
  if (json.duration !== undefined) {
    const ms = parseDuration(json.duration);
    if (ms === undefined)
      fail(`${root}.duration`, 'a duration like 500ms, 10s or 2m, or a number of ms', json.duration);
    shape.durationMs = ms;
  }
  if (json.requests !== undefined) shape.maxRequests = positiveInt(`${root}.requests`, json.requests);
  if (json.seed !== undefined) {
    if (typeof json.seed !== 'number' || !Number.isInteger(json.seed))
      fail(`${root}.seed`, 'an integer', json.seed);
    shape.seed = json.seed;
  }
  return shape;
}

/** A compiled workload: draws the next request. */
export interface CompiledWorkload {
  /** Operation labels (`tools/call echo`, `tools/list` …), in file order. */
  labels: string[];
  /** Draws an operation and its arguments. */
  next(random: Random): {
    /** The operation's label. */
    label: string;
    /** The request to send. */
    request: Request;
  };
}

type Gen = (random: Random) => unknown;

const MAX_ZIPF_N = 10_000_000;
const WHERE = 'runLoad';

function fail(path: string, expected: string, got: unknown): never {
  throw new InvalidOptionError(WHERE, path, expected, got);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function formatter(path: string, spec: Record<string, unknown>): (rank: number) => unknown {
  const format = spec.format;
  if (format === undefined) return (rank) => rank;
  if (typeof format !== 'string' || !format.includes('%d'))
    fail(`${path}.format`, 'a string containing %d', format);
  const [head, ...rest] = format.split('%d');
  const tail = rest.join('%d');
  return (rank) => `${head}${rank}${tail}`;
}

function positiveInt(path: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    fail(path, `an integer from 1 to ${max}`, v);
  }
  return v;
}

/** Samples ranks 1..n with P(k) ∝ 1/k^s, by binary search over a precomputed CDF. */
export function zipfSampler(n: number, s: number): (random: Random) => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    sum += 1 / k ** s;
    cdf[k - 1] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] = (cdf[i] as number) / sum;
  return (random) => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

function compileValue(path: string, v: unknown): Gen {
  if (Array.isArray(v)) {
    const items = v.map((item, i) => compileValue(`${path}[${i}]`, item));
    return (r) => items.map((g) => g(r));
  }
  if (!isObject(v)) return () => v;
  const keys = Object.keys(v);
  const gen = keys.length === 1 && keys[0]!.startsWith('$') ? keys[0]! : undefined;
  if (gen === undefined) {
    const entries = keys.map((k) => [k, compileValue(`${path}.${k}`, v[k])] as const);
    return (r) => {
      const out: Record<string, unknown> = {};
      for (const [k, g] of entries) out[k] = g(r);
      return out;
    };
  }
  const spec = v[gen];
  const at = `${path}.${gen}`;
  switch (gen) {
    case '$const':
      return () => spec;
    case '$oneOf': {
      if (!Array.isArray(spec) || spec.length === 0) fail(at, 'a non-empty array', spec);
      const values = spec;
      return (r) => values[Math.floor(r() * values.length)];
    }
    case '$zipf': {
      if (!isObject(spec)) fail(at, 'an object { n, s, format? }', spec);
      const n = positiveInt(`${at}.n`, spec.n, MAX_ZIPF_N);
      const s = spec.s;
      if (typeof s !== 'number' || !(s > 0) || !Number.isFinite(s)) fail(`${at}.s`, 'a positive number', s);
      const sample = zipfSampler(n, s);
      const format = formatter(at, spec);
      return (r) => format(sample(r));
    }
    case '$uniform': {
      if (!isObject(spec)) fail(at, 'an object { n, format? } or { min, max, integer? }', spec);
      if (spec.n !== undefined) {
        const n = positiveInt(`${at}.n`, spec.n);
        const format = formatter(at, spec);
        return (r) => format(1 + Math.floor(r() * n));
      }
      const { min, max } = spec;
      if (typeof min !== 'number' || !Number.isFinite(min)) fail(`${at}.min`, 'a finite number', min);
      if (typeof max !== 'number' || !Number.isFinite(max) || max < min)
        fail(`${at}.max`, `a number >= ${min}`, max);
      if (spec.integer === true) {
        const lo = Math.ceil(min);
        const span = Math.floor(max) - lo + 1;
        if (span < 1) fail(`${at}.max`, `an integer range containing an integer (min ${min})`, max);
        return (r) => lo + Math.floor(r() * span);
      }
      return (r) => min + r() * (max - min);
    }
    default:
      return fail(at, 'one of $zipf, $uniform, $oneOf, $const (or a key not starting with $)', gen);
  }
}

/**
 * Validates and compiles a workload (parsed JSON). Errors name the offending path,
 * e.g. `runLoad: options.workload.operations[0].arguments.text.$zipf.s must be a
 * positive number (got -1)`.
 */
export function compileWorkload(json: unknown): CompiledWorkload {
  const root = 'workload';
  if (!isObject(json) || !Array.isArray(json.operations) || json.operations.length === 0) {
    fail(`${root}.operations`, 'a non-empty array of operations', isObject(json) ? json.operations : json);
  }
  for (const key of Object.keys(json)) {
    if (!TOP_LEVEL_KEYS.has(key))
      fail(`${root}.${key}`, `absent (known fields: ${[...TOP_LEVEL_KEYS].join(', ')})`, json[key]);
  }
  readLoadShape(json);
  const ops: { label: string; weight: number; draw: (r: Random) => Request }[] = [];
  json.operations.forEach((op: unknown, i: number) => {
    const path = `${root}.operations[${i}]`;
    if (!isObject(op)) fail(path, 'an object', op);
    const weight = op.weight ?? 1;
    if (typeof weight !== 'number' || !(weight > 0) || !Number.isFinite(weight)) {
      fail(`${path}.weight`, 'a positive number', weight);
    }
    switch (op.method) {
      case 'tools/call': {
        const name = op.name;
        if (typeof name !== 'string' || name.length === 0) fail(`${path}.name`, 'a tool name', name);
        const args = op.arguments ?? {};
        if (!isObject(args)) fail(`${path}.arguments`, 'an object', args);
        const gen = compileValue(`${path}.arguments`, args);
        ops.push({
          label: `tools/call ${name}`,
          weight,
          draw: (r) => ({ method: 'tools/call', name, arguments: gen(r) as Record<string, unknown> }),
        });
        break;
      }
      case 'prompts/get': {
        const name = op.name;
        if (typeof name !== 'string' || name.length === 0) fail(`${path}.name`, 'a prompt name', name);
        const args = op.arguments ?? {};
        if (!isObject(args)) fail(`${path}.arguments`, 'an object', args);
        const gen = compileValue(`${path}.arguments`, args);
        ops.push({
          label: `prompts/get ${name}`,
          weight,
          draw: (r) => {
            const drawn = gen(r) as Record<string, unknown>;
            const out: Record<string, string> = {};
            for (const k in drawn) out[k] = String(drawn[k]);
            return { method: 'prompts/get', name, arguments: out };
          },
        });
        break;
      }
      case 'resources/read': {
        if (op.uri === undefined) fail(`${path}.uri`, 'a URI or a generator of URIs', op.uri);
        const gen = compileValue(`${path}.uri`, op.uri);
        ops.push({
          label: 'resources/read',
          weight,
          draw: (r) => {
            const uri = gen(r);
            return { method: 'resources/read', uri: String(uri) };
          },
        });
        break;
      }
      default: {
        const method = op.method;
        if (typeof method === 'string' && LIST_OPERATIONS.has(method)) {
          const request = { method } as Request;
          ops.push({ label: method, weight, draw: () => request });
          break;
        }
        fail(
          `${path}.method`,
          `one of "tools/call", "resources/read", "prompts/get", ${[...LIST_OPERATIONS].map((m) => `"${m}"`).join(', ')}`,
          method,
        );
      }
    }
  });
  const total = ops.reduce((sum, o) => sum + o.weight, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const o of ops) {
    acc += o.weight / total;
    cumulative.push(acc);
  }
  const last = ops.length - 1;
  return {
    labels: ops.map((o) => o.label),
    next(random) {
      const u = random();
      let i = 0;
      while (i < last && (cumulative[i] as number) <= u) i++;
      const op = ops[i]!;
      return { label: op.label, request: op.draw(random) };
    },
  };
}
