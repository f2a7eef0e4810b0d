/**
 * Compaction of result text before it is cut: lossless rewrites that cost fewer tokens.
 *
 * - **JSON**: a text that is a pretty-printed JSON document loses the whitespace between
 *   its tokens. Nothing else changes: strings, numbers (`1.0` stays `1.0`, big integers
 *   keep every digit) and key order are copied character for character.
 * - **Whitespace**: spaces and tabs at the end of a line are dropped, and three or more
 *   line breaks in a row become two (one blank line). Indentation and runs of spaces
 *   inside a line (aligned columns, code) are kept.
 * - **Tables** (opt-in): a JSON array of objects with the same keys and only scalar
 *   values becomes a header line and one comma-separated row per object (see
 *   {@link tabulate}). Callers apply it only where it saves enough tokens.
 */

/** The most characters a text may have to be parsed as JSON for compaction (parsing cannot yield). */
export const MAX_JSON_COMPACT_CHARS = 1024 * 1024;

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * `text` without the whitespace outside its strings, when `text` is a JSON object or
 * array that contains a line break; otherwise `undefined`.
 */
export function minifyJson(text: string): string | undefined {
  if (text.length > MAX_JSON_COMPACT_CHARS || !text.includes('\n')) return undefined;
  let first = 0;
  while (first < text.length && isJsonSpace(text.charCodeAt(first))) first++;
  const open = text.charCodeAt(first);
  if (open !== 123 /* { */ && open !== 91 /* [ */) return undefined;
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  let runStart = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (isJsonSpace(c)) {
      if (runStart !== -1) {
        out.push(text.slice(runStart, i));
        runStart = -1;
      }
      continue;
    }
    if (runStart === -1) runStart = i;
    if (c === 34) inString = true;
  }
  if (runStart !== -1) out.push(text.slice(runStart));
  return out.join('');
}

const TRAILING = /[ \t]+(?=\r?\n|$)/g;
const BLANK_RUNS = /(\r?\n)(?:[ \t]*\r?\n){2,}/g;

/**
 * True when {@link collapseWhitespace} may change `text`: a space or tab ends a line or
 * the text, or a line break follows another. One `indexOf` per line, where the regular
 * expressions would try a match at every space.
 */
function mayCollapse(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  if (last === 32 || last === 9) return true;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    let p = i - 1;
    if (p >= 0 && text.charCodeAt(p) === 13) p--;
    if (p < 0) continue;
    const c = text.charCodeAt(p);
    if (c === 32 || c === 9 || c === 10) return true;
  }
  return false;
}

/** `text` with trailing spaces removed and runs of blank lines collapsed to one. */
export function collapseWhitespace(text: string): string {
  if (!mayCollapse(text)) return text;
  return text.replace(TRAILING, '').replace(BLANK_RUNS, '$1$1');
}

/** The compacted form of one text (JSON minified, or whitespace collapsed); the text itself when neither applies. */
export function compactText(text: string): string {
  return minifyJson(text) ?? collapseWhitespace(text);
}

function isScalar(value: unknown): boolean {
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

const PLAIN = /^[^,"\n\r]*$/;
const LOOKS_TYPED = /^(?:-?\d|true$|false$|null$|\s|.*\s$)/;

function cell(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  // A string that could be read back as another type, or that holds a separator, is quoted.
  return value !== '' && PLAIN.test(value) && !LOOKS_TYPED.test(value) ? value : JSON.stringify(value);
}

/**
 * A JSON array of at least two objects with identical keys (in the same order) and only
 * scalar values, written as `[N]{key1,key2,…}:` and one line per object with its values
 * separated by commas (TOON's tabular form). Strings that could be mistaken for another
 * type or that contain a comma, a quote or a line break are written as JSON strings, so
 * the table reads back to the same values. `undefined` for anything else.
 */
export function tabulate(text: string): string | undefined {
  if (text.length > MAX_JSON_COMPACT_CHARS) return undefined;
  let first = 0;
  while (first < text.length && isJsonSpace(text.charCodeAt(first))) first++;
  if (text.charCodeAt(first) !== 91 /* [ */) return undefined;
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(rows) || rows.length < 2) return undefined;
  const head = rows[0];
  if (typeof head !== 'object' || head === null || Array.isArray(head)) return undefined;
  const keys = Object.keys(head);
  if (keys.length === 0 || keys.some((key) => !PLAIN.test(key) || key.includes(':'))) return undefined;
  const lines = [`[${rows.length}]{${keys.join(',')}}:`];
  for (const row of rows) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return undefined;
    const own = Object.keys(row);
    if (own.length !== keys.length) return undefined;
    const cells: string[] = [];
    for (let k = 0; k < keys.length; k++) {
      if (own[k] !== keys[k]) return undefined;
      const value = (row as Record<string, unknown>)[keys[k]!];
      if (!isScalar(value)) return undefined;
      cells.push(cell(value));
    }
    lines.push(cells.join(','));
  }
  return lines.join('\n');
}
