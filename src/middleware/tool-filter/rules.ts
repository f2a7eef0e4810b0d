/**
 * Static visibility rules for tools: allow and deny by name (exact, glob or regular
 * expression; deny wins), by annotations and by tags read from a tool's `_meta`,
 * compiled once to one predicate.
 *
 * @module
 */

import { InvalidOptionError } from '../../errors/index.js';
import { compileGlobs, isGlob } from '../cache/glob.js';

/** A tool definition, as an entry of a `tools/list` result carries it. */
export interface ToolDefinition {
  /** The tool's name. */
  name: string;
  /** A display title. */
  title?: string;
  /** What the tool does, for the model. */
  description?: string;
  /** The JSON Schema of its arguments. */
  inputSchema?: unknown;
  /** Behaviour hints (`readOnlyHint` …). */
  annotations?: Record<string, unknown>;
  /** Extension data, where tags live. */
  _meta?: Record<string, unknown>;
  /** Further fields, passed on untouched. */
  [key: string]: unknown;
}

/**
 * A tool name pattern: an exact name, a glob (`*` any run of characters except `/`, `**`
 * any run, `?` one character), or a regular expression (tested against the whole name as
 * written; anchor it yourself).
 */
export type ToolPattern = string | RegExp;

/** The tool annotations a rule can test. */
export type ToolHint = 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint';

/** The value the MCP specification gives each hint a tool does not declare. */
export const HINT_DEFAULTS: Readonly<Record<ToolHint, boolean>> = Object.freeze({
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
});

/**
 * Which tools are visible. Every part that is given must agree; `deny` wins over `allow`.
 *
 * @example
 * ```ts
 * const rules: ToolRules = {
 *   allow: ['github_*', /^git_/],
 *   deny: ['github_delete_*'],
 *   annotations: { destructiveHint: false },
 *   tags: { deny: ['admin'] },
 * };
 * ```
 */
export interface ToolRules {
  /** Only tools whose name matches one of these are visible. Default: every tool. */
  allow?: readonly ToolPattern[];
  /** Tools whose name matches one of these are hidden, even if allowed. */
  deny?: readonly ToolPattern[];
  /**
   * Hints a visible tool must have, e.g. `{ readOnlyHint: true }` (only read-only tools) or
   * `{ destructiveHint: false }` (hide destructive ones). A hint the tool does not declare
   * takes the specification's default ({@link HINT_DEFAULTS}): an unannotated tool counts
   * as possibly destructive, so `{ destructiveHint: false }` hides it too; a tool marked
   * `readOnlyHint: true` is never destructive.
   */
  annotations?: Partial<Record<ToolHint, boolean>>;
  /**
   * Tags, read from the tool's `_meta` (see `ToolFilterOptions.tagsOf`): with `allow`, a
   * visible tool has at least one of these tags; a tool with any tag in `deny` is hidden.
   */
  tags?: {
    /** A visible tool has at least one of these tags. */
    allow?: readonly string[];
    /** A tool with any of these tags is hidden. */
    deny?: readonly string[];
  };
}

/** A compiled {@link ToolRules}: a predicate, and whether it reads more than the name. */
export interface CompiledRules {
  /** True when the tool is visible. */
  visible(tool: ToolDefinition, tags: readonly string[]): boolean;
  /** True when `visible` reads annotations or tags, so a decision needs the tool's definition. */
  readonly needsDefinition: boolean;
  /** True when the rules hide nothing. */
  readonly empty: boolean;
}

interface NameMatcher {
  exact: ReadonlySet<string>;
  glob: RegExp | null;
  regexps: readonly RegExp[];
}

const HINTS: readonly ToolHint[] = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'];

function nameMatcher(where: string, option: string, patterns: unknown): NameMatcher | undefined {
  if (patterns === undefined) return undefined;
  if (!Array.isArray(patterns)) {
    throw new InvalidOptionError(where, option, 'an array of names, globs or regular expressions', patterns);
  }
  const exact = new Set<string>();
  const globs: string[] = [];
  const regexps: RegExp[] = [];
  patterns.forEach((p: unknown, i) => {
    if (typeof p === 'string' && p.length > 0) {
      if (isGlob(p)) globs.push(p);
      else exact.add(p);
    } else if (p instanceof RegExp) {
      // A global or sticky expression keeps state between tests; a copy without those flags does not.
      regexps.push(p.global || p.sticky ? new RegExp(p.source, p.flags.replace(/[gy]/g, '')) : p);
    } else {
      throw new InvalidOptionError(where, `${option}[${i}]`, 'a non-empty string or a RegExp', p);
    }
  });
  return { exact, glob: compileGlobs(globs), regexps };
}

function matches(m: NameMatcher, name: string): boolean {
  if (m.exact.has(name)) return true;
  if (m.glob?.test(name)) return true;
  for (let i = 0; i < m.regexps.length; i++) if (m.regexps[i]!.test(name)) return true;
  return false;
}

function stringSet(where: string, option: string, value: unknown): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new InvalidOptionError(where, option, 'an array of strings', value);
  }
  return new Set(value as string[]);
}

/**
 * Validates and compiles rules. `where` and `option` name them in errors
 * (`toolFilter: options.rules.deny[2] must be …`).
 */
export function compileRules(where: string, option: string, rules: ToolRules | undefined): CompiledRules {
  if (rules === undefined) return { visible: () => true, needsDefinition: false, empty: true };
  if (typeof rules !== 'object' || rules === null) {
    throw new InvalidOptionError(where, option, 'an object of rules', rules);
  }
  const allow = nameMatcher(where, `${option}.allow`, rules.allow);
  const deny = nameMatcher(where, `${option}.deny`, rules.deny);
  let hints: [ToolHint, boolean][] | undefined;
  if (rules.annotations !== undefined) {
    if (typeof rules.annotations !== 'object' || rules.annotations === null) {
      throw new InvalidOptionError(where, `${option}.annotations`, 'an object of hints', rules.annotations);
    }
    hints = [];
    for (const [hint, value] of Object.entries(rules.annotations)) {
      if (!HINTS.includes(hint as ToolHint)) {
        throw new InvalidOptionError(where, `${option}.annotations`, `hints among ${HINTS.join(', ')}`, hint);
      }
      if (typeof value !== 'boolean') {
        throw new InvalidOptionError(where, `${option}.annotations.${hint}`, 'a boolean', value);
      }
      hints.push([hint as ToolHint, value]);
    }
    if (hints.length === 0) hints = undefined;
  }
  if (rules.tags !== undefined && (typeof rules.tags !== 'object' || rules.tags === null)) {
    throw new InvalidOptionError(where, `${option}.tags`, 'an object with allow and/or deny', rules.tags);
  }
  const tagAllow = stringSet(where, `${option}.tags.allow`, rules.tags?.allow);
  const tagDeny = stringSet(where, `${option}.tags.deny`, rules.tags?.deny);
  const needsDefinition = hints !== undefined || tagAllow !== undefined || tagDeny !== undefined;
  const empty = allow === undefined && deny === undefined && !needsDefinition;
  return {
    needsDefinition,
    empty,
    visible(tool, tags) {
      const name = tool.name;
      if (deny !== undefined && matches(deny, name)) return false;
      if (allow !== undefined && !matches(allow, name)) return false;
      if (hints !== undefined) {
        const annotations = tool.annotations;
        for (const [hint, wanted] of hints) if (effectiveHint(annotations, hint) !== wanted) return false;
      }
      if (tagDeny !== undefined) for (const tag of tags) if (tagDeny.has(tag)) return false;
      if (tagAllow !== undefined && !tags.some((tag) => tagAllow.has(tag))) return false;
      return true;
    },
  };
}

/**
 * A hint's value for a tool: as declared, else the specification's default; a read-only
 * tool is never destructive (the specification gives `destructiveHint` meaning only for
 * tools that are not read-only).
 */
function effectiveHint(annotations: Record<string, unknown> | undefined, hint: ToolHint): boolean {
  if (hint === 'destructiveHint' && annotations?.readOnlyHint === true) return false;
  const declared = annotations?.[hint];
  return typeof declared === 'boolean' ? declared : HINT_DEFAULTS[hint];
}

/** The default `tagsOf`: the string entries of `_meta.tags`. */
export function metaTags(tool: ToolDefinition): readonly string[] {
  const tags = tool._meta?.tags;
  if (!Array.isArray(tags)) return NO_TAGS;
  return tags.every((t) => typeof t === 'string')
    ? (tags as string[])
    : tags.filter((t) => typeof t === 'string');
}

const NO_TAGS: readonly string[] = Object.freeze([]);
