/**
 * Token budget: tool results kept within a number of tokens without losing what was cut.
 *
 * A `tools/call` result whose model-visible text (text blocks, embedded resource text,
 * `structuredContent` as JSON) is over the call's limit is first compacted (losslessly),
 * then cut at a grapheme boundary; a marker block says how many tokens were cut and how
 * to read the rest, which is kept in a store and served page by page through
 * `resources/read` on `mcp-perf://token-budget/…` URIs and through a small continuation
 * tool. Cumulative budgets per session and per principal tighten the limit or refuse.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import type {
  Connection,
  JsonObject,
  MiddlewareObject,
  Next,
  Reply,
  RequestContext,
} from '../../core/types.js';
import {
  InvalidOptionError,
  StoreError,
  type TokenBudgetDetail,
  TokenBudgetExceededError,
} from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import { compileGlobs, isGlob } from '../../internal/glob.js';
import { estimateJsonSize } from '../../internal/json-size.js';
import { principalOf as requestPrincipal } from '../../internal/principal.js';
import { MemoryStore } from '../../stores/memory.js';
import type { CacheStore } from '../../stores/types.js';
import { approximateTokenCounter } from '../../tokens/approximate.js';
import { BOUNDED_COUNT_DEFAULTS } from '../../tokens/bounded.js';
import { exactTokenCounter } from '../../tokens/exact.js';
import type { TokenCounter } from '../../tokens/types.js';
import { countToolTokens } from '../../tokens/visible.js';
import { compactText, tabulate } from './compact.js';
import { type Cut, countSlices, cutCounted, cutText, isGraphemeBoundary, type SliceCounts } from './cut.js';
import { Ledger } from './ledger.js';
import {
  getRemainder,
  locate,
  newId,
  PAGE_URI_PREFIX,
  type PageAddress,
  pageUri,
  parsePageUri,
  putRemainder,
  type Remainder,
  remainderLength,
  storeKey,
} from './pages.js';

export { PAGE_URI_PREFIX } from './pages.js';

/** A cumulative budget: tokens delivered per session or per principal, over a window. */
export interface CumulativeBudget {
  /** Tokens allowed per window. Required; a positive integer. */
  tokens: number;
  /**
   * The window, in ms; the budget resets when it ends (fixed windows starting at the first
   * use). Default: never resets for `session`, one hour for `principal`.
   */
  windowMs?: number;
  /**
   * What happens when the budget is used up: `refuse` calls (and page reads) with
   * {@link TokenBudgetExceededError} (JSON-RPC `-31402`, retryable after
   * `data.retryAfterMs`), or `tighten` the per-call limit to what is left, never below
   * `tightenTo`. Default `refuse`.
   */
  policy?: 'refuse' | 'tighten';
  /** The smallest per-call limit `tighten` applies. Default 1,000 tokens. */
  tightenTo?: number;
}

/** Emitted when a result is cut. */
export interface TokenBudgetCutEvent {
  /** The tool. */
  tool: string;
  /** Tokens of the result as the tool returned it. */
  tokensIn: number;
  /** Tokens delivered (kept text, kept structured content, the marker). */
  tokensOut: number;
  /** Tokens saved by compaction before cutting. */
  savedByCompaction: number;
  /** Tokens moved to pages. */
  tokensCut: number;
  /** The URI of the first page. */
  uri: string;
}

/** Emitted when a page is served. */
export interface TokenBudgetPageEvent {
  /** The tool whose result the page belongs to. */
  tool: string;
  /** The page's URI. */
  uri: string;
  /** Tokens of the page's text. */
  tokens: number;
  /** How the page was asked for. */
  via: 'resources/read' | 'tool';
}

/** Emitted when a request is refused by a cumulative budget. */
export interface TokenBudgetRefusedEvent {
  /** The request's method. */
  method: string;
  /** The error it was refused with. */
  error: TokenBudgetExceededError;
}

/** Options of {@link tokenBudget}. */
export interface TokenBudgetOptions {
  /**
   * The per-call limit, in tokens, of a `tools/call` result's model-visible text. Default
   * 25,000 (where hosts start cutting results on their own), so ordinary results pass
   * untouched.
   */
  maxTokens?: number;
  /**
   * Per-tool limits by tool name or glob (`*`, `**`, `?`): a number, or `false` for no
   * limit. An exact name wins over globs; globs are tried in the order given.
   * Default: none.
   */
  tools?: Record<string, number | false>;
  /**
   * Honour a limit the caller asks for in the request's
   * `_meta["mcp-perf/maxTokens"]` (a positive integer). It can only lower the configured
   * limit. Default true.
   */
  callerLimit?: boolean;
  /**
   * How tokens are counted: `'approximate'` (default; no tokenizer, tens of times faster),
   * `'exact'` (`tiktoken` `o200k_base`, an optional peer dependency) or any
   * {@link TokenCounter}. The instance's `counter` is the one in use: pass it to
   * `metrics({ tokens: budget.counter })` to see tokens per request through it.
   */
  counter?: 'approximate' | 'exact' | TokenCounter;
  /**
   * Lossless compaction of a result that is over its limit, before cutting: pretty JSON
   * in text content is minified, trailing spaces and runs of blank lines are removed.
   * Default true.
   */
  compact?: boolean;
  /**
   * Opt-in tabular encoding of text that is a JSON array of uniform flat objects (a header
   * and one comma-separated row per object), applied to a result over its limit only when
   * it saves at least `tabularMinSaving` of that text's tokens. Default false.
   */
  tabular?: boolean;
  /** The least fraction of tokens the tabular form must save to be used. Default 0.2. */
  tabularMinSaving?: number;
  /**
   * Where cut remainders are kept (any {@link CacheStore}, e.g. a Redis store from
   * `mcp-perf/redis` so every replica can serve the pages). Default: an in-memory store
   * of 1,000 remainders, 64 MiB, 32 MiB per remainder.
   */
  store?: CacheStore;
  /** How long a remainder stays readable, in ms. Default 15 minutes. */
  pageTtlMs?: number;
  /**
   * The continuation tool (for hosts that do not read resource links): `'after-cut'`
   * (default) lists it in `tools/list` once a result has been cut on the connection and
   * sends `notifications/tools/list_changed`; `'always'` lists it from the start; `false`
   * never lists it. It is callable in every mode.
   */
  continuationTool?: 'after-cut' | 'always' | false;
  /** The continuation tool's name. Default `token_budget_more`. */
  continuationToolName?: string;
  /**
   * Add `resources: {}` to the server's capabilities (in `initialize` and
   * `server/discover` results) when it has none, so clients read pages with
   * `resources/read`; the middleware then answers `resources/list` and
   * `resources/templates/list` with empty lists. Default true.
   */
  addResourcesCapability?: boolean;
  /** A budget per session (per connection when the transport has no session id). Default: none. */
  session?: CumulativeBudget;
  /** A budget per principal (see `principal`). Default: none. */
  principal?: CumulativeBudget;
  /**
   * The principal of a request, for per-principal budgets and page ownership. Default:
   * the OAuth client with the user (`sub`, `userId`, `user_id` or `username` from the
   * verifier's `extra`) or with the token, from `ctx.authInfo`; `undefined` without auth.
   */
  principalOf?: (ctx: RequestContext) => string | undefined;
  /** Most sessions and principals whose cumulative use is held. Default 10,000. */
  maxKeys?: number;
  /** The clock, epoch ms (windows and page expiry). Default `Date.now`. */
  clock?: () => number;
  /** Called for every cut result. */
  onCut?: (event: TokenBudgetCutEvent) => void;
  /** Called for every page served. */
  onPage?: (event: TokenBudgetPageEvent) => void;
  /** Called for every refusal by a cumulative budget. */
  onRefused?: (event: TokenBudgetRefusedEvent) => void;
}

/** The defaults of {@link tokenBudget}, each cited in its option's doc comment. */
export const TOKEN_BUDGET_DEFAULTS = Object.freeze({
  /** {@link TokenBudgetOptions.maxTokens}. */
  maxTokens: 25_000,
  /** {@link TokenBudgetOptions.callerLimit}. */
  callerLimit: true,
  /** {@link TokenBudgetOptions.counter}. */
  counter: 'approximate' as const,
  /** {@link TokenBudgetOptions.compact}. */
  compact: true,
  /** {@link TokenBudgetOptions.tabular}. */
  tabular: false,
  /** {@link TokenBudgetOptions.tabularMinSaving}. */
  tabularMinSaving: 0.2,
  /** {@link TokenBudgetOptions.pageTtlMs}: 15 minutes. */
  pageTtlMs: 15 * 60_000,
  /** {@link TokenBudgetOptions.continuationTool}. */
  continuationTool: 'after-cut' as const,
  /** {@link TokenBudgetOptions.continuationToolName}. */
  continuationToolName: 'token_budget_more',
  /** {@link TokenBudgetOptions.addResourcesCapability}. */
  addResourcesCapability: true,
  /** {@link CumulativeBudget.windowMs} of a principal budget: one hour. */
  principalWindowMs: 3_600_000,
  /** {@link CumulativeBudget.policy}. */
  policy: 'refuse' as const,
  /** {@link CumulativeBudget.tightenTo}. */
  tightenTo: 1_000,
  /** {@link TokenBudgetOptions.maxKeys}. */
  maxKeys: 10_000,
  /** The default store's bounds (see {@link TokenBudgetOptions.store}). */
  store: Object.freeze({
    /** Most remainders held. */
    maxEntries: 1_000,
    /** Most bytes held (UTF-16: two bytes a character). */
    maxBytes: 64 * 1024 * 1024,
    /** Largest remainder kept (bytes); a result whose remainder is larger is delivered uncut. */
    maxEntrySize: 32 * 1024 * 1024,
  }),
  /** The smallest per-call limit accepted: room for the marker and some text. */
  minTokens: 200,
});

/** The `_meta` key a caller sets to ask for a lower per-call limit. */
export const CALLER_LIMIT_META = 'mcp-perf/maxTokens';
/** The `_meta` key under which cut results and pages describe themselves. */
export const TOKEN_BUDGET_META = 'mcp-perf/tokenBudget';

/** Token figures of one tool. */
export interface ToolTokenStats {
  /** Results seen. */
  results: number;
  /** Results whose tokens were counted (the rest were provably under the limit). */
  counted: number;
  /** Tokens of the counted results as the tool returned them. */
  tokensIn: number;
  /** Tokens of the counted results as delivered. */
  tokensOut: number;
  /** Tokens saved by compaction. */
  savedByCompaction: number;
  /** Results cut. */
  cut: number;
  /** Tokens moved to pages. */
  tokensCut: number;
  /** Tokens of the tool's definition in the last `tools/list` seen, when counted. */
  definitionTokens: number | undefined;
}

/** Live figures of a token budget. */
export interface TokenBudgetStats {
  /** Tool results seen. */
  results: number;
  /** Results cut. */
  cut: number;
  /** Results that fit only after compaction. */
  compactedToFit: number;
  /** Tokens saved by compaction. */
  savedByCompaction: number;
  /** Tokens moved to pages. */
  tokensCut: number;
  /** Pages served (through `resources/read` and the continuation tool). */
  pagesServed: number;
  /** Requests refused by a cumulative budget. */
  refused: number;
  /** Remainders that could not be stored (the result was then delivered uncut). */
  storeErrors: number;
  /** Per tool (at most 1,000 tools; the rest under `*`). */
  tools: Record<string, ToolTokenStats>;
}

/** A token-budget middleware with live figures. */
export interface TokenBudget extends MiddlewareObject {
  /** `tokenBudget`. */
  readonly name: string;
  /** The counter in use (give it to `metrics({ tokens })` to count through the same one). */
  readonly counter: TokenCounter;
  /** The store remainders are kept in. */
  readonly store: CacheStore;
  /** Live figures. */
  stats(): TokenBudgetStats;
}

const WHERE = 'tokenBudget';
const MAX_TOOLS = 1_000;

interface ConnectionState {
  resourcesAdded: boolean;
  continuationListed: boolean;
  outputSchemas: Map<string, boolean>;
}

interface TextItem {
  /** Index of the content block. */
  block: number;
  /** `text` block or embedded `resource`. */
  kind: 'text' | 'resource';
  text: string;
  tokens: number;
  /** `text` counted slice by slice, so that it is cut without being counted again. */
  counted: SliceCounts | undefined;
}

interface Limits {
  limit: number;
  sessionKey: string | undefined;
  principalKey: string | undefined;
}

function resolveCounter(value: unknown): TokenCounter {
  if (value === undefined || value === 'approximate') return approximateTokenCounter();
  if (value === 'exact') return exactTokenCounter();
  if (typeof value === 'object' && value !== null && typeof (value as TokenCounter).count === 'function') {
    return value as TokenCounter;
  }
  throw new InvalidOptionError(WHERE, 'counter', "'approximate', 'exact' or a TokenCounter", value);
}

function positiveInteger(option: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidOptionError(
      WHERE,
      option,
      min === 1 ? 'a positive integer' : `an integer ≥ ${min}`,
      value,
    );
  }
  return value;
}

function fn<F>(option: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(WHERE, option, 'a function', value);
  }
  return value;
}

function bool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(WHERE, option, 'a boolean', value);
  return value;
}

interface ResolvedBudget {
  ledger: Ledger;
  policy: 'refuse' | 'tighten';
  tightenTo: number;
  scope: 'session' | 'principal';
}

function resolveBudget(
  scope: 'session' | 'principal',
  value: CumulativeBudget | undefined,
  maxKeys: number,
): ResolvedBudget | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(WHERE, scope, 'an object { tokens, windowMs?, policy?, tightenTo? }', value);
  }
  const tokens = positiveInteger(`${scope}.tokens`, value.tokens, Number.NaN);
  if (Number.isNaN(tokens))
    throw new InvalidOptionError(WHERE, `${scope}.tokens`, 'a positive integer', undefined);
  const windowDefault =
    scope === 'session' ? Number.POSITIVE_INFINITY : TOKEN_BUDGET_DEFAULTS.principalWindowMs;
  const windowMs = value.windowMs ?? windowDefault;
  if (typeof windowMs !== 'number' || !(windowMs > 0)) {
    throw new InvalidOptionError(WHERE, `${scope}.windowMs`, 'a positive number of ms', value.windowMs);
  }
  const policy = value.policy ?? TOKEN_BUDGET_DEFAULTS.policy;
  if (policy !== 'refuse' && policy !== 'tighten') {
    throw new InvalidOptionError(WHERE, `${scope}.policy`, '"refuse" or "tighten"', policy);
  }
  const tightenTo = positiveInteger(
    `${scope}.tightenTo`,
    value.tightenTo,
    TOKEN_BUDGET_DEFAULTS.tightenTo,
    TOKEN_BUDGET_DEFAULTS.minTokens,
  );
  return { ledger: new Ledger(tokens, windowMs, maxKeys), policy, tightenTo, scope };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null;
}

function format(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Creates a token-budget middleware.
 *
 * @example
 * ```ts
 * const budget = tokenBudget({ maxTokens: 10_000, tools: { 'search_*': 4_000 } });
 * withMiddleware(server, [metrics({ tokens: budget.counter }), budget]);
 * ```
 */
export function tokenBudget(options: TokenBudgetOptions = {}): TokenBudget {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(WHERE, '', 'an object', options);
  }
  const d = TOKEN_BUDGET_DEFAULTS;
  const maxTokens = positiveInteger('maxTokens', options.maxTokens, d.maxTokens, d.minTokens);
  const exactLimits = new Map<string, number | false>();
  const globLimits: Array<[RegExp, number | false]> = [];
  if (options.tools !== undefined) {
    if (!isObject(options.tools)) {
      throw new InvalidOptionError(
        WHERE,
        'tools',
        'an object of tool name or glob → tokens or false',
        options.tools,
      );
    }
    for (const [pattern, value] of Object.entries(options.tools)) {
      if (value !== false) positiveInteger(`tools[${JSON.stringify(pattern)}]`, value, 0, d.minTokens);
      if (isGlob(pattern)) globLimits.push([compileGlobs([pattern])!, value]);
      else exactLimits.set(pattern, value);
    }
  }
  const callerLimit = bool('callerLimit', options.callerLimit, d.callerLimit);
  const counter = resolveCounter(options.counter);
  const compact = bool('compact', options.compact, d.compact);
  const tabular = bool('tabular', options.tabular, d.tabular);
  const tabularMinSaving = options.tabularMinSaving ?? d.tabularMinSaving;
  if (typeof tabularMinSaving !== 'number' || !(tabularMinSaving >= 0 && tabularMinSaving < 1)) {
    throw new InvalidOptionError(WHERE, 'tabularMinSaving', 'a number from 0 to below 1', tabularMinSaving);
  }
  const pageTtlMs = positiveInteger('pageTtlMs', options.pageTtlMs, d.pageTtlMs);
  const continuationMode = options.continuationTool ?? d.continuationTool;
  if (continuationMode !== 'after-cut' && continuationMode !== 'always' && continuationMode !== false) {
    throw new InvalidOptionError(
      WHERE,
      'continuationTool',
      '"after-cut", "always" or false',
      continuationMode,
    );
  }
  const toolName = options.continuationToolName ?? d.continuationToolName;
  if (typeof toolName !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(toolName)) {
    throw new InvalidOptionError(
      WHERE,
      'continuationToolName',
      'a tool name of 1–64 letters, digits, _ . -',
      toolName,
    );
  }
  const addResources = bool(
    'addResourcesCapability',
    options.addResourcesCapability,
    d.addResourcesCapability,
  );
  const maxKeys = positiveInteger('maxKeys', options.maxKeys, d.maxKeys);
  const sessionBudget = resolveBudget('session', options.session, maxKeys);
  const principalBudget = resolveBudget('principal', options.principal, maxKeys);
  const principalOf = fn('principalOf', options.principalOf) ?? requestPrincipal;
  const clock = fn('clock', options.clock) ?? Date.now;
  const onCut = fn('onCut', options.onCut);
  const onPage = fn('onPage', options.onPage);
  const onRefused = fn('onRefused', options.onRefused);
  let store = options.store;
  if (store === undefined) {
    store = new MemoryStore({ ...d.store, isolation: 'reference', now: clock });
  } else if (!isObject(store) || typeof store.get !== 'function' || typeof store.set !== 'function') {
    throw new InvalidOptionError(WHERE, 'store', 'a CacheStore (get, set, …)', store);
  }
  const pages: CacheStore = store;
  const budgets = [sessionBudget, principalBudget].filter((b): b is ResolvedBudget => b !== undefined);
  const countAll = budgets.length > 0;

  const connections = new WeakMap<Connection, ConnectionState>();
  const connectionIds = new WeakMap<Connection, string>();
  let connectionSeq = 0;
  const stats: Omit<TokenBudgetStats, 'tools'> = {
    results: 0,
    cut: 0,
    compactedToFit: 0,
    savedByCompaction: 0,
    tokensCut: 0,
    pagesServed: 0,
    refused: 0,
    storeErrors: 0,
  };
  const perTool = new Map<string, ToolTokenStats>();

  const continuationDefinition = Object.freeze({
    name: toolName,
    title: 'Read more of a cut result',
    description:
      'Returns the next page of a tool result that was cut to fit the token budget. ' +
      `Pass the cursor given at the end of the cut result (an ${PAGE_URI_PREFIX}… URI).`,
    inputSchema: {
      type: 'object',
      properties: {
        cursor: { type: 'string', description: `The ${PAGE_URI_PREFIX}… URI of the page to read.` },
      },
      required: ['cursor'],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  });

  function stateOf(connection: Connection): ConnectionState {
    let state = connections.get(connection);
    if (state === undefined) {
      state = {
        resourcesAdded: false,
        continuationListed: continuationMode === 'always',
        outputSchemas: new Map(),
      };
      connections.set(connection, state);
    }
    return state;
  }

  function toolStats(tool: string): ToolTokenStats {
    let s = perTool.get(tool);
    if (s === undefined) {
      if (perTool.size >= MAX_TOOLS) return toolStats('*');
      s = {
        results: 0,
        counted: 0,
        tokensIn: 0,
        tokensOut: 0,
        savedByCompaction: 0,
        cut: 0,
        tokensCut: 0,
        definitionTokens: undefined,
      };
      perTool.set(tool, s);
    }
    return s;
  }

  function configuredLimit(tool: string): number | false {
    const exact = exactLimits.get(tool);
    if (exact !== undefined) return exact;
    for (const [glob, value] of globLimits) if (glob.test(tool)) return value;
    return maxTokens;
  }

  function ownerOf(ctx: RequestContext): string {
    const principal = principalOf(ctx);
    if (principal !== undefined) return `p:${digest(principal)}`;
    const session = ctx.session.sessionId;
    return session === undefined ? '' : `s:${session}`;
  }

  function sessionKeyOf(ctx: RequestContext): string {
    const session = ctx.session.sessionId;
    if (session !== undefined) return `s:${session}`;
    let id = connectionIds.get(ctx.connection);
    if (id === undefined) {
      id = `c:${++connectionSeq}`;
      connectionIds.set(ctx.connection, id);
    }
    return id;
  }

  /** Applies the cumulative budgets: the effective limit, or a refusal. */
  function limitsFor(ctx: RequestContext, limit: number): Limits {
    let effective = limit;
    let sessionKey: string | undefined;
    let principalKey: string | undefined;
    const now = clock();
    for (const budget of budgets) {
      let key: string | undefined;
      if (budget.scope === 'session') key = sessionKey = sessionKeyOf(ctx);
      else {
        const principal = principalOf(ctx);
        if (principal === undefined) continue;
        key = principalKey = digest(principal);
      }
      const standing = budget.ledger.standing(key, now);
      if (budget.policy === 'tighten') {
        effective = Math.min(effective, Math.max(standing.remaining, budget.tightenTo));
      } else if (standing.remaining <= 0) {
        refuse(ctx, budget, standing.used, standing.resetsAt, now);
      }
    }
    return { limit: effective, sessionKey, principalKey };
  }

  function refuse(
    ctx: RequestContext,
    budget: ResolvedBudget,
    used: number,
    resetsAt: number | undefined,
    now: number,
  ): never {
    stats.refused++;
    const limit = budget.ledger.limit;
    const detail: TokenBudgetDetail = { scope: budget.scope, limit, used };
    let when = 'it does not reset (it lasts as long as the session)';
    if (resetsAt !== undefined) {
      detail.resetsAt = resetsAt;
      detail.retryAfterMs = Math.max(1, resetsAt - now);
      when = `it resets in ${detail.retryAfterMs} ms (at ${new Date(resetsAt).toISOString()})`;
    }
    const error = new TokenBudgetExceededError(
      `${budget.scope} token budget used up: ${format(used)} of ${format(limit)} tokens; ${when}`,
      detail,
    );
    if (onRefused) {
      try {
        onRefused({ method: ctx.method, error });
      } catch (e) {
        ctx.connection.reportError(asError(e));
      }
    }
    throw error;
  }

  function spend(limits: Limits, tokens: number): void {
    if (!countAll || tokens === 0) return;
    const now = clock();
    if (sessionBudget && limits.sessionKey !== undefined)
      sessionBudget.ledger.spend(limits.sessionKey, tokens, now);
    if (principalBudget && limits.principalKey !== undefined) {
      principalBudget.ledger.spend(limits.principalKey, tokens, now);
    }
  }

  function requestedLimit(ctx: RequestContext, limit: number): number {
    if (!callerLimit) return limit;
    const meta = ctx.params?._meta;
    if (!isObject(meta)) return limit;
    const asked = meta[CALLER_LIMIT_META];
    if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1) return limit;
    return Math.min(limit, Math.max(asked, d.minTokens));
  }

  function emit<E>(ctx: RequestContext, listener: ((event: E) => void) | undefined, event: E): void {
    if (listener === undefined) return;
    try {
      listener(event);
    } catch (e) {
      ctx.connection.reportError(asError(e));
    }
  }

  const syncChars = counter.exact
    ? BOUNDED_COUNT_DEFAULTS.maxSyncChars
    : BOUNDED_COUNT_DEFAULTS.maxSyncCharsApproximate;

  function count(text: string, signal: AbortSignal | undefined): number | Promise<number> {
    if (text.length <= syncChars) return counter.count(text);
    const cut = cutText(text, Number.MAX_SAFE_INTEGER, counter, true, signal);
    return cut instanceof Promise ? cut.then((c) => c.keptTokens) : cut.keptTokens;
  }

  /**
   * Tokens the marker and the resource link take (with the largest numbers they can
   * show), counted the way a host sees them, so the result stays within its limit.
   */
  function reserveFor(tool: string, limit: number, page: boolean): number {
    const uri = pageUri('A'.repeat(22), 9_999_999_999);
    const link = linkBlock(uri, tool);
    // An estimate counted slice by slice can differ by a token per slice from the same
    // text counted whole (as a host or metrics would): keep a small margin for it.
    const margin = counter.exact ? 0 : Math.ceil(limit / 100) + 2;
    const note = page
      ? pageMarker(999_999_999, uri, false)
      : marker(999_999_999, 999_999_999, limit, uri, false, 'structuredContent');
    return (
      margin +
      counter.count(note) +
      counter.count(link.name as string) +
      counter.count(uri) +
      counter.count(link.description as string)
    );
  }

  function marker(
    cutTokens: number,
    totalTokens: number,
    limit: number,
    uri: string,
    exact: boolean,
    what: string | undefined,
  ): string {
    const about = exact ? '' : 'about ';
    const structured =
      what === 'structuredContent' ? ' The structured content did not fit and is in the pages.' : '';
    return (
      `[token budget: ${about}${format(cutTokens)} of ${about}${format(totalTokens)} tokens were cut (limit ${format(limit)}).` +
      `${structured} Read the rest page by page: resources/read {"uri":"${uri}"}, or call the tool ` +
      `${toolName} {"cursor":"${uri}"}. Each page ends with the next one's address.]`
    );
  }

  function pageMarker(remainingTokens: number, uri: string, exact: boolean): string {
    const about = exact ? '' : 'about ';
    return (
      `[token budget: ${about}${format(remainingTokens)} tokens remain. Next page: resources/read {"uri":"${uri}"}, ` +
      `or call the tool ${toolName} {"cursor":"${uri}"}.]`
    );
  }

  function linkBlock(uri: string, tool: string): JsonObject {
    return {
      type: 'resource_link',
      uri,
      name: `${tool} (rest)`,
      description: 'The rest of the result, cut to fit the token budget',
      mimeType: 'text/plain',
    };
  }

  // ---- tools/call ----

  function call(ctx: RequestContext, next: Next): Promise<Reply> {
    const params = ctx.params;
    const tool = typeof params?.name === 'string' ? params.name : '';
    if (tool === toolName) {
      const cursor = isObject(params?.arguments) ? params.arguments.cursor : undefined;
      return readPage(ctx, parsePageUri(cursor), cursor, 'tool');
    }
    const configured = configuredLimit(tool);
    if (configured === false && !countAll) return next();
    const limits = countAll
      ? limitsFor(ctx, configured === false ? Number.MAX_SAFE_INTEGER : configured)
      : { limit: configured as number, sessionKey: undefined, principalKey: undefined };
    const limit = requestedLimit(ctx, limits.limit);
    return next().then((reply) => shape(ctx, tool, reply, limit, limits));
  }

  function shape(
    ctx: RequestContext,
    tool: string,
    reply: Reply,
    limit: number,
    limits: Limits,
  ): Reply | Promise<Reply> {
    const result = reply.result;
    if (result === undefined) return reply;
    stats.results++;
    const perToolStats = toolStats(tool);
    perToolStats.results++;
    if (result.resultType !== undefined && result.resultType !== 'complete') return reply;
    const content = result.content;
    let chars = 0;
    if (Array.isArray(content)) {
      for (const block of content) {
        if (!isObject(block)) continue;
        if (block.type === 'text' && typeof block.text === 'string') chars += block.text.length;
        else if (
          block.type === 'resource' &&
          isObject(block.resource) &&
          typeof block.resource.text === 'string'
        ) {
          chars += block.resource.text.length;
        }
      }
    }
    const structured = result.structuredContent;
    if (structured !== undefined) chars += jsonSize(structured, limit);
    // A token is at least one UTF-8 byte and a UTF-16 code unit at most three: a result
    // this short provably fits without being counted.
    if (!countAll && chars * 3 <= limit) return reply;
    return budgetResult(ctx, tool, reply, result, limit, limits, perToolStats);
  }

  async function budgetResult(
    ctx: RequestContext,
    tool: string,
    reply: Reply,
    result: JsonObject,
    limit: number,
    limits: Limits,
    toolFigures: ToolTokenStats,
  ): Promise<Reply> {
    const signal = ctx.signal;
    const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
    const items: TextItem[] = [];
    for (let i = 0; i < content.length; i++) {
      const block = content[i];
      if (!isObject(block)) continue;
      if (block.type === 'text' && typeof block.text === 'string') {
        items.push({ block: i, kind: 'text', text: block.text, tokens: 0, counted: undefined });
      } else if (
        block.type === 'resource' &&
        isObject(block.resource) &&
        typeof block.resource.text === 'string'
      ) {
        items.push({ block: i, kind: 'resource', text: block.resource.text, tokens: 0, counted: undefined });
      }
    }
    let textTokens = 0;
    for (const item of items) {
      const counted = countSlices(item.text, counter, Number.POSITIVE_INFINITY, signal);
      item.counted = counted instanceof Promise ? await counted : counted;
      item.tokens = item.counted.total;
      textTokens += item.tokens;
    }
    const structured = result.structuredContent;
    let structuredJson: string | undefined;
    let structuredTokens = 0;
    if (structured !== undefined) {
      structuredJson = JSON.stringify(structured) ?? '';
      structuredTokens = await count(structuredJson, signal);
    }
    const tokensIn = textTokens + structuredTokens;
    toolFigures.counted++;
    toolFigures.tokensIn += tokensIn;
    if (tokensIn <= limit) {
      toolFigures.tokensOut += tokensIn;
      spend(limits, tokensIn);
      return reply;
    }

    // Over the limit: compact first (lossless), then cut what is still over.
    let saved = 0;
    let changed = false;
    if (compact || tabular) {
      for (const item of items) {
        let best = item.counted!;
        if (compact) {
          const compacted = compactText(item.text);
          if (compacted !== item.text) {
            const counted = await countSlices(compacted, counter, Number.POSITIVE_INFINITY, signal);
            if (counted.total < best.total) best = counted;
          }
        }
        if (tabular) {
          const table = tabulate(item.text);
          if (table !== undefined) {
            const counted = await countSlices(table, counter, Number.POSITIVE_INFINITY, signal);
            if (counted.total <= item.tokens * (1 - tabularMinSaving) && counted.total < best.total) {
              best = counted;
            }
          }
        }
        if (best !== item.counted) {
          saved += item.tokens - best.total;
          textTokens -= item.tokens - best.total;
          item.text = best.text;
          item.tokens = best.total;
          item.counted = best;
          changed = true;
        }
      }
    }
    toolFigures.savedByCompaction += saved;
    stats.savedByCompaction += saved;
    const out: JsonObject = { ...result };
    const blocks = content.slice();
    const writeBack = (item: TextItem, text: string) => {
      const block = content[item.block] as JsonObject;
      blocks[item.block] =
        item.kind === 'text'
          ? { ...block, text }
          : { ...block, resource: { ...(block.resource as JsonObject), text } };
    };
    if (changed) for (const item of items) writeBack(item, item.text);
    if (textTokens + structuredTokens <= limit) {
      stats.compactedToFit++;
      out.content = blocks;
      toolFigures.tokensOut += textTokens + structuredTokens;
      spend(limits, textTokens + structuredTokens);
      return { result: out };
    }

    const markerTokens = reserveFor(tool, limit, false);
    const room = Math.max(0, limit - markerTokens);
    const knownSchema = stateOf(ctx.connection).outputSchemas.get(tool);
    // structuredContent is never half-cut; a tool with an outputSchema (or one not yet
    // seen in tools/list) keeps it whole, since clients reject a result without it.
    const keepStructured =
      structuredJson !== undefined && (structuredTokens <= room || knownSchema !== false);
    const segments: string[] = [];
    const labels: string[] = [];
    let left = keepStructured ? Math.max(0, room - structuredTokens) : room;
    let kept = keepStructured ? structuredTokens : 0;
    const drop = new Set<number>();
    for (const item of items) {
      const label = item.kind === 'text' ? `content[${item.block}]` : `content[${item.block}].resource`;
      if (segments.length > 0) {
        segments.push(item.text);
        labels.push(label);
        drop.add(item.block);
        continue;
      }
      if (item.tokens <= left) {
        left -= item.tokens;
        kept += item.tokens;
        continue;
      }
      // Counted to the end above: the cut counts only around the place it falls.
      const cut: Cut = cutCounted(item.counted!, left, counter);
      kept += cut.keptTokens;
      left = 0;
      segments.push(item.text.slice(cut.index));
      labels.push(label);
      if (cut.index === 0 && item.kind === 'text') drop.add(item.block);
      else writeBack(item, item.text.slice(0, cut.index));
    }
    if (structuredJson !== undefined && !keepStructured) {
      segments.push(structuredJson);
      labels.push('structuredContent');
      delete out.structuredContent;
    }
    if (segments.every((segment) => segment.length === 0)) {
      // Everything fit once the marker's room is taken into account the other way round.
      out.content = blocks;
      toolFigures.tokensOut += textTokens + structuredTokens;
      spend(limits, textTokens + structuredTokens);
      return { result: out };
    }
    const id = newId();
    const total = textTokens + structuredTokens;
    const cutTokens = Math.max(0, total - kept);
    const remainder: Remainder = { owner: ownerOf(ctx), tool, segments, labels, tokens: cutTokens };
    try {
      const put = putRemainder(pages, id, remainder, pageTtlMs, clock());
      if (put instanceof Promise) await put;
      // A bounded store may decline an entry (too large) without failing: read it back
      // (cuts are rare; a memory store answers at once).
      const stored = pages.get(storeKey(id));
      if ((stored instanceof Promise ? await stored : stored) === undefined) {
        throw new Error(`the store declined a remainder of ${remainderLength(remainder)} characters`);
      }
    } catch (error) {
      // Nothing may be lost: without a stored remainder the result goes out whole.
      stats.storeErrors++;
      ctx.connection.reportError(new StoreError(pages.name, 'token budget remainder set', error));
      toolFigures.tokensOut += tokensIn;
      spend(limits, tokensIn);
      return reply;
    }
    const uri = pageUri(id, 0);
    const what = labels.includes('structuredContent') ? 'structuredContent' : undefined;
    const note = marker(cutTokens, total, limit, uri, counter.exact, what);
    const finalBlocks = blocks.filter((_, i) => !drop.has(i));
    finalBlocks.push({ type: 'text', text: note }, linkBlock(uri, tool));
    out.content = finalBlocks;
    const meta = isObject(result._meta) ? { ...result._meta } : {};
    meta[TOKEN_BUDGET_META] = {
      cut: true,
      limit,
      tokensIn,
      tokensKept: kept,
      tokensCut: cutTokens,
      exact: counter.exact,
      next: uri,
      segments: labels,
    };
    out._meta = meta;
    const delivered = kept + markerTokens;
    stats.cut++;
    stats.tokensCut += cutTokens;
    toolFigures.cut++;
    toolFigures.tokensCut += cutTokens;
    toolFigures.tokensOut += delivered;
    spend(limits, delivered);
    announce(ctx);
    emit(ctx, onCut, {
      tool,
      tokensIn,
      tokensOut: delivered,
      savedByCompaction: saved,
      tokensCut: cutTokens,
      uri,
    });
    return { result: out };
  }

  function announce(ctx: RequestContext): void {
    if (continuationMode !== 'after-cut') return;
    const state = stateOf(ctx.connection);
    if (state.continuationListed) return;
    state.continuationListed = true;
    ctx.connection.notify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }, 'caller');
  }

  // ---- pages ----

  async function readPage(
    ctx: RequestContext,
    address: PageAddress | undefined,
    asked: unknown,
    via: 'resources/read' | 'tool',
  ): Promise<Reply> {
    const fail = (message: string, code: number): Reply => {
      if (via === 'tool') return { result: { content: [{ type: 'text', text: message }], isError: true } };
      return { error: { code, message, data: { uri: asked } } };
    };
    if (address === undefined) {
      return fail(
        `token budget: ${JSON.stringify(asked)} is not a ${PAGE_URI_PREFIX}{id}/{offset} URI`,
        -32602,
      );
    }
    const limits = countAll ? limitsFor(ctx, Number.MAX_SAFE_INTEGER) : undefined;
    let found = getRemainder(pages, address.id, ownerOf(ctx), clock());
    if (found instanceof Promise) {
      try {
        found = await found;
      } catch (error) {
        ctx.connection.reportError(new StoreError(pages.name, 'token budget remainder get', error));
        found = undefined;
      }
    }
    // A page of another principal reads exactly like one that expired: nothing leaks.
    if (found === undefined)
      return fail(`token budget: no such page (expired or unknown): ${asked as string}`, -32002);
    const remainder = found;
    const at = locate(remainder, address.offset);
    if (at === undefined)
      return fail(`token budget: offset ${address.offset} is past the end of ${asked as string}`, -32602);
    const [segment, offset] = at;
    const segmentText = remainder.segments[segment]!;
    if (!isGraphemeBoundary(segmentText, offset)) {
      return fail(
        `token budget: offset ${address.offset} is inside a character; use the URIs the pages give`,
        -32602,
      );
    }
    const configured = configuredLimit(remainder.tool);
    let limit = requestedLimit(ctx, configured === false ? maxTokens : configured);
    if (limits !== undefined) limit = Math.min(limit, limits.limit);
    const markerTokens = reserveFor(remainder.tool, limit, true);
    const room = Math.max(1, limit - markerTokens);
    const text = segmentText.slice(offset);
    const cut = await cutText(text, room, counter, false, ctx.signal);
    let end = cut.index;
    let tokens = cut.keptTokens;
    if (end === 0 && text.length > 0) {
      // Always make progress: at least one grapheme cluster per page.
      const first = graphemeEnd(text);
      end = first;
      tokens = counter.count(text.slice(0, first));
    }
    const pageText = text.slice(0, end);
    const nextOffset = address.offset + end;
    const total = remainderLength(remainder);
    const uri = pageUri(address.id, address.offset);
    const more = nextOffset < total;
    const nextUri = pageUri(address.id, nextOffset);
    // Proportional to the characters left: counting a multi-megabyte remainder again for
    // every page would cost more than the page.
    const remaining = more ? Math.ceil((remainder.tokens * (total - nextOffset)) / total) : 0;
    const note = more ? pageMarker(remaining, nextUri, false) : undefined;
    stats.pagesServed++;
    if (limits !== undefined) spend(limits, tokens + (more ? markerTokens : 0));
    emit(ctx, onPage, { tool: remainder.tool, uri, tokens, via });
    const meta = {
      [TOKEN_BUDGET_META]: {
        tool: remainder.tool,
        segment: remainder.labels[segment],
        offset: address.offset,
        length: end,
        tokens,
        next: more ? nextUri : null,
      },
    };
    if (via === 'tool') {
      const content: JsonObject[] = [{ type: 'text', text: pageText }];
      if (note !== undefined) content.push({ type: 'text', text: note }, linkBlock(nextUri, remainder.tool));
      return { result: { content, _meta: meta } };
    }
    const contents: JsonObject[] = [{ uri, mimeType: 'text/plain', text: pageText }];
    if (note !== undefined) contents.push({ uri: nextUri, mimeType: 'text/plain', text: note });
    return { result: { contents, _meta: meta } };
  }

  // ---- lists and handshake ----

  function listTools(ctx: RequestContext, reply: Reply): Reply {
    const result = reply.result;
    if (result === undefined || !Array.isArray(result.tools)) return reply;
    const state = stateOf(ctx.connection);
    for (const tool of result.tools as unknown[]) {
      if (!isObject(tool) || typeof tool.name !== 'string') continue;
      state.outputSchemas.set(tool.name, tool.outputSchema !== undefined);
      if (state.outputSchemas.size > MAX_TOOLS)
        state.outputSchemas.delete(state.outputSchemas.keys().next().value!);
      toolStats(tool.name).definitionTokens = countToolTokens(tool, counter);
    }
    if (!state.continuationListed || result.nextCursor !== undefined) return reply;
    if ((result.tools as unknown[]).some((t) => isObject(t) && t.name === toolName)) return reply;
    return { result: { ...result, tools: [...(result.tools as unknown[]), continuationDefinition] } };
  }

  function handshake(ctx: RequestContext, reply: Reply): Reply {
    const result = reply.result;
    if (!addResources || result === undefined) return reply;
    const capabilities = isObject(result.capabilities) ? result.capabilities : {};
    if (capabilities.resources !== undefined) return reply;
    stateOf(ctx.connection).resourcesAdded = true;
    return { result: { ...result, capabilities: { ...capabilities, resources: {} } } };
  }

  const middleware: TokenBudget = {
    name: 'tokenBudget',
    counter,
    store: pages,
    // The methods `request` below does anything with.
    handles: (method) => {
      switch (method) {
        case 'tools/call':
        case 'resources/read':
        case 'tools/list':
          return true;
        case 'initialize':
        case 'server/discover':
        case 'resources/list':
        case 'resources/templates/list':
          return addResources;
        default:
          return false;
      }
    },
    request: function tokenBudget(ctx, next) {
      switch (ctx.method) {
        case 'tools/call':
          return call(ctx, next);
        case 'resources/read': {
          const uri = ctx.params?.uri;
          if (typeof uri === 'string' && uri.startsWith(PAGE_URI_PREFIX)) {
            return readPage(ctx, parsePageUri(uri), uri, 'resources/read');
          }
          return next();
        }
        case 'tools/list':
          return next().then((reply) => listTools(ctx, reply));
        case 'initialize':
        case 'server/discover':
          return addResources ? next().then((reply) => handshake(ctx, reply)) : next();
        case 'resources/list':
        case 'resources/templates/list':
          if (connections.get(ctx.connection)?.resourcesAdded === true) {
            return Promise.resolve({
              result: ctx.method === 'resources/list' ? { resources: [] } : { resourceTemplates: [] },
            });
          }
          return next();
        default:
          return next();
      }
    },
    stats(): TokenBudgetStats {
      const tools: Record<string, ToolTokenStats> = {};
      for (const [name, figures] of perTool) tools[name] = { ...figures };
      return { ...stats, tools };
    },
  };
  return brandMiddleware(middleware, 'tokenBudget');
}

function jsonSize(value: unknown, limit: number): number {
  try {
    return estimateJsonSize(value, limit);
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

function graphemeEnd(text: string): number {
  for (let i = 1; i <= text.length; i++) if (isGraphemeBoundary(text, i)) return i;
  return text.length;
}

/**
 * Adds a token budget to an MCP server, client or transport: the same as
 * `withMiddleware(target, [tokenBudget(options)])`. Pass an instance made by
 * {@link tokenBudget} to keep a handle on its `stats()` and `counter`, or to share one
 * budget (and its pages) between targets. Returns the target; on a bare transport (with
 * `{ side }`), the wrapping transport.
 *
 * @example
 * ```ts
 * withTokenBudget(server, { maxTokens: 10_000 });
 * ```
 */
export const withTokenBudget: WithHelper<TokenBudgetOptions, TokenBudget> = defineWith(
  'tokenBudget',
  tokenBudget,
);
