import { isInvalidOptionError, isMcpPerfError, McpPerfError } from '../errors/index.js';

/** One problem found in a config: where (`middleware[2].cache.ttlMs`) and what. */
export interface ConfigIssue {
  /** The path of the offending value, `(root)` for the document itself. */
  readonly path: string;
  /** What is wrong with it. */
  readonly message: string;
}

/**
 * A config that cannot be used: unparsable, invalid against the schema, or naming an
 * unset environment variable. `issues` lists every problem found; the message has one
 * line per issue, `path: problem`.
 */
export class ConfigError extends McpPerfError {
  /** Every problem found. */
  readonly issues: readonly ConfigIssue[];

  /**
   * @param issues - the problems, at least one
   * @param source - where the config came from (a file name), prefixed to the message
   */
  constructor(issues: readonly ConfigIssue[], source?: string) {
    const lines = issues.map((issue) => `${issue.path}: ${issue.message}`);
    const head = source === undefined ? 'invalid config' : `invalid config ${source}`;
    super('invalid_config', `${head}:\n  ${lines.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** True for a {@link ConfigError} (of any installed copy of the library). */
export function isConfigError(error: unknown): error is ConfigError {
  return isMcpPerfError(error) && error.code === 'invalid_config';
}

/** `['middleware', 2, 'cache', 'ttlMs']` → `middleware[2].cache.ttlMs`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Places an option error of a factory the config calls for a nested block (a store's
 * `memoryStore` for `store.memory`) under that block's path, so the config error names
 * the option where the file has it: `maxBytes` becomes `store.memory.maxBytes`. Answers
 * `error` (anything else unchanged).
 */
export function placeOption(error: unknown, path: string): unknown {
  if (isInvalidOptionError(error)) (error as { option: string }).option = `${path}.${error.option}`;
  return error;
}

/** `open()`, with an option error it throws placed under `path` (see {@link placeOption}). */
export async function openUnder<T>(path: string, open: () => T | Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    throw placeOption(error, path);
  }
}
