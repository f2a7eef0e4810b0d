/**
 * Tool filter: decides which tools a caller sees, so fewer tool definitions take up the
 * model's context.
 *
 * - **Static rules** ({@link ToolRules}): allow and deny by name, glob or regular
 *   expression (deny wins), by annotations, by tags from `_meta`. `tools/list` keeps the
 *   server's order; a page that filtering empties is skipped (the next page is fetched
 *   transparently, the server's own cursors are kept).
 * - **Per-caller rules**: `caller(ctx)` returns further rules for one caller (principal,
 *   client, session), compiled once per caller and tool-list version.
 * - **Enforcement**: a `tools/call` to a hidden tool gets exactly the answer the server
 *   gives for a tool it does not have (learned once per connection by asking it for a
 *   name that cannot exist), so a hidden tool cannot be told from a missing one.
 * - **Ranking**: with a query (`_meta['io.mcp-perf/query']` on `tools/list`, or
 *   `options.query`), the list is cut to the `topK` most relevant visible tools plus the
 *   pinned ones, by a {@link ToolRanker} (BM25 by default).
 * - **Search mode**: `tools/list` shows only a `search_tools` tool (and the pinned tools);
 *   calling it returns the matching tools' full definitions; every visible tool stays
 *   callable whether it was listed or not.
 * - **Changes**: `setRules()` and a server's `notifications/tools/list_changed` send
 *   callers `notifications/tools/list_changed` through the stack (so a cache outside the
 *   filter drops the lists it holds), and `tools.listChanged` is advertised in the
 *   handshake. On a modern connection a change is delivered only on the caller's
 *   `subscriptions/listen` streams that asked for tool changes, stamped with the
 *   subscription's id, as the modern era requires.
 *
 * @module
 */

import { brandMiddleware, defineWith, type WithHelper } from '../../adapters/with.js';
import { META_SUBSCRIPTION_ID } from '../../core/messages.js';
import type {
  Connection,
  JsonObject,
  JsonRpcNotification,
  MiddlewareObject,
  NotificationContext,
  Reply,
  RequestContext,
  RequestId,
} from '../../core/types.js';
import { ErrorCodes, InvalidOptionError } from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import { withCallerEnvelope } from '../../internal/envelope.js';
import type { TokenCounter } from '../../tokens/types.js';
import { countToolTokens } from '../../tokens/visible.js';
import { principalKey } from '../concurrency/keys.js';
import { bm25Ranker, type ToolIndex, type ToolRanker } from './ranker.js';
import {
  type CompiledRules,
  compileRules,
  metaTags,
  type ToolDefinition,
  type ToolPattern,
  type ToolRules,
} from './rules.js';
import {
  SEARCH_TOOL_DESCRIPTION,
  searchArgumentError,
  searchResult,
  searchToolDefinition,
} from './search.js';

export {
  BM25_DEFAULTS,
  type Bm25Options,
  bm25Ranker,
  TOOL_SYNONYMS,
  type ToolIndex,
  type ToolRanker,
  tokenizeToolText,
} from './ranker.js';
export {
  HINT_DEFAULTS,
  type ToolDefinition,
  type ToolHint,
  type ToolPattern,
  type ToolRules,
} from './rules.js';
export { SEARCH_TOOL_DESCRIPTION } from './search.js';

/** The `_meta` key of a `tools/list` request that carries a ranking query. */
export const TOOL_QUERY_META_KEY = 'io.mcp-perf/query';

/** Emitted for every `tools/list` the filter answered. */
export interface ToolListEvent {
  /** The caller's key (see {@link ToolFilterOptions.callerKey}). */
  caller: string;
  /** Tools the server offered (on the pages read). */
  available: number;
  /** Tools the caller was shown. */
  listed: number;
  /** Definition tokens of the offered tools (0 without {@link ToolFilterOptions.tokens}). */
  tokensBefore: number;
  /** Definition tokens of the tools shown (0 without {@link ToolFilterOptions.tokens}). */
  tokensAfter: number;
  /** The ranking query, when there was one. */
  query: string | undefined;
}

/** Emitted when a call to a hidden tool was refused. */
export interface ToolRejectEvent {
  /** The caller's key. */
  caller: string;
  /** The hidden tool's name. */
  tool: string;
}

/** Emitted for every call of the search tool. */
export interface ToolSearchEvent {
  /** The caller's key. */
  caller: string;
  /** What was searched for. */
  query: string;
  /** The names of the tools returned, best first. */
  found: string[];
}

/** Definition figures of one caller. */
export interface ToolFilterCallerStats {
  /** `tools/list` requests answered. */
  lists: number;
  /** Tools offered over those lists. */
  toolsAvailable: number;
  /** Tools shown over those lists. */
  toolsListed: number;
  /** Definition tokens offered. */
  tokensBefore: number;
  /** Definition tokens shown. */
  tokensAfter: number;
}

/** Live figures of a tool filter (numeric, so `metrics({ sources: [filter] })` reports them). */
export interface ToolFilterStats extends ToolFilterCallerStats {
  /** `tokensBefore - tokensAfter`. */
  tokensSaved: number;
  /** Calls to hidden tools, answered as unknown. */
  rejectedCalls: number;
  /** Calls of the search tool. */
  searches: number;
  /** `notifications/tools/list_changed` sent on the filter's own behalf. */
  listChangedSent: number;
  /** Pages skipped because filtering emptied them. */
  pagesSkipped: number;
}

/** Options of {@link toolFilter}. */
export interface ToolFilterOptions {
  /** Rules every caller is subject to. Default: none (every tool visible). */
  rules?: ToolRules;
  /**
   * Further rules for one caller, from its request context (`ctx.authInfo`,
   * `ctx.session.clientInfo` …); a tool is visible when both these and `rules` allow it.
   * Called once per caller (see `callerKey`) and tool-list version. Default: none.
   */
  caller?: (ctx: RequestContext) => ToolRules | undefined;
  /**
   * Tells callers apart for `caller`, the memo and per-caller stats. Default: the
   * principal (`principalKey`: a digest of the OAuth client with the user or the token, `anonymous`
   * without auth) and the client's name.
   */
  callerKey?: (ctx: RequestContext) => string;
  /** Callers remembered per connection (least recently used dropped first). Default 1000. */
  maxCallers?: number;
  /** Reads a tool's tags for `rules.tags`. Default: the strings in `_meta.tags`. */
  tagsOf?: (tool: ToolDefinition) => readonly string[];
  /**
   * Tools always shown when visible, whatever the query or mode (names, globs or regular
   * expressions). Default: none.
   */
  pinned?: readonly ToolPattern[];
  /** Ranks tools for a query. Default: {@link bm25Ranker}. */
  ranker?: ToolRanker;
  /** Tools a ranked `tools/list` shows (pinned tools come on top). Default 10. */
  topK?: number;
  /**
   * The ranking query of a `tools/list` request, or `undefined` to list without ranking.
   * Default: `params._meta['io.mcp-perf/query']` when it is a non-empty string.
   */
  query?: (ctx: RequestContext) => string | undefined;
  /**
   * `list`: `tools/list` shows the visible tools (ranked when there is a query).
   * `search`: it shows only the search tool and the pinned tools. Default `list`.
   */
  mode?: 'list' | 'search';
  /** The search tool of search mode. */
  searchTool?: {
    /** Its name. Default `search_tools` (it hides a server tool of the same name). */
    name?: string;
    /** Its description. Default: {@link SEARCH_TOOL_DESCRIPTION}. */
    description?: string;
    /** Tools a search returns when the caller gives no `limit`. Default 5. */
    limit?: number;
    /** The largest `limit` a caller may ask for. Default 20. */
    maxLimit?: number;
  };
  /**
   * Advertise `tools.listChanged` in the handshake when the server does not. Default: true
   * when rules, `caller`, `pinned` or search mode are configured; false for a filter
   * created empty (it stays invisible until `setRules()`).
   */
  listChanged?: boolean;
  /** Counts definition tokens before and after filtering. Default: none (no counting). */
  tokens?: TokenCounter;
  /** Pages followed when a filtered page comes out empty or a full list is gathered. Default 100. */
  maxPages?: number;
  /** Called for every `tools/list` answered. */
  onList?: (event: ToolListEvent) => void;
  /** Called for every call to a hidden tool. */
  onReject?: (event: ToolRejectEvent) => void;
  /** Called for every search. */
  onSearch?: (event: ToolSearchEvent) => void;
}

/** The defaults of {@link toolFilter}, each cited in its option's doc comment. */
export const TOOL_FILTER_DEFAULTS = Object.freeze({
  /** {@link ToolFilterOptions.maxCallers}. */
  maxCallers: 1000,
  /** {@link ToolFilterOptions.topK}. */
  topK: 10,
  /** {@link ToolFilterOptions.mode}. */
  mode: 'list' as 'list' | 'search',
  /** {@link ToolFilterOptions.searchTool} `name`. */
  searchToolName: 'search_tools',
  /** {@link ToolFilterOptions.searchTool} `limit`. */
  searchLimit: 5,
  /** {@link ToolFilterOptions.searchTool} `maxLimit`. */
  searchMaxLimit: 20,
  /** {@link ToolFilterOptions.maxPages}. */
  maxPages: 100,
});

/** A tool-filter middleware with live figures and runtime rules. */
export interface ToolFilterMiddleware extends MiddlewareObject {
  /** `toolFilter`. */
  readonly name: string;
  /** Figures over every connection. */
  stats(): ToolFilterStats;
  /** Figures per caller key, in the order first seen (past `maxCallers`, the oldest is dropped). */
  callers(): Map<string, ToolFilterCallerStats>;
  /**
   * Replaces the static rules. Every connection's callers get
   * `notifications/tools/list_changed` (through the stack, so caches outside the filter
   * drop their lists). Throws `InvalidOptionError` for bad rules, keeping the old ones.
   */
  setRules(rules: ToolRules | undefined): void;
  /** The static rules in force. */
  readonly rules: ToolRules | undefined;
}

const WHERE = 'toolFilter';
const LIST_CHANGED: JsonRpcNotification = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };
const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged';
/** A tool name no server has: what a server answers for it is its answer for an unknown tool. */
const PROBE_NAME = `mcp-perf-unknown-tool-${Math.random().toString(36).slice(2, 12)}`;
const NO_TAGS: readonly string[] = Object.freeze([]);

/** One caller's view on one connection: its compiled rules and the decisions made so far. */
interface CallerView {
  readonly key: string;
  readonly rulesVersion: number;
  readonly listVersion: number;
  readonly rules: CompiledRules | undefined;
  readonly everything: boolean;
  readonly needsDefinition: boolean;
  readonly decisions: Map<string, boolean>;
}

/** The server's whole tool list, as gathered once per list version. */
interface Catalog {
  readonly version: number;
  readonly tools: readonly ToolDefinition[];
  readonly byName: ReadonlyMap<string, ToolDefinition>;
  index: ToolIndex | Promise<ToolIndex> | undefined;
}

interface ConnectionState {
  listVersion: number;
  callers: Map<string, CallerView>;
  catalog: Catalog | undefined;
  loading: Promise<Catalog> | undefined;
  unknownAnswer: Promise<string> | undefined;
  tokens: Map<string, number>;
  /** Open `subscriptions/listen` requests (modern era) that asked for tool list changes. */
  listens: Set<RequestId> | undefined;
}

/**
 * Creates a tool filter.
 *
 * @example
 * ```ts
 * // Read-only tools only, no admin tools, and per-user visibility from the token's scopes.
 * const filter = toolFilter({
 *   rules: { annotations: { readOnlyHint: true }, deny: ['admin_*'] },
 *   caller: (ctx) => (ctx.authInfo?.scopes.includes('billing') ? undefined : { deny: ['billing_*'] }),
 * });
 * withMiddleware(server, [filter, cache()]);
 * ```
 */
export function toolFilter(options: ToolFilterOptions = {}): ToolFilterMiddleware {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(WHERE, '', 'an object', options);
  }
  let staticRules = compileRules(WHERE, 'rules', options.rules);
  let rulesSource = options.rules;
  const callerRules = fn('caller', options.caller);
  const callerKeyOf = fn('callerKey', options.callerKey) ?? defaultCallerKey;
  const maxCallers = integer('maxCallers', options.maxCallers, TOOL_FILTER_DEFAULTS.maxCallers);
  const tagsOf = fn('tagsOf', options.tagsOf) ?? metaTags;
  const pinned = compileRules(
    WHERE,
    'pinned',
    options.pinned === undefined ? undefined : { allow: options.pinned },
  );
  const hasPinned = options.pinned !== undefined && options.pinned.length > 0;
  const ranker = options.ranker ?? bm25Ranker();
  if (typeof ranker !== 'object' || ranker === null || typeof ranker.index !== 'function') {
    throw new InvalidOptionError(WHERE, 'ranker', 'a ToolRanker (an object with index())', ranker);
  }
  const topK = integer('topK', options.topK, TOOL_FILTER_DEFAULTS.topK);
  const queryOf = fn('query', options.query) ?? defaultQuery;
  const mode = options.mode ?? TOOL_FILTER_DEFAULTS.mode;
  if (mode !== 'list' && mode !== 'search')
    throw new InvalidOptionError(WHERE, 'mode', '"list" or "search"', mode);
  const search = options.searchTool ?? {};
  if (typeof search !== 'object' || search === null) {
    throw new InvalidOptionError(WHERE, 'searchTool', 'an object', search);
  }
  const searchName = search.name ?? TOOL_FILTER_DEFAULTS.searchToolName;
  if (typeof searchName !== 'string' || searchName === '') {
    throw new InvalidOptionError(WHERE, 'searchTool.name', 'a non-empty string', searchName);
  }
  const searchDescription = search.description ?? SEARCH_TOOL_DESCRIPTION;
  if (typeof searchDescription !== 'string') {
    throw new InvalidOptionError(WHERE, 'searchTool.description', 'a string', searchDescription);
  }
  const searchMaxLimit = integer('searchTool.maxLimit', search.maxLimit, TOOL_FILTER_DEFAULTS.searchMaxLimit);
  const searchLimit = integer(
    'searchTool.limit',
    search.limit,
    Math.min(TOOL_FILTER_DEFAULTS.searchLimit, searchMaxLimit),
  );
  if (searchLimit > searchMaxLimit) {
    throw new InvalidOptionError(
      WHERE,
      'searchTool.limit',
      `at most searchTool.maxLimit (${searchMaxLimit})`,
      searchLimit,
    );
  }
  const searchTool = searchToolDefinition(searchName, searchDescription, searchMaxLimit);
  const counter = options.tokens;
  if (
    counter !== undefined &&
    (typeof counter !== 'object' || counter === null || typeof counter.count !== 'function')
  ) {
    throw new InvalidOptionError(WHERE, 'tokens', 'a TokenCounter', counter);
  }
  const maxPages = integer('maxPages', options.maxPages, TOOL_FILTER_DEFAULTS.maxPages);
  const onList = fn('onList', options.onList);
  const onReject = fn('onReject', options.onReject);
  const onSearch = fn('onSearch', options.onSearch);
  const listChanged =
    options.listChanged ??
    (!staticRules.empty || callerRules !== undefined || hasPinned || mode === 'search');
  if (typeof listChanged !== 'boolean')
    throw new InvalidOptionError(WHERE, 'listChanged', 'a boolean', listChanged);

  const totals: ToolFilterStats = {
    lists: 0,
    toolsAvailable: 0,
    toolsListed: 0,
    tokensBefore: 0,
    tokensAfter: 0,
    tokensSaved: 0,
    rejectedCalls: 0,
    searches: 0,
    listChangedSent: 0,
    pagesSkipped: 0,
  };
  const perCaller = new Map<string, ToolFilterCallerStats>();
  const states = new WeakMap<Connection, ConnectionState>();
  const live = new Set<Connection>();
  let rulesVersion = 0;
  /** True while the filter sends its own list_changed (its hook then has nothing to learn). */
  let emitting = false;

  /** True while the filter hides nothing and has no search tool. */
  const passive = (): boolean => mode === 'list' && staticRules.empty && callerRules === undefined;

  const stateOf = (connection: Connection): ConnectionState => {
    let state = states.get(connection);
    if (state === undefined) {
      state = newState();
      states.set(connection, state);
    }
    return state;
  };

  /** The caller's view, from the memo when neither the rules nor the list changed since. */
  const viewOf = (ctx: RequestContext, state: ConnectionState): CallerView => {
    const key = callerKeyOf(ctx);
    let view = state.callers.get(key);
    if (view !== undefined && view.rulesVersion === rulesVersion && view.listVersion === state.listVersion) {
      if (state.callers.size > 1) {
        state.callers.delete(key);
        state.callers.set(key, view);
      }
      return view;
    }
    const rules = callerRules === undefined ? undefined : compileRules(WHERE, 'caller()', callerRules(ctx));
    const callerEmpty = rules === undefined || rules.empty;
    view = {
      key,
      rulesVersion,
      listVersion: state.listVersion,
      rules: callerEmpty ? undefined : rules,
      everything: staticRules.empty && callerEmpty,
      needsDefinition: staticRules.needsDefinition || (rules?.needsDefinition ?? false),
      decisions: new Map(),
    };
    state.callers.delete(key);
    if (state.callers.size >= maxCallers) {
      const oldest = state.callers.keys().next().value;
      if (oldest !== undefined) state.callers.delete(oldest);
    }
    state.callers.set(key, view);
    return view;
  };

  const visible = (view: CallerView, tool: ToolDefinition): boolean => {
    if (view.everything) return true;
    const name = tool.name;
    let decision = view.decisions.get(name);
    if (decision !== undefined) return decision;
    const tags = view.needsDefinition ? tagsOf(tool) : NO_TAGS;
    decision =
      staticRules.visible(tool, tags) && (view.rules === undefined || view.rules.visible(tool, tags));
    view.decisions.set(name, decision);
    return decision;
  };

  const tokensOf = (state: ConnectionState, tools: readonly ToolDefinition[]): number => {
    if (counter === undefined) return 0;
    let total = 0;
    for (const tool of tools) {
      const name = typeof tool?.name === 'string' ? tool.name : '';
      let n = state.tokens.get(name);
      if (n === undefined) {
        n = countToolTokens(tool, counter);
        state.tokens.set(name, n);
      }
      total += n;
    }
    return total;
  };

  const account = (
    ctx: RequestContext,
    state: ConnectionState,
    view: CallerView,
    offered: readonly ToolDefinition[],
    shown: readonly ToolDefinition[],
    query: string | undefined,
  ): void => {
    const tokensBefore = tokensOf(state, offered);
    const tokensAfter = tokensOf(state, shown);
    totals.lists++;
    totals.toolsAvailable += offered.length;
    totals.toolsListed += shown.length;
    totals.tokensBefore += tokensBefore;
    totals.tokensAfter += tokensAfter;
    totals.tokensSaved = totals.tokensBefore - totals.tokensAfter;
    let mine = perCaller.get(view.key);
    if (mine === undefined) {
      if (perCaller.size >= maxCallers) {
        const oldest = perCaller.keys().next().value;
        if (oldest !== undefined) perCaller.delete(oldest);
      }
      mine = { lists: 0, toolsAvailable: 0, toolsListed: 0, tokensBefore: 0, tokensAfter: 0 };
      perCaller.set(view.key, mine);
    }
    mine.lists++;
    mine.toolsAvailable += offered.length;
    mine.toolsListed += shown.length;
    mine.tokensBefore += tokensBefore;
    mine.tokensAfter += tokensAfter;
    if (onList) {
      emit(ctx, onList, {
        caller: view.key,
        available: offered.length,
        listed: shown.length,
        tokensBefore,
        tokensAfter,
        query,
      });
    }
  };

  /** Reads the server's whole list (every page), once per list version and connection. */
  const catalogOf = (
    ctx: RequestContext,
    state: ConnectionState,
    first?: JsonObject,
  ): Catalog | Promise<Catalog> => {
    const cached = state.catalog;
    if (cached !== undefined && cached.version === state.listVersion) return cached;
    if (first !== undefined && first.nextCursor === undefined && Array.isArray(first.tools)) {
      return setCatalog(state, state.listVersion, first.tools as ToolDefinition[]);
    }
    if (state.loading !== undefined && first === undefined) return state.loading;
    const version = state.listVersion;
    const loading = gather(ctx, first).then(
      (tools) => {
        if (state.loading === loading) state.loading = undefined;
        return version === state.listVersion
          ? setCatalog(state, version, tools)
          : makeCatalog(version, tools);
      },
      (error: unknown) => {
        if (state.loading === loading) state.loading = undefined;
        throw error;
      },
    );
    state.loading = loading;
    return loading;
  };

  const gather = async (ctx: RequestContext, first: JsonObject | undefined): Promise<ToolDefinition[]> => {
    let result = first ?? (await ownList(ctx, undefined));
    const tools: ToolDefinition[] = Array.isArray(result.tools)
      ? [...(result.tools as ToolDefinition[])]
      : [];
    for (let pages = 1; typeof result.nextCursor === 'string' && pages < maxPages; pages++) {
      result = await ownList(ctx, result.nextCursor);
      if (Array.isArray(result.tools)) for (const tool of result.tools as ToolDefinition[]) tools.push(tool);
    }
    return tools;
  };

  /** Asks the handler for one page of `tools/list` on the filter's own behalf. */
  const ownList = async (ctx: RequestContext, cursor: string | undefined): Promise<JsonObject> => {
    const params = withCallerEnvelope(ctx, cursor === undefined ? {} : { cursor });
    const reply = await ctx.connection.request('tools/list', params, { extra: ctx.extra });
    if (reply.error !== undefined) {
      throw new Error(`the server's tools/list failed while the tool filter read it: ${reply.error.message}`);
    }
    return reply.result;
  };

  /** The server's answer to a call of a tool it does not have, addressed to `name`. */
  const unknownTool = async (ctx: RequestContext, state: ConnectionState, name: string): Promise<Reply> => {
    let answer = state.unknownAnswer;
    if (answer === undefined) {
      answer = ctx.connection
        .request('tools/call', withCallerEnvelope(ctx, { name: PROBE_NAME, arguments: {} }), {
          extra: ctx.extra,
        })
        .then((reply) =>
          JSON.stringify(reply.error !== undefined ? { error: reply.error } : { result: reply.result }),
        );
      state.unknownAnswer = answer;
      answer.then(undefined, () => {
        if (state.unknownAnswer === answer) state.unknownAnswer = undefined;
      });
    }
    let text: string;
    try {
      text = await answer;
    } catch {
      return { error: { code: ErrorCodes.InvalidParams, message: `Unknown tool: ${name}` } };
    }
    return JSON.parse(text.split(PROBE_NAME).join(JSON.stringify(name).slice(1, -1))) as Reply;
  };

  const rank = async (
    catalog: Catalog,
    query: string,
    candidates: readonly ToolDefinition[],
    limit: number,
  ) => {
    if (catalog.index === undefined) catalog.index = ranker.index(catalog.tools);
    const index = await catalog.index;
    const allowed = new Set(candidates);
    const positions = await index.search(query, catalog.tools.length);
    const out: ToolDefinition[] = [];
    for (const i of positions) {
      const tool = catalog.tools[i];
      if (tool !== undefined && allowed.has(tool)) {
        out.push(tool);
        if (out.length >= limit) break;
      }
    }
    return out;
  };

  // ---- tools/list ----

  const listTools = async (ctx: RequestContext, next: () => Promise<Reply>): Promise<Reply> => {
    const state = stateOf(ctx.connection);
    const view = viewOf(ctx, state);
    const query = mode === 'list' ? queryOf(ctx) : undefined;
    if (
      view.everything &&
      callerRules === undefined &&
      mode === 'list' &&
      query === undefined &&
      !hasPinned
    ) {
      return next();
    }
    const reply = await next();
    const result = reply.result;
    if (result === undefined || !Array.isArray(result.tools)) return reply;
    if (mode === 'search' || query !== undefined) return listRanked(ctx, state, view, result, query);
    return listPage(ctx, state, view, reply, result);
  };

  const listPage = async (
    ctx: RequestContext,
    state: ConnectionState,
    view: CallerView,
    reply: Reply,
    result: JsonObject,
  ): Promise<Reply> => {
    let page = result;
    let offered = page.tools as ToolDefinition[];
    let shown = offered.filter((tool) => visible(view, tool));
    let allOffered: ToolDefinition[] = offered;
    let pages = 1;
    while (shown.length === 0 && typeof page.nextCursor === 'string' && pages < maxPages) {
      page = await ownList(ctx, page.nextCursor);
      pages++;
      totals.pagesSkipped++;
      offered = Array.isArray(page.tools) ? (page.tools as ToolDefinition[]) : [];
      allOffered = allOffered.concat(offered);
      shown = offered.filter((tool) => visible(view, tool));
    }
    if (
      state.catalog?.version !== state.listVersion &&
      page === result &&
      typeof result.nextCursor !== 'string' &&
      ctx.params?.cursor === undefined
    ) {
      setCatalog(state, state.listVersion, allOffered);
    }
    account(ctx, state, view, allOffered, shown, undefined);
    if (page === result && shown.length === offered.length) return reply;
    const out: JsonObject = { ...result, tools: shown };
    if (typeof page.nextCursor === 'string') out.nextCursor = page.nextCursor;
    else delete out.nextCursor;
    return { result: out };
  };

  const listRanked = async (
    ctx: RequestContext,
    state: ConnectionState,
    view: CallerView,
    first: JsonObject,
    query: string | undefined,
  ): Promise<Reply> => {
    const catalog = await catalogOf(ctx, state, ctx.params?.cursor === undefined ? first : undefined);
    const candidates = catalog.tools.filter((tool) => visible(view, tool));
    const keep = new Set<ToolDefinition>();
    if (hasPinned) for (const tool of candidates) if (pinned.visible(tool, NO_TAGS)) keep.add(tool);
    if (query !== undefined) for (const tool of await rank(catalog, query, candidates, topK)) keep.add(tool);
    let shown = candidates.filter((tool) => keep.has(tool));
    if (mode === 'search') shown = [searchTool, ...shown.filter((tool) => tool.name !== searchName)];
    account(ctx, state, view, catalog.tools, shown, query);
    const out: JsonObject = { ...first, tools: shown };
    delete out.nextCursor;
    // A ranked list answers one query: no one may keep it for another.
    if (out.ttlMs !== undefined) out.ttlMs = 0;
    if (out.cacheScope !== undefined) out.cacheScope = 'private';
    return { result: out };
  };

  // ---- tools/call ----

  const callTool = async (ctx: RequestContext, next: () => Promise<Reply>): Promise<Reply> => {
    const name = ctx.params?.name;
    if (typeof name !== 'string') return next();
    const state = stateOf(ctx.connection);
    if (mode === 'search' && name === searchName) return runSearch(ctx, state);
    const view = viewOf(ctx, state);
    if (view.everything) return next();
    let tool: ToolDefinition | undefined;
    if (view.needsDefinition) {
      tool = (await catalogOf(ctx, state)).byName.get(name);
      // A tool the server does not have: its own answer is the right one.
      if (tool === undefined) return next();
    } else tool = { name };
    if (visible(view, tool)) return next();
    totals.rejectedCalls++;
    if (onReject) emit(ctx, onReject, { caller: view.key, tool: name });
    return unknownTool(ctx, state, name);
  };

  const runSearch = async (ctx: RequestContext, state: ConnectionState): Promise<Reply> => {
    const args = ctx.params?.arguments as JsonObject | undefined;
    const query = args?.query;
    if (typeof query !== 'string' || query.trim() === '') {
      return { result: searchArgumentError(searchName, 'arguments.query must be a non-empty string') };
    }
    const limit = args?.limit ?? searchLimit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > searchMaxLimit) {
      return {
        result: searchArgumentError(
          searchName,
          `arguments.limit must be an integer from 1 to ${searchMaxLimit}`,
        ),
      };
    }
    const view = viewOf(ctx, state);
    const catalog = await catalogOf(ctx, state);
    const candidates = catalog.tools.filter((tool) => visible(view, tool) && tool.name !== searchName);
    const found = await rank(catalog, query, candidates, limit);
    totals.searches++;
    if (onSearch) emit(ctx, onSearch, { caller: view.key, query, found: found.map((t) => t.name) });
    return { result: searchResult(found) };
  };

  // ---- handshake ----

  const advertise = async (next: () => Promise<Reply>): Promise<Reply> => {
    const reply = await next();
    const result = reply.result;
    const capabilities = result?.capabilities as JsonObject | undefined;
    const tools = capabilities?.tools as JsonObject | undefined;
    if (result === undefined || typeof tools !== 'object' || tools === null || tools.listChanged === true)
      return reply;
    return {
      result: { ...result, capabilities: { ...capabilities, tools: { ...tools, listChanged: true } } },
    };
  };

  // ---- modern-era change delivery ----

  /** Remembers a caller's listen stream that wants tool changes, for as long as it is open. */
  const listen = (ctx: RequestContext, next: () => Promise<Reply>): Promise<Reply> => {
    const wanted = ctx.params?.notifications as JsonObject | undefined;
    if (wanted?.toolsListChanged !== true) return next();
    const state = stateOf(ctx.connection);
    state.listens ??= new Set();
    const listens = state.listens;
    listens.add(ctx.id);
    const forget = () => void listens.delete(ctx.id);
    const reply = next();
    reply.then(forget, forget);
    return reply;
  };

  /**
   * The server acknowledges only what its own capabilities promise; where the filter
   * advertised `tools.listChanged` on its behalf, the acknowledgement says so too.
   */
  const acknowledge = (nctx: NotificationContext): JsonRpcNotification | undefined => {
    const params = nctx.message.params;
    const id = (params?._meta as JsonObject | undefined)?.[META_SUBSCRIPTION_ID] as RequestId | undefined;
    const honored = params?.notifications as JsonObject | undefined;
    if (id === undefined || honored?.toolsListChanged === true) return undefined;
    if (states.get(nctx.connection)?.listens?.has(id) !== true) return undefined;
    return { ...nctx.message, params: { ...params, notifications: { ...honored, toolsListChanged: true } } };
  };

  /** Tells a connection's caller that its list changed, in the way its era delivers changes. */
  const announce = (connection: Connection): void => {
    if (connection.session.era !== 'modern') {
      totals.listChangedSent++;
      connection.notify(LIST_CHANGED, 'caller', { throughStack: true });
      return;
    }
    // The modern era never delivers a change nobody subscribed to.
    for (const id of states.get(connection)?.listens ?? []) {
      totals.listChangedSent++;
      connection.notify({ ...LIST_CHANGED, params: { _meta: { [META_SUBSCRIPTION_ID]: id } } }, 'caller', {
        throughStack: true,
      });
    }
  };

  const filter: ToolFilterMiddleware = {
    name: 'toolFilter',
    request: function toolFilter(ctx, next) {
      switch (ctx.method) {
        case 'tools/list':
          return listTools(ctx, next);
        case 'tools/call':
          // Nothing hidden and no search tool: a call goes on untouched, at no cost.
          return passive() ? next() : callTool(ctx, next);
        case 'initialize':
        case 'server/discover':
          return listChanged ? advertise(next) : next();
        case 'subscriptions/listen':
          return listen(ctx, next);
        default:
          return next();
      }
    },
    // A passive filter has nothing to do with a call: calls then skip it altogether.
    handles: function toolFilterHandles(method) {
      switch (method) {
        case 'tools/call':
          return !passive();
        case 'initialize':
        case 'server/discover':
          return listChanged;
        case 'tools/list':
        case 'subscriptions/listen':
          return true;
        default:
          return false;
      }
    },
    // An early answer (a client-side cache hit further in) may pass through the filter only
    // where the filter would have let the request through untouched.
    early: function toolFilterEarly(ctx, next) {
      switch (ctx.method) {
        case 'tools/call':
          return passive() ? next() : undefined;
        case 'tools/list':
          return passive() && !hasPinned && queryOf(ctx) === undefined ? next() : undefined;
        default:
          return next();
      }
    },
    notification: function toolFilterNotification(nctx: NotificationContext) {
      if (nctx.from !== 'handler' || emitting) return undefined;
      if (nctx.message.method === ACKNOWLEDGED) return listChanged ? acknowledge(nctx) : undefined;
      if (nctx.message.method !== LIST_CHANGED.method) return undefined;
      const state = states.get(nctx.connection);
      if (state !== undefined) {
        state.listVersion++;
        state.catalog = undefined;
        state.tokens.clear();
      }
      return undefined;
    },
    attach(connection) {
      live.add(connection);
      return () => {
        live.delete(connection);
      };
    },
    stats: () => ({ ...totals }),
    callers: () => {
      const out = new Map<string, ToolFilterCallerStats>();
      for (const [key, figures] of perCaller) out.set(key, { ...figures });
      return out;
    },
    setRules(rules) {
      const compiled = compileRules(WHERE, 'rules', rules);
      const wasPassive = passive();
      staticRules = compiled;
      rulesSource = rules;
      rulesVersion++;
      if (passive() !== wasPassive) for (const connection of live) connection.restack?.();
      emitting = true;
      try {
        for (const connection of live) if (!connection.closed) announce(connection);
      } finally {
        emitting = false;
      }
    },
    get rules() {
      return rulesSource;
    },
  };
  return brandMiddleware(filter, 'toolFilter');
}

/**
 * Adds a tool filter to an MCP server, client or transport: the same as
 * `withMiddleware(target, [toolFilter(options)])`. Pass an instance made by
 * {@link toolFilter} to keep a handle on its `stats()` and `setRules()`. Returns the
 * target; on a bare transport (with `{ side }`), the wrapping transport.
 *
 * @example
 * ```ts
 * withToolFilter(server, { rules: { deny: ['*_delete', /^admin/] } });
 * ```
 */
export const withToolFilter: WithHelper<ToolFilterOptions, ToolFilterMiddleware> = defineWith(
  'toolFilter',
  toolFilter,
);

function newState(): ConnectionState {
  return {
    listVersion: 0,
    callers: new Map(),
    catalog: undefined,
    loading: undefined,
    unknownAnswer: undefined,
    tokens: new Map(),
    listens: undefined,
  };
}

function makeCatalog(version: number, tools: readonly ToolDefinition[]): Catalog {
  const byName = new Map<string, ToolDefinition>();
  for (const tool of tools)
    if (typeof tool?.name === 'string' && !byName.has(tool.name)) byName.set(tool.name, tool);
  return { version, tools, byName, index: undefined };
}

function setCatalog(state: ConnectionState, version: number, tools: readonly ToolDefinition[]): Catalog {
  const catalog = makeCatalog(version, tools);
  state.catalog = catalog;
  return catalog;
}

function defaultCallerKey(ctx: RequestContext): string {
  return `${principalKey(ctx)}\u0000${ctx.session.clientInfo?.name ?? ''}`;
}

function defaultQuery(ctx: RequestContext): string | undefined {
  const meta = ctx.params?._meta as JsonObject | undefined;
  const query = meta?.[TOOL_QUERY_META_KEY];
  return typeof query === 'string' && query.trim() !== '' ? query : undefined;
}

function emit<E>(ctx: RequestContext, listener: (event: E) => void, event: E): void {
  try {
    listener(event);
  } catch (error) {
    ctx.connection.reportError(asError(error));
  }
}

function fn<F>(option: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(WHERE, option, 'a function', value);
  }
  return value;
}

function integer(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(WHERE, option, 'a positive integer', value);
  }
  return value;
}
