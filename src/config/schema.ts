import { POOL_SCHEMA } from '../pool/schema.js';
import { MIDDLEWARE_REGISTRY, type MiddlewareDefinition } from './registry.js';
import { type JsonSchema, SHARED_DEFINITIONS } from './schema-parts.js';

/** Defaults of the config's `listen` settings, in one place: `stateless` false. */
export const LISTEN_DEFAULTS = Object.freeze({
  /** Serve Streamable HTTP with sessions. */
  stateless: false,
});

/** The `listen` settings: how `mcp-perf proxy --listen` serves Streamable HTTP. */
const LISTEN_SCHEMA: JsonSchema = {
  description:
    'How `mcp-perf proxy --listen` serves Streamable HTTP. Read for each new request, so a reload applies at once. Ignored without --listen.',
  type: 'object',
  additionalProperties: false,
  properties: {
    stateless: {
      description:
        'Serve without sessions: no session id, each POST stands alone (no initialize needed before it) and all of them share one upstream connection. Sessions already open keep being served. `--stateless` sets it too.',
      type: 'boolean',
      default: LISTEN_DEFAULTS.stateless,
    },
  },
};

/** The `$id` of the published config schema. */
export const CONFIG_SCHEMA_ID = 'https://mcp-perf.dev/schemas/config.schema.json';

/**
 * Builds the config's JSON Schema (2020-12) from a middleware registry: a document with
 * a `middleware` list whose entries each name one middleware and hold its options,
 * e.g. `{ cache: { ttlMs: "5m" } }`.
 */
export function buildConfigSchema(registry: Readonly<Record<string, MiddlewareDefinition>>): JsonSchema {
  const entries: Record<string, JsonSchema> = {};
  for (const [name, definition] of Object.entries(registry)) entries[name] = definition.schema;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: CONFIG_SCHEMA_ID,
    title: 'mcp-perf config',
    description: 'A middleware stack for mcp-perf, in the order requests pass through it (outermost first).',
    type: 'object',
    additionalProperties: false,
    required: ['middleware'],
    properties: {
      $schema: { description: 'The schema this file follows (for editors).', type: 'string' },
      middleware: {
        description: 'The stack, outermost first. Each entry names one middleware and holds its options.',
        type: 'array',
        items: { $ref: '#/$defs/middlewareEntry' },
      },
      listen: LISTEN_SCHEMA,
      pool: POOL_SCHEMA,
    },
    $defs: {
      ...SHARED_DEFINITIONS,
      middlewareEntry: {
        description:
          'One middleware: an object with exactly one key, the middleware name, whose value holds its options.',
        type: 'object',
        minProperties: 1,
        maxProperties: 1,
        additionalProperties: false,
        properties: entries,
      },
    },
  };
}

/**
 * The published JSON Schema of a config file (also shipped as
 * `mcp-perf/config.schema.json`), built from {@link MIDDLEWARE_REGISTRY}.
 */
export const CONFIG_SCHEMA: JsonSchema = buildConfigSchema(MIDDLEWARE_REGISTRY);
