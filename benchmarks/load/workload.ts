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
 * Operations: `tools/call` (`name`, `arguments`), `tools/list`, `resources/read`
 * (`uri`). `weight` defaults to 1. Any value in `arguments` or `uri` may be a
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

import { InvalidOptionError } from 'mcp-perf';

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
  | { method: 'tools/call'; name: string; arguments: Record<string, unknown> }
  | { method: 'tools/list' }
  | { method: 'resources/read'; uri: string };

/** A compiled workload: draws the next request. */
export interface CompiledWorkload {
  /** Operation labels (`tools/call echo`, `tools/list` …), in file order. */
  labels: string[];
  /** Draws an operation and its arguments. */
  next(random: Random): { label: string; request: Request };
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
      case 'tools/list':
        ops.push({ label: 'tools/list', weight, draw: () => ({ method: 'tools/list' }) });
        break;
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
      default:
        fail(`${path}.method`, '"tools/call", "tools/list" or "resources/read"', op.method);
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
