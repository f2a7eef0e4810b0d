/**
 * What the cache may do with a request and with its result: which methods are cached
 * (rules), what a request is about and how its entries are tagged, whether a result may
 * be stored and for how long, and how an entry is served.
 *
 * @module
 */

import { LIST_METHODS } from '../../core/messages.js';
import type { JsonObject, RequestContext } from '../../core/types.js';
import type { CacheEntry } from '../../stores/types.js';
import type { ReadOnlyAnnotations } from './annotations.js';
import type { ResolvedOptions, ResolvedPolicy } from './options.js';

/**
 * The `_meta` key of per-call cache control and of hit marks.
 *
 * - In a request's `params._meta`: `"bypass"` (neither read nor write the cache for this
 *   call) or `"refresh"` (skip the read, call the handler, store the fresh result).
 * - In a result's `_meta`, with `markHits: true`: `"hit"` or `"stale"`.
 *
 * @example
 * ```ts
 * await client.callTool({ name: 'search', arguments: { q }, _meta: { [CACHE_META_KEY]: 'refresh' } });
 * ```
 */
export const CACHE_META_KEY = 'mcp-perf/cache';

/** Targets remembered per rule with their tags (the map is emptied when it reaches this size). */
const TAGS_MEMO_MAX = 4096;

/** How one cacheable method is handled. */
export interface Rule {
  /** The policy of the method's kind. */
  readonly policy: ResolvedPolicy;
  /** True for methods whose modern results carry cache hints. */
  readonly hinted: boolean;
  /** The tool name, prompt name or URI, or the method for lists; `undefined` = not cacheable. */
  target(method: string, params: JsonObject | undefined): string | undefined;
  /** The invalidation tags of an entry about `target` (the same array for the same target). */
  tags(method: string, target: string): readonly string[];
}

const listTarget = (method: string) => method;
const nameTarget = (_method: string, params: JsonObject | undefined) => {
  const name = params?.name;
  return typeof name === 'string' ? name : undefined;
};
const uriTarget = (_method: string, params: JsonObject | undefined) => {
  const uri = params?.uri;
  return typeof uri === 'string' ? uri : undefined;
};

/** Tags of one target, built once and remembered (bounded). */
function memoTags(method: string, prefix: string): (method: string, target: string) => readonly string[] {
  const methodTag = `method:${method}`;
  const memo = new Map<string, readonly string[]>();
  return (_method, target) => {
    let tags = memo.get(target);
    if (tags === undefined) {
      if (memo.size >= TAGS_MEMO_MAX) memo.clear();
      tags = Object.freeze([methodTag, `${prefix}${target}`]);
      memo.set(target, tags);
    }
    return tags;
  };
}

/** The rules of the methods the options cache, keyed by method. */
export function buildRules(options: ResolvedOptions): Map<string, Rule> {
  const rules = new Map<string, Rule>();
  const { lists, resources, prompts, tools } = options;
  if (lists.enabled) {
    for (const method of LIST_METHODS) {
      const tags = Object.freeze([`method:${method}`]);
      rules.set(method, { policy: lists, hinted: true, target: listTarget, tags: () => tags });
    }
  }
  if (resources.enabled) {
    const tags = memoTags('resources/read', 'uri:');
    rules.set('resources/read', { policy: resources, hinted: true, target: uriTarget, tags });
  }
  if (prompts.enabled) {
    const tags = memoTags('prompts/get', 'prompt:');
    rules.set('prompts/get', { policy: prompts, hinted: false, target: nameTarget, tags });
  }
  if (tools.enabled && (tools.include !== null || options.readOnlyTools)) {
    const tags = memoTags('tools/call', 'tool:');
    rules.set('tools/call', { policy: tools, hinted: false, target: nameTarget, tags });
  }
  return rules;
}

/**
 * Whether a policy covers `target`: not excluded, and included by a glob or (tool calls,
 * when `readOnly` is given, i.e. with `readOnlyTools`) annotated read-only by its server.
 */
export function accepts(
  policy: ResolvedPolicy,
  target: string,
  upstream: string,
  readOnly: ReadOnlyAnnotations | undefined,
): boolean {
  if (policy.exclude?.test(target)) return false;
  if (policy.includeAll || policy.include?.test(target)) return true;
  return policy.kind === 'tool' && readOnly !== undefined && readOnly.isReadOnly(upstream, target);
}

/** True when request params say the request must never be cached (multi-round-trip or task). */
export function neverCachedRequest(params: JsonObject): boolean {
  return (
    params.inputResponses !== undefined || params.requestState !== undefined || params.task !== undefined
  );
}

/**
 * How long a result may be kept fresh, in milliseconds; `0` when it must not be stored
 * (errors, `isError`, task acknowledgements, a `resultType` other than `complete`, a
 * modern result whose hints say so, a private result outside a principal's partition).
 */
export function freshnessOf(
  rule: Rule,
  result: JsonObject | undefined,
  ctx: RequestContext,
  sharesPrivate: boolean,
): number {
  if (result === undefined || result.isError === true || result.task !== undefined) return 0;
  const resultType = result.resultType;
  if (resultType !== undefined && resultType !== 'complete') return 0;
  const policy = rule.policy;
  let ttl = policy.ttlMs;
  if (rule.hinted && policy.hints) {
    const hint = result.ttlMs;
    if (typeof hint === 'number') {
      if (hint < ttl) ttl = hint;
    } else if (resultType !== undefined || ctx.session.era === 'modern') return 0;
  }
  if (!(ttl > 0) || (result.cacheScope === 'private' && !sharesPrivate)) return 0;
  return ttl;
}

/** A stored entry is served only if it has the shape the cache wrote. */
export function isUsable(entry: unknown): entry is CacheEntry {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as CacheEntry;
  const value = e.value;
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof e.freshUntil === 'number' &&
    typeof e.staleUntil === 'number' &&
    typeof e.storedAt === 'number' &&
    Array.isArray(e.tags)
  );
}

/**
 * The entry as served: `ttlMs` lowered to what is left of its freshness, marked when
 * `markHits` is on. Answers the stored object itself when nothing changes.
 */
export function present(
  entry: CacheEntry,
  now: number,
  mark: 'hit' | 'stale',
  markHits: boolean,
): JsonObject {
  let value = entry.value as JsonObject;
  const ttl = value.ttlMs;
  if (typeof ttl === 'number') {
    const left = Math.max(0, Math.floor(entry.freshUntil - now));
    if (left < ttl) value = { ...value, ttlMs: left };
  }
  if (markHits) {
    value = { ...value, _meta: { ...(value._meta as JsonObject | undefined), [CACHE_META_KEY]: mark } };
  }
  return value;
}
