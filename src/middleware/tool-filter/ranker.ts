/**
 * Ranking tools by relevance to a query. {@link ToolRanker} is the pluggable interface
 * (an embedding ranker implements the same two steps); {@link bm25Ranker} is the built-in
 * lexical one: BM25 over each tool's name, title, description and parameter names and
 * descriptions, identifiers split at camelCase, snake_case and kebab-case boundaries,
 * English words stemmed. It runs in-process: no network, no model.
 *
 * @module
 */

import MiniSearch from 'minisearch';
import { stemmer } from 'stemmer';
import { InvalidOptionError } from '../../errors/index.js';
import type { ToolDefinition } from './rules.js';

const WHERE = 'bm25Ranker';
/** A synonym counts for less than the word the caller wrote. */
const SYNONYM_WEIGHT = 0.5;

/**
 * Searches one tool list, built by {@link ToolRanker.index}. `search` answers the
 * positions (in the indexed list) of the tools relevant to `query`, best first, at most
 * `limit` of them; tools with no relevance at all are left out.
 */
export interface ToolIndex {
  /** The positions of the tools relevant to `query`, best first, at most `limit`. */
  search(query: string, limit: number): readonly number[] | Promise<readonly number[]>;
}

/**
 * Ranks tools by relevance to a query. `index` is called once per tool list (each time
 * the server's list changes) and may do the expensive work there (embedding every
 * description); `search` is called per query.
 *
 * @example
 * ```ts
 * // An embedding ranker: embed each tool once, the query per search.
 * const embeddings: ToolRanker = {
 *   name: 'embeddings',
 *   async index(tools) {
 *     const vectors = await embed(tools.map((t) => `${t.name}: ${t.description ?? ''}`));
 *     return {
 *       async search(query, limit) {
 *         const q = (await embed([query]))[0];
 *         return topByCosine(q, vectors, limit);
 *       },
 *     };
 *   },
 * };
 * toolFilter({ ranker: embeddings, topK: 8 });
 * ```
 */
export interface ToolRanker {
  /** Shown in stats and errors, e.g. `bm25`. */
  readonly name: string;
  /** Builds the index of one tool list. */
  index(tools: readonly ToolDefinition[]): ToolIndex | Promise<ToolIndex>;
}

/** Field weights of {@link bm25Ranker}. */
export interface Bm25Options {
  /** Weight of the tool's name. Default 3. */
  name?: number;
  /** Weight of the tool's title. Default 2. */
  title?: number;
  /** Weight of the tool's description. Default 1. */
  description?: number;
  /** Weight of the names of its input parameters. Default 1. */
  parameters?: number;
  /** Weight of the descriptions of its input parameters. Default 0.5. */
  parameterDescriptions?: number;
  /** Groups of interchangeable query words. Default {@link TOOL_SYNONYMS}; `[]` for none. */
  synonyms?: readonly (readonly string[])[];
}

/**
 * Words a request and a tool description use for the same thing. A query word from one
 * group also searches for the others (a lexical ranker's stand-in for meaning); extend or
 * replace it with {@link Bm25Options.synonyms}.
 */
export const TOOL_SYNONYMS: readonly (readonly string[])[] = Object.freeze([
  ['folder', 'directory'],
  ['remove', 'delete', 'erase', 'trash', 'discard'],
  ['find', 'search', 'lookup', 'locate', 'query'],
  ['show', 'list', 'display', 'view'],
  ['inside', 'content', 'contents', 'read', 'open'],
  ['meeting', 'event', 'appointment', 'calendar', 'schedule', 'agenda'],
  ['available', 'free', 'availability'],
  ['stop', 'cancel', 'terminate', 'end'],
  ['plan', 'subscription', 'recurring'],
  ['email', 'mail', 'inbox', 'message'],
  ['refund', 'reimburse'],
  ['bug', 'issue', 'ticket'],
  ['pr', 'pull'],
  ['rename', 'move'],
  ['spend', 'spending', 'cost', 'costs', 'billing'],
  ['vm', 'instance', 'server'],
  ['reply', 'respond', 'answer'],
  ['summarize', 'summary', 'summarise'],
  ['repo', 'repository'],
]);

/** The defaults of {@link bm25Ranker}. */
export const BM25_DEFAULTS = Object.freeze({
  /** {@link Bm25Options.name}. */
  name: 3,
  /** {@link Bm25Options.title}. */
  title: 2,
  /** {@link Bm25Options.description}. */
  description: 1,
  /** {@link Bm25Options.parameters}. */
  parameters: 1,
  /** {@link Bm25Options.parameterDescriptions}. */
  parameterDescriptions: 0.5,
});

/** Words too common in tool descriptions and requests to tell tools apart. */
const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be by can do does for from get give has have how i if in into is it its ' +
    'me my of on one or our please show so that the their them then these this those to up use ' +
    'was we what when which who will with you your'
  ).split(' '),
);

const CAMEL = /([\p{Ll}\p{N}])(\p{Lu})/gu;
const ACRONYM = /(\p{Lu}+)(\p{Lu}\p{Ll})/gu;
const SEPARATORS = /[^\p{L}\p{N}]+/u;

/**
 * Splits text into words, breaking identifiers at camelCase, snake_case and kebab-case
 * boundaries: `listWorkflowRuns` and `list_workflow_runs` both give `list`, `Workflow`,
 * `Runs` / `list`, `workflow`, `runs`.
 */
export function tokenizeToolText(text: string): string[] {
  return text.replace(CAMEL, '$1 $2').replace(ACRONYM, '$1 $2').split(SEPARATORS);
}

/** Stems already computed: tool vocabularies are small and repeat, the stemmer is not free. */
const STEMS = new Map<string, string | null>();
const STEMS_MAX = 50_000;

/** Lower-cases, drops stop words and stems a word (`null` when it carries no signal). */
function processTerm(term: string): string | null {
  if (term.length === 0) return null;
  let stem = STEMS.get(term);
  if (stem !== undefined) return stem;
  const lower = term.toLowerCase();
  stem = STOPWORDS.has(lower) ? null : stemmer(lower);
  if (STEMS.size >= STEMS_MAX) STEMS.clear();
  STEMS.set(term, stem);
  return stem;
}

interface Doc {
  id: number;
  name: string;
  title: string;
  description: string;
  parameters: string;
  parameterDescriptions: string;
}

function docOf(tool: ToolDefinition, id: number): Doc {
  const properties = (tool.inputSchema as { properties?: unknown } | undefined)?.properties;
  let parameters = '';
  let parameterDescriptions = '';
  if (typeof properties === 'object' && properties !== null) {
    for (const [key, schema] of Object.entries(properties)) {
      parameters += `${key} `;
      const description = (schema as { description?: unknown } | null)?.description;
      if (typeof description === 'string') parameterDescriptions += `${description} `;
    }
  }
  return {
    id,
    name: tool.name,
    title: typeof tool.title === 'string' ? tool.title : '',
    description: typeof tool.description === 'string' ? tool.description : '',
    parameters,
    parameterDescriptions,
  };
}

/**
 * The built-in lexical ranker: BM25 (MiniSearch's BM25+) over name, title, description
 * and parameter names and descriptions, weighted per field ({@link BM25_DEFAULTS}).
 * Query words match by stem and by prefix (`sched` finds `schedule`), at a discount.
 *
 * @example
 * ```ts
 * toolFilter({ ranker: bm25Ranker({ description: 1.5 }), topK: 5 });
 * ```
 */
export function bm25Ranker(options: Bm25Options = {}): ToolRanker {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(WHERE, '', 'an object', options);
  }
  const { synonyms = TOOL_SYNONYMS, ...weights } = options;
  const boost: Record<string, number> = { ...BM25_DEFAULTS };
  for (const [field, weight] of Object.entries(weights)) {
    if (!(field in BM25_DEFAULTS)) {
      throw new InvalidOptionError(WHERE, field, `one of ${Object.keys(BM25_DEFAULTS).join(', ')}`, field);
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new InvalidOptionError(WHERE, field, 'a non-negative number', weight);
    }
    boost[field] = weight;
  }
  const expansions = expansionsOf(synonyms);
  const queryTerm = (term: string): string | string[] | null => {
    const stem = processTerm(term);
    if (stem === null) {
      const lower = term.toLowerCase();
      return expansions.get(stemmer(lower)) ?? null;
    }
    return expansions.get(stem) ?? stem;
  };
  const fields = Object.keys(BM25_DEFAULTS);
  return {
    name: 'bm25',
    index(tools) {
      const engine = new MiniSearch<Doc>({
        fields,
        storeFields: [],
        tokenize: tokenizeToolText,
        processTerm,
        searchOptions: {
          boost,
          prefix: (term) => term.length >= 4,
          weights: { fuzzy: 0.3, prefix: 0.3 },
          combineWith: 'OR',
          processTerm: queryTerm,
        },
      });
      engine.addAll(tools.map(docOf));
      return {
        search(query, limit) {
          const asked = new Set<string>();
          for (const word of tokenizeToolText(query)) {
            const stem = processTerm(word);
            if (stem !== null) asked.add(stem);
          }
          const hits = engine.search(query, {
            boostTerm: (term) => (asked.has(term) ? 1 : SYNONYM_WEIGHT),
          });
          const out: number[] = [];
          for (let i = 0; i < hits.length && out.length < limit; i++) out.push(hits[i]!.id as number);
          return out;
        },
      };
    },
  };
}

/** Each stemmed word of a synonym group, mapped to the stems of its whole group. */
function expansionsOf(groups: unknown): Map<string, string[]> {
  if (
    !Array.isArray(groups) ||
    !groups.every((g) => Array.isArray(g) && g.every((w) => typeof w === 'string'))
  ) {
    throw new InvalidOptionError(WHERE, 'synonyms', 'an array of arrays of words', groups);
  }
  const out = new Map<string, string[]>();
  for (const group of groups as string[][]) {
    const stems = [...new Set(group.map((w) => stemmer(w.toLowerCase())))];
    for (const stem of stems) {
      const known = out.get(stem);
      out.set(stem, known === undefined ? stems : [...new Set([...known, ...stems])]);
    }
  }
  return out;
}
