/**
 * Globs for cache policies, invalidation patterns and per-tool token limits, compiled once
 * to a RegExp.
 *
 * - `*` matches any run of characters except `/`;
 * - `**` matches any run of characters, `/` included;
 * - `?` matches one character except `/`;
 * - everything else matches itself.
 *
 * So `get_*` matches tool `get_user`, `file:///docs/*` matches `file:///docs/a.md` but not
 * `file:///docs/sub/b.md`, and `file:///docs/**` matches both.
 */

/** True if `pattern` contains a wildcard. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** The regular-expression source of one glob (no anchors). */
export function globSource(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}

/**
 * Compiles globs to one anchored RegExp that matches if any of them does, or `null` for
 * an empty list (which matches nothing).
 */
export function compileGlobs(patterns: readonly string[]): RegExp | null {
  if (patterns.length === 0) return null;
  return new RegExp(`^(?:${patterns.map(globSource).join('|')})$`, 's');
}
