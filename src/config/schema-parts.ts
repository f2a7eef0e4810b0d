/**
 * The building blocks of the config's JSON Schema: shared definitions (durations,
 * sizes, request keys) that every middleware's schema fragment refers to.
 */

import { DURATION_PATTERN, SIZE_PATTERN } from './units.js';

/** A JSON Schema (2020-12) object, as plain data. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A duration: milliseconds, or a string such as `"250ms"` / `"5m"`. */
export const DURATION: JsonSchema = Object.freeze({ $ref: '#/$defs/duration' });
/** A size: bytes, or a string such as `"512KB"` / `"64MiB"`. */
export const SIZE: JsonSchema = Object.freeze({ $ref: '#/$defs/size' });
/** How a request is split into buckets or scopes: by tool, by method or by principal. */
export const REQUEST_KEY: JsonSchema = Object.freeze({ $ref: '#/$defs/requestKey' });

/** The `$defs` the fragments refer to. */
export const SHARED_DEFINITIONS: Readonly<Record<string, JsonSchema>> = Object.freeze({
  duration: {
    description:
      'A duration: a number of milliseconds, or a string with a unit (ms, s, m, h, d), e.g. "250ms", "5m".',
    type: ['number', 'string'],
    minimum: 0,
    pattern: DURATION_PATTERN,
  },
  size: {
    description:
      'A size: a number of bytes, or a string with a unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. "64MiB".',
    type: ['integer', 'string'],
    minimum: 0,
    pattern: SIZE_PATTERN,
  },
  requestKey: {
    description:
      'How requests are split: "tool" (per tool name; other methods are exempt), "method" (per MCP method) or "principal" (per authenticated caller).',
    enum: ['tool', 'method', 'principal'],
  },
});

/** An integer of at least `min`. */
export function integer(description: string, min: number, extra: Record<string, unknown> = {}): JsonSchema {
  return { description, type: 'integer', minimum: min, ...extra };
}

/** A boolean. */
export function flag(description: string, fallback: boolean): JsonSchema {
  return { description, type: 'boolean', default: fallback };
}

/** One of the given strings. */
export function oneOfStrings(description: string, values: readonly string[], fallback?: string): JsonSchema {
  return fallback === undefined
    ? { description, enum: values }
    : { description, enum: values, default: fallback };
}

/** A closed object: only the listed properties. */
export function object(
  description: string,
  properties: Record<string, JsonSchema>,
  required?: string[],
): JsonSchema {
  return required === undefined
    ? { description, type: 'object', additionalProperties: false, properties }
    : { description, type: 'object', additionalProperties: false, properties, required };
}

/** A duration with its description and default. */
export function duration(description: string, fallback?: number): JsonSchema {
  return fallback === undefined
    ? { ...DURATION, description }
    : { ...DURATION, description, default: fallback };
}

/** A size with its description and default. */
export function size(description: string, fallback?: number): JsonSchema {
  return fallback === undefined ? { ...SIZE, description } : { ...SIZE, description, default: fallback };
}
