import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { POOL_SCHEMA } from '../pool/schema.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { MIDDLEWARE_REGISTRY } from './registry.js';
import { CONFIG_SCHEMA, type LISTEN_DEFAULTS } from './schema.js';
import type { JsonSchema } from './schema-parts.js';
import { parseDuration, parseSize } from './units.js';

/** One entry of a validated config: the middleware's name and its normalized options. */
export interface StackEntry {
  /** The registry key, e.g. `cache`. */
  readonly name: string;
  /** The options, durations in milliseconds and sizes in bytes. */
  readonly options: Record<string, unknown>;
}

/** The `listen` settings of a config: how `mcp-perf proxy --listen` serves Streamable HTTP. */
export interface ListenConfig {
  /** Serve without sessions, each POST on its own. Default `false` ({@link LISTEN_DEFAULTS}). */
  readonly stateless?: boolean;
}

/** A validated config: the stack, outermost first, and the proxy's `listen` settings. */
export interface StackConfig {
  /** The middlewares, outermost first. */
  readonly middleware: readonly StackEntry[];
  /** How `mcp-perf proxy --listen` serves, when the file says. */
  readonly listen?: ListenConfig;
  /** The upstream pool's options (durations in milliseconds), when the config has a `pool` section. */
  readonly pool?: Record<string, unknown>;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    compiled = ajv.compile(CONFIG_SCHEMA);
  }
  return compiled;
}

/**
 * Validates a parsed config (after environment interpolation) against
 * {@link CONFIG_SCHEMA} and normalizes it: durations become milliseconds, sizes bytes.
 * Throws a {@link ConfigError} listing every problem by path, e.g.
 * `middleware[2].cache.ttlMs: expected a non-negative duration (…), got "5 minutes"`.
 */
export function validateConfig(data: unknown, source?: string): StackConfig {
  const validate = validator();
  if (!validate(data)) throw new ConfigError(describeErrors(validate.errors ?? [], data), source);
  const { middleware: list, listen } = data as {
    middleware: Record<string, unknown>[];
    listen?: ListenConfig;
  };
  const schemaRoot = CONFIG_SCHEMA;
  const pool = (data as { pool?: unknown }).pool;
  return {
    ...(listen === undefined ? {} : { listen: { ...listen } }),
    ...(pool === undefined
      ? {}
      : { pool: normalize(pool, POOL_SCHEMA, schemaRoot) as Record<string, unknown> }),
    middleware: list.map((entry) => {
      const [name, options] = Object.entries(entry)[0]!;
      const definition = MIDDLEWARE_REGISTRY[name]!;
      return {
        name,
        options: normalize(options ?? {}, definition.schema, schemaRoot) as Record<string, unknown>,
      };
    }),
  };
}

/** Converts durations and sizes to numbers, following the schema alongside the data. */
function normalize(value: unknown, schema: JsonSchema, root: JsonSchema): unknown {
  const ref = schema.$ref;
  if (ref === '#/$defs/duration') return parseDuration(value);
  if (ref === '#/$defs/size') return parseSize(value);
  if (Array.isArray(value)) {
    const items = schema.items as JsonSchema | undefined;
    return items === undefined ? value : value.map((item) => normalize(item, items, root));
  }
  if (typeof value !== 'object' || value === null) return value;
  const branches = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  // Alternatives beside properties only constrain which of them are given.
  if (branches !== undefined && schema.properties === undefined) {
    const branch = branches.find((b) => b.type === 'object' && fitsProperties(value, b));
    return branch === undefined ? value : normalize(value, branch, root);
  }
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  const rest = schema.additionalProperties;
  const others = typeof rest === 'object' && rest !== null ? (rest as JsonSchema) : undefined;
  if (properties === undefined && others === undefined) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const sub = properties?.[key] ?? others;
    out[key] = sub === undefined ? item : normalize(item, sub, root);
  }
  return out;
}

function fitsProperties(value: object, schema: JsonSchema): boolean {
  const properties = schema.properties as Record<string, unknown> | undefined;
  const required = (schema.required as string[] | undefined) ?? [];
  return (
    properties !== undefined &&
    Object.keys(value).every((k) => k in properties) &&
    required.every((k) => k in value)
  );
}

const KNOWN = Object.keys(MIDDLEWARE_REGISTRY);
const ENTRY_SCHEMA = (CONFIG_SCHEMA.$defs as Record<string, JsonSchema>).middlewareEntry;

/**
 * Keeps, for each value that must match one of several forms, only the errors of the
 * form it evidently meant (the branch whose required key it has, or whose type it has);
 * when it meant none, only the "no form matched" error.
 */
function pruneBranches(errors: readonly ErrorObject[], data: unknown): ErrorObject[] {
  const drop = new Set<ErrorObject>();
  for (const alt of errors) {
    if (alt.keyword !== 'oneOf' && alt.keyword !== 'anyOf') continue;
    const branches = alt.schema as JsonSchema[];
    const value = valueAt(data, pointerToPath(alt.instancePath));
    const chosen = branches.findIndex((b) => meant(b, value));
    const prefix = `${alt.schemaPath}/`;
    let kept = 0;
    for (const e of errors) {
      if (!e.instancePath.startsWith(alt.instancePath)) continue;
      if (e.schemaPath.startsWith(prefix)) {
        if (e.schemaPath.startsWith(`${prefix}${chosen}/`)) kept++;
        else drop.add(e);
      } else if (chosen >= 0 && e.schemaPath.startsWith('#/$defs/') && e.instancePath !== alt.instancePath) {
        // A shared definition (a duration inside the chosen object form) reports its own
        // schema path; it still explains why that form failed.
        kept++;
      }
    }
    if (kept !== 0) drop.add(alt);
  }
  return errors.filter((e) => !drop.has(e));
}

function meant(branch: JsonSchema, value: unknown): boolean {
  const required = branch.required as string[] | undefined;
  if (required !== undefined)
    return typeof value === 'object' && value !== null && required.some((k) => k in value);
  const type = branch.type;
  if (type === 'object') return typeof value === 'object' && value !== null && !Array.isArray(value);
  return typeof type === 'string' && typeof value === type;
}

/** Turns Ajv's errors into one issue per offending value, in words. */
function describeErrors(errors: readonly ErrorObject[], data: unknown): ConfigIssue[] {
  const issues = new Map<string, ConfigIssue>();
  const add = (path: (string | number)[], message: string) => {
    const p = formatPath(path);
    if (!issues.has(p)) issues.set(p, { path: p, message });
  };
  for (const error of pruneBranches(errors, data)) {
    const path = pointerToPath(error.instancePath);
    const got = valueAt(data, path);
    const def = /#\/\$defs\/(duration|size|requestKey)\//.exec(error.schemaPath)?.[1];
    if (def === 'duration')
      add(path, `expected a non-negative duration (milliseconds, or e.g. "250ms", "5m"), got ${show(got)}`);
    else if (def === 'size')
      add(path, `expected a non-negative size (bytes, or e.g. "512KB", "64MiB"), got ${show(got)}`);
    else if (def === 'requestKey')
      add(path, `expected one of "tool", "method", "principal", got ${show(got)}`);
    else if (error.keyword === 'additionalProperties') {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      const entry = error.parentSchema === ENTRY_SCHEMA;
      add(
        [...path, extra],
        entry
          ? `unknown middleware "${extra}" (known: ${KNOWN.join(', ')})`
          : `unknown option "${extra}"${known(error.parentSchema)}`,
      );
    } else if (error.keyword === 'required') {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      add([...path, missing], 'is required');
    } else if (error.keyword === 'minProperties' || error.keyword === 'maxProperties') {
      add(path, `expected exactly one middleware name as key (one of ${KNOWN.join(', ')}), got ${show(got)}`);
    } else if (error.keyword === 'enum') {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
      add(path, `expected one of ${allowed.map(show).join(', ')}, got ${show(got)}`);
    } else if (error.keyword === 'type') {
      add(
        path,
        `expected ${String((error.params as { type: string | string[] }).type).replace(',', ' or ')}, got ${show(got)}`,
      );
    } else if (error.keyword === 'oneOf' && Array.isArray(error.params.passingSchemas)) {
      add(path, `give only one of ${branchKeys(error.schema).join(', ')}, got ${show(got)}`);
    } else if (
      error.keyword === 'oneOf' &&
      (error.schema as JsonSchema[]).every((b) => b.type === undefined)
    ) {
      // Alternatives that only say which key is given (url or cluster).
      add(path, `give one of ${branchKeys(error.schema).join(', ')}, got ${show(got)}`);
    } else if (error.keyword === 'oneOf' || error.keyword === 'anyOf') {
      add(path, `does not match any allowed form${describeBranches(error.schema)}, got ${show(got)}`);
    } else {
      add(path, `${error.message ?? 'is invalid'}, got ${show(got)}`);
    }
  }
  return [...issues.values()];
}

function describeBranches(branches: unknown): string {
  const keys = branchKeys(branches);
  return keys.length === 0 ? '' : ` (an object with one of: ${keys.join(', ')})`;
}

/** The keys that tell alternatives apart (each one's `required`). */
function branchKeys(branches: unknown): string[] {
  if (!Array.isArray(branches)) return [];
  return branches.flatMap((b: JsonSchema) => (b.required as string[] | undefined) ?? []);
}

function known(schema: unknown): string {
  const properties = (schema as JsonSchema | undefined)?.properties;
  return properties === undefined ? '' : ` (known: ${Object.keys(properties as object).join(', ')})`;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      return /^\d+$/.test(key) ? Number(key) : key;
    });
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let value = data;
  for (const part of path) value = (value as Record<string | number, unknown> | undefined)?.[part];
  return value;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
