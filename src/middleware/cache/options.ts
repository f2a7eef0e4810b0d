import type { RequestContext } from '../../core/types.js';
import { InvalidOptionError } from '../../errors/index.js';
import { clockOption, functionOption, nonNegativeNumber, positiveInteger } from '../../internal/validate.js';
import type { CacheStore } from '../../stores/types.js';
import { compileGlobs } from './glob.js';

/**
 * The caching policy of one kind of request (lists, resource reads, prompts, tool calls).
 * Unset fields take the top-level option of the same name, then {@link CACHE_DEFAULTS}.
 */
export interface CachePolicy {
  /** Whether this kind is cached at all. Default `true` (tool calls still need `include`). */
  enabled?: boolean;
  /** How long an entry is fresh, in milliseconds. Default: the top-level `ttlMs`. */
  ttlMs?: number;
  /**
   * How long after `ttlMs` an entry may still be served while one background refresh runs
   * (stale-while-revalidate), in milliseconds; `0` turns it off. Default: the top-level
   * `staleMs`.
   */
  staleMs?: number;
  /**
   * Globs (`*`, `**`, `?`; see the README's cache section) over what this kind is about: the method name
   * for lists (`tools/list` …), the URI for `resources/read`, the prompt name for
   * `prompts/get`, the tool name for `tools/call`. Only matching requests are cached.
   * Default `['**']` (everything), except for tool calls: `[]` (nothing; caching a tool's
   * results is opt-in).
   */
  include?: readonly string[];
  /** Globs of what is never cached, checked before `include`. Default `[]`. */
  exclude?: readonly string[];
  /**
   * How the protocol's cache hints on modern (2026-07-28+) results are used; applies to
   * lists and `resources/read`, whose results carry them.
   * - `'respect'` (default): the TTL is the smaller of the policy's `ttlMs` and the
   *   result's `ttlMs`; a modern result without `ttlMs` means `0`, not cached.
   * - `'ignore'`: the policy's `ttlMs` alone decides. `cacheScope: 'private'` is still
   *   honoured.
   */
  hints?: 'respect' | 'ignore';
}

/** Options of {@link cache}. Every option is optional; defaults are in {@link CACHE_DEFAULTS}. */
export interface CacheOptions {
  /**
   * Where entries live. Default: a fresh bounded memory store that keeps entries by
   * reference (`memoryStore({ maxEntrySize: maxEntryBytes, isolation: 'reference', clock })`,
   * i.e. 10,000 entries and 64 MiB at most); the cache freezes every result it puts there,
   * in place, so neither the handler that returned it nor a caller that received it can
   * change the entry (an attempt throws in strict code). A store you pass keeps its own
   * isolation and nothing is frozen. Pass a shared store (e.g. Redis) to share entries
   * between replicas.
   */
  store?: CacheStore;
  /** Default freshness of an entry, in milliseconds, for every kind. Default 60,000. */
  ttlMs?: number;
  /** Default stale-while-revalidate window after `ttlMs`, in milliseconds. Default 0 (off). */
  staleMs?: number;
  /**
   * Results whose JSON is larger than this many bytes are not cached. Default 262,144
   * (256 KiB). The length is estimated without serializing (string lengths in UTF-16 code
   * units plus JSON punctuation): exact for ASCII text, low by up to 3× for text in other
   * scripts, whose characters take 2–4 bytes in UTF-8.
   */
  maxEntryBytes?: number;
  /** Policy of `tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`. */
  lists?: CachePolicy;
  /** Policy of `resources/read` (globs over URIs). */
  resources?: CachePolicy;
  /** Policy of `prompts/get` (globs over prompt names). */
  prompts?: CachePolicy;
  /**
   * Policy of `tools/call` (globs over tool names). Opt-in: nothing is cached unless named
   * in `include` or covered by `readOnlyTools`.
   */
  tools?: CachePolicy;
  /**
   * Also cache calls to every tool annotated `readOnlyHint: true`, as learned from the
   * `tools/list` results this middleware has seen for that server. Annotations are hints
   * from the server: turn this on only for servers you trust. Default `false`.
   */
  readOnlyTools?: boolean;
  /**
   * Identical requests in flight at the same time make one call to the handler; every
   * caller gets its own answer. Default `true`.
   */
  coalesce?: boolean;
  /**
   * Marks results served from the cache with `_meta["mcp-perf/cache"]` = `"hit"` or
   * `"stale"`. Default `false` (results are passed on exactly as cached).
   */
  markHits?: boolean;
  /**
   * Which cacheable results are stored. `'always'` (default): every one. `'repeat'`: only
   * a result whose key was answered before, within the last `admissionWindow` distinct
   * keys answered. For traffic where most calls are made once: those cost no store write
   * and evict nothing, and a call made twice is cached from its second answer on.
   * Background refreshes of stored entries are always stored.
   */
  admission?: 'always' | 'repeat';
  /**
   * Distinct keys `admission: 'repeat'` remembers before it starts over: the size of its
   * bloom filter (1% false positives, ~1.2 bytes per key: ~120 KB at the default).
   * Default 100,000.
   */
  admissionWindow?: number;
  /**
   * The caller's identity for partitioning, or `undefined` (or `null`) for the shared
   * public partition. Any JSON value: a string, a number, an object (written as canonical
   * JSON, so key order does not matter). It is only ever used hashed, inside the key.
   * `cacheScope: 'private'` results are stored only in a principal's partition.
   *
   * Default: on a server or a proxy, from the transport's auth info: the OAuth `clientId`
   * with `extra.sub` (or `userId`, `user_id`, `username`), or with the token itself when
   * none of those is present; anonymous requests share the public partition. On a client,
   * the connection itself: one cache instance shared by several `Client`s keeps each
   * one's entries apart. Give `principal` (the same value for clients that act for the
   * same user) to let them share.
   *
   * @example Clients of one user share their entries
   * ```ts
   * const shared = cache({ principal: () => currentUser.id });
   * withCache(clientA, shared);
   * withCache(clientB, shared);
   * ```
   */
  principal?: (ctx: RequestContext) => unknown;
  /**
   * Replaces or extends the cache key. Receives the default key (`<method>:` then the
   * upstream identity, a digest of the principal and the params without `_meta`; hashed with
   * SHA-256 when longer than 200 characters, so a short key shows the arguments) and
   * returns the key to use, or `undefined` to leave this request uncached.
   *
   * @example Separate entries per tenant header
   * ```ts
   * cache({ key: (ctx, key) => `${tenantOf(ctx)}:${key}` })
   * ```
   */
  key?: (ctx: RequestContext, defaultKey: string) => string | undefined;
  /**
   * Revalidate with conditional answers, between this cache (on a client or a proxy) and a
   * server running the `notModified` middleware: a request for an entry whose freshness ran
   * out carries the hash of the copy held, and the server answers "not modified" in a few
   * bytes when its result hashes the same. Agreed in the handshake; with any other server
   * every request goes out as usual. Entries are kept `conditionalKeepMs` longer for it.
   * Default `false`.
   */
  conditional?: boolean;
  /**
   * With `conditional`: how long past its TTL (and stale window) an entry is kept as the
   * copy to revalidate. It is never served in that time without the server's word.
   * Default 300,000 (five minutes).
   */
  conditionalKeepMs?: number;
  /** The clock, in epoch milliseconds. Default `Date.now`. Tests inject a fake clock. */
  clock?: () => number;
  /**
   * @deprecated The former name of {@link CacheOptions.clock}, accepted until the next
   * minor release. Give one of the two.
   */
  now?: () => number;
}

/**
 * The defaults of one kind's {@link CachePolicy} (its `ttlMs`, `staleMs` and `hints` come
 * from the top-level defaults).
 *
 * @inline
 */
export interface CachePolicyDefaults {
  /** Whether the kind is cached. */
  readonly enabled: boolean;
  /** Globs of what is cached: `['**']` (everything), or `[]` (nothing) for tool calls. */
  readonly include: readonly string[];
  /** Globs of what is never cached: `[]`. */
  readonly exclude: readonly string[];
}

/**
 * The shape of {@link CACHE_DEFAULTS}: every default of {@link CacheOptions}.
 *
 * @inline
 */
export interface CacheDefaults {
  /** Freshness of an entry: 60,000 ms (one minute). */
  readonly ttlMs: number;
  /** Stale-while-revalidate window: 0 (no stale serving). */
  readonly staleMs: number;
  /** Largest result cached, by its estimated JSON length: 262,144 (256 KiB). */
  readonly maxEntryBytes: number;
  /** Cache tools annotated read-only: `false`. */
  readonly readOnlyTools: boolean;
  /** Coalesce identical requests in flight: `true`. */
  readonly coalesce: boolean;
  /** Mark served results in `_meta`: `false`. */
  readonly markHits: boolean;
  /** Which results are stored: `'always'`. */
  readonly admission: 'always' | 'repeat';
  /** Keys `admission: 'repeat'` remembers: 100,000. */
  readonly admissionWindow: number;
  /** How modern cache hints are used: `'respect'`. */
  readonly hints: 'respect' | 'ignore';
  /** Conditional revalidation: `false`. */
  readonly conditional: boolean;
  /** How long an expired entry is kept for a conditional revalidation: 300,000 ms. */
  readonly conditionalKeepMs: number;
  /** Lists: enabled, `include: ['**']`, `exclude: []`. */
  readonly lists: CachePolicyDefaults;
  /** Resource reads: enabled, `include: ['**']`, `exclude: []`. */
  readonly resources: CachePolicyDefaults;
  /** Prompts: enabled, `include: ['**']`, `exclude: []`. */
  readonly prompts: CachePolicyDefaults;
  /** Tool calls: enabled, `include: []` (nothing until you name tools), `exclude: []`. */
  readonly tools: CachePolicyDefaults;
}

/**
 * The defaults of {@link CacheOptions}, in one place. Policies default their `ttlMs`,
 * `staleMs` and `hints` to the top-level values.
 *
 * | option | default |
 * |---|---|
 * | `ttlMs` | 60,000 (one minute) |
 * | `staleMs` | 0 (no stale serving) |
 * | `maxEntryBytes` | 262,144 (256 KiB) |
 * | `readOnlyTools` | `false` |
 * | `coalesce` | `true` |
 * | `markHits` | `false` |
 * | `admission` | `'always'` |
 * | `admissionWindow` | 100,000 |
 * | `hints` | `'respect'` |
 * | `conditional` | `false` |
 * | `conditionalKeepMs` | 300,000 (five minutes) |
 * | `lists`, `resources`, `prompts` | enabled, `include: ['**']`, `exclude: []` |
 * | `tools` | enabled, `include: []` (nothing until you name tools), `exclude: []` |
 * | `store` | `memoryStore()` bounds: 10,000 entries, 64 MiB |
 */
export const CACHE_DEFAULTS: CacheDefaults = Object.freeze({
  ttlMs: 60_000,
  staleMs: 0,
  maxEntryBytes: 256 * 1024,
  readOnlyTools: false,
  coalesce: true,
  markHits: false,
  admission: 'always',
  admissionWindow: 100_000,
  hints: 'respect',
  conditional: false,
  conditionalKeepMs: 300_000,
  lists: Object.freeze({ enabled: true, include: Object.freeze(['**']), exclude: Object.freeze([]) }),
  resources: Object.freeze({ enabled: true, include: Object.freeze(['**']), exclude: Object.freeze([]) }),
  prompts: Object.freeze({ enabled: true, include: Object.freeze(['**']), exclude: Object.freeze([]) }),
  tools: Object.freeze({ enabled: true, include: Object.freeze([]), exclude: Object.freeze([]) }),
});

/** What a policy is about. */
export type CacheKind = 'list' | 'resource' | 'prompt' | 'tool';

/** A policy after validation, with its globs compiled. */
export interface ResolvedPolicy {
  readonly kind: CacheKind;
  readonly enabled: boolean;
  readonly ttlMs: number;
  readonly staleMs: number;
  readonly hints: boolean;
  /** `null` = everything is included. */
  readonly includeAll: boolean;
  readonly include: RegExp | null;
  readonly exclude: RegExp | null;
}

/** Options after validation. */
export interface ResolvedOptions {
  readonly maxEntryBytes: number;
  readonly readOnlyTools: boolean;
  readonly coalesce: boolean;
  readonly markHits: boolean;
  readonly admission: 'always' | 'repeat';
  readonly admissionWindow: number;
  readonly conditional: boolean;
  /** How long past its stale window an entry is kept for revalidation: 0 without `conditional`. */
  readonly conditionalKeepMs: number;
  readonly principal: ((ctx: RequestContext) => unknown) | undefined;
  readonly key: ((ctx: RequestContext, defaultKey: string) => string | undefined) | undefined;
  readonly now: () => number;
  readonly lists: ResolvedPolicy;
  readonly resources: ResolvedPolicy;
  readonly prompts: ResolvedPolicy;
  readonly tools: ResolvedPolicy;
  /** The longest time any entry can live (fresh + stale), in milliseconds. */
  readonly maxLifetimeMs: number;
}

const WHERE = 'cache';
const POLICY_KEYS = new Set(['enabled', 'ttlMs', 'staleMs', 'include', 'exclude', 'hints']);
const OPTION_KEYS = new Set([
  'store',
  'ttlMs',
  'staleMs',
  'maxEntryBytes',
  'lists',
  'resources',
  'prompts',
  'tools',
  'readOnlyTools',
  'coalesce',
  'markHits',
  'admission',
  'admissionWindow',
  'conditional',
  'conditionalKeepMs',
  'principal',
  'key',
  'clock',
  'now',
]);

/** Validates options and applies defaults. */
export function resolveOptions(options: CacheOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(WHERE, '(options)', 'an object', options);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new InvalidOptionError(WHERE, key, 'a known cache option', key);
  }
  const ttlMs = nonNegative('ttlMs', options.ttlMs ?? CACHE_DEFAULTS.ttlMs);
  const staleMs = nonNegative('staleMs', options.staleMs ?? CACHE_DEFAULTS.staleMs);
  const maxEntryBytes = positiveInteger(
    WHERE,
    'maxEntryBytes',
    options.maxEntryBytes,
    CACHE_DEFAULTS.maxEntryBytes,
  );
  const readOnlyTools = bool('readOnlyTools', options.readOnlyTools ?? CACHE_DEFAULTS.readOnlyTools);
  const coalesce = bool('coalesce', options.coalesce ?? CACHE_DEFAULTS.coalesce);
  const markHits = bool('markHits', options.markHits ?? CACHE_DEFAULTS.markHits);
  const admission = options.admission ?? CACHE_DEFAULTS.admission;
  if (admission !== 'always' && admission !== 'repeat') {
    throw new InvalidOptionError(WHERE, 'admission', '"always" or "repeat"', admission);
  }
  const admissionWindow = positiveInteger(
    WHERE,
    'admissionWindow',
    options.admissionWindow,
    CACHE_DEFAULTS.admissionWindow,
    10_000_000,
  );
  const principal = functionOption(WHERE, 'principal', options.principal);
  const key = functionOption(WHERE, 'key', options.key);
  const now = clockOption(WHERE, options) ?? Date.now;
  if (options.store !== undefined) checkStore(options.store);
  const base = { ttlMs, staleMs };
  const lists = policy('lists', 'list', options.lists, CACHE_DEFAULTS.lists, base);
  const resources = policy('resources', 'resource', options.resources, CACHE_DEFAULTS.resources, base);
  const prompts = policy('prompts', 'prompt', options.prompts, CACHE_DEFAULTS.prompts, base);
  const tools = policy('tools', 'tool', options.tools, CACHE_DEFAULTS.tools, base);
  const conditional = bool('conditional', options.conditional ?? CACHE_DEFAULTS.conditional);
  const keepMs = nonNegative(
    'conditionalKeepMs',
    options.conditionalKeepMs ?? CACHE_DEFAULTS.conditionalKeepMs,
  );
  const conditionalKeepMs = conditional ? keepMs : 0;
  const maxLifetimeMs =
    Math.max(...[lists, resources, prompts, tools].map((p) => (p.enabled ? p.ttlMs + p.staleMs : 0))) +
    conditionalKeepMs;
  return {
    maxEntryBytes,
    readOnlyTools,
    coalesce,
    markHits,
    admission,
    admissionWindow,
    conditional,
    conditionalKeepMs,
    principal,
    key,
    now,
    lists,
    resources,
    prompts,
    tools,
    maxLifetimeMs,
  };
}

function policy(
  name: string,
  kind: CacheKind,
  given: CachePolicy | undefined,
  defaults: CachePolicyDefaults,
  base: { ttlMs: number; staleMs: number },
): ResolvedPolicy {
  const p = given ?? {};
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    throw new InvalidOptionError(WHERE, name, 'a policy object', p);
  }
  for (const key of Object.keys(p)) {
    if (!POLICY_KEYS.has(key))
      throw new InvalidOptionError(WHERE, `${name}.${key}`, 'a known policy option', key);
  }
  const enabled = bool(`${name}.enabled`, p.enabled ?? defaults.enabled);
  const ttlMs = nonNegative(`${name}.ttlMs`, p.ttlMs ?? base.ttlMs);
  const staleMs = nonNegative(`${name}.staleMs`, p.staleMs ?? base.staleMs);
  const hints = p.hints ?? CACHE_DEFAULTS.hints;
  if (hints !== 'respect' && hints !== 'ignore') {
    throw new InvalidOptionError(WHERE, `${name}.hints`, "'respect' or 'ignore'", hints);
  }
  const include = globs(`${name}.include`, p.include ?? defaults.include);
  const exclude = globs(`${name}.exclude`, p.exclude ?? defaults.exclude);
  return {
    kind,
    enabled,
    ttlMs,
    staleMs,
    hints: hints === 'respect',
    includeAll: include.includes('**'),
    include: compileGlobs(include),
    exclude: compileGlobs(exclude),
  };
}

function globs(option: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.some((g) => typeof g !== 'string' || g.length === 0)) {
    throw new InvalidOptionError(WHERE, option, 'an array of non-empty glob strings', value);
  }
  return value as string[];
}

function nonNegative(option: string, value: unknown): number {
  return nonNegativeNumber(WHERE, option, value, undefined, 'a finite number of milliseconds >= 0');
}

function bool(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(WHERE, option, 'a boolean', value);
  return value;
}

function checkStore(store: unknown): void {
  const s = store as Record<string, unknown> | null;
  const required = ['get', 'set', 'delete', 'invalidateTag', 'clear', 'stats'];
  if (typeof s !== 'object' || s === null || required.some((m) => typeof s[m] !== 'function')) {
    throw new InvalidOptionError(
      WHERE,
      'store',
      'a CacheStore (get, set, delete, invalidateTag, clear, stats)',
      store,
    );
  }
}
