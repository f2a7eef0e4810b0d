import { ConfigError, type ConfigIssue, formatPath } from './errors.js';

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` in every string of a parsed config with the environment variable
 * `NAME`, and `${NAME:-fallback}` with `fallback` when `NAME` is unset or empty; `$${`
 * stands for a literal `${`. A reference to an unset variable without a fallback is an
 * error naming the path and the variable. Returns a new value; the input is not changed.
 *
 * @example
 * ```ts
 * interpolateEnv({ url: '${REDIS_URL}' }, { REDIS_URL: 'redis://127.0.0.1:6379' });
 * // { url: 'redis://127.0.0.1:6379' }
 * ```
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv = process.env): unknown {
  const issues: ConfigIssue[] = [];
  const result = walk(value, [], env, issues);
  if (issues.length !== 0) throw new ConfigError(issues);
  return result;
}

function walk(
  value: unknown,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): unknown {
  if (typeof value === 'string') return value.includes('${') ? substitute(value, path, env, issues) : value;
  if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, i], env, issues));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = walk(item, [...path, key], env, issues);
    return out;
  }
  return value;
}

function substitute(
  text: string,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
): string {
  return text.replace(REFERENCE, (whole, name: string | undefined, fallback: string | undefined) => {
    if (name === undefined) return '${';
    const set = env[name];
    if (set !== undefined && set !== '') return set;
    if (fallback !== undefined) return fallback;
    issues.push({
      path: formatPath(path),
      message: `environment variable ${name} is not set (referenced as ${whole}; use \${${name}:-default} for a fallback)`,
    });
    return whole;
  });
}
