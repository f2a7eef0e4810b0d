/**
 * Counting large texts without stalling the event loop.
 *
 * A tokenizer's cost grows with the text (and much faster than linearly inside one
 * pre-token: a 16 KB run of CJK characters without punctuation took `tiktoken` seconds).
 * The helpers here cut a text into slices at **pre-token boundaries** — positions where
 * the tokenizer's own pre-tokenizer (the regular expression of `o200k_base` and
 * `cl100k_base`) splits anyway — so the sum of the slices' counts equals the count of the
 * whole text, and count the slices one by one, yielding to the event loop between them.
 *
 * A position is a pre-token boundary when the character before it is a letter and the
 * one at it is neither a letter, a combining mark nor an apostrophe, or the character
 * before it is a digit and the one at it is not a digit: no alternative of either
 * encoding's pattern continues a letter or digit run across such a pair.
 *
 * @module
 */

import { performance } from 'node:perf_hooks';
import { estimateTokens } from './approximate.js';
import type { TokenCounter } from './types.js';

/** Documented sizes of bounded counting, in UTF-16 code units (JavaScript string length). */
export const BOUNDED_COUNT_DEFAULTS = Object.freeze({
  /**
   * The longest text an exact counter counts in one synchronous call from
   * {@link countTokensBounded}; longer texts are estimated instead. About 5 ms of
   * `tiktoken` on English or JSON here, so a slower machine still stays near 10 ms.
   */
  maxSyncChars: 16_384,
  /**
   * The longest text the approximate counter is run on in one synchronous call by a
   * middleware that otherwise counts in slices: a single pass over the characters, well
   * under 10 ms here.
   */
  maxSyncCharsApproximate: 262_144,
  /** The target length of one slice: about 1 ms of `tiktoken` on English or JSON. */
  sliceChars: 4_096,
  /**
   * A slice is cut at a pre-token boundary in its last half. A text with none there (one
   * pre-token longer than half a slice: a long CJK run, a base64 blob) is cut without one
   * every `forcedSliceChars`, where the count may then differ from the whole text's by a
   * token per cut. Tokenizers are slow inside such runs; short slices keep them fast.
   */
  forcedSliceChars: 256,
  /** How long {@link countTokensSliced} counts before it yields to the event loop, in ms. */
  yieldEveryMs: 8,
});

const LETTER = /\p{L}/u;
const NUMBER = /\p{N}/u;
const MARK = /\p{M}/u;

/** 0 = other, 1 = letter, 2 = digit, 3 = combining mark. */
function classAt(text: string, index: number, before: boolean): number {
  const c = text.charCodeAt(index);
  if (c < 128) {
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) return 1;
    if (c >= 48 && c <= 57) return 2;
    return 0;
  }
  let ch: string;
  if (before && c >= 0xdc00 && c <= 0xdfff && index > 0) {
    const high = text.charCodeAt(index - 1);
    ch = high >= 0xd800 && high <= 0xdbff ? text.slice(index - 1, index + 1) : text[index]!;
  } else if (!before && c >= 0xd800 && c <= 0xdbff) {
    ch = text.slice(index, index + 2);
  } else {
    ch = text[index]!;
  }
  if (LETTER.test(ch)) return 1;
  if (NUMBER.test(ch)) return 2;
  if (MARK.test(ch)) return 3;
  return 0;
}

/**
 * True when `index` (0 < index < text.length) is a pre-token boundary of `text` for
 * `o200k_base` and `cl100k_base`: counting `text.slice(0, index)` and `text.slice(index)`
 * separately gives the same total as counting `text`.
 */
export function isPreTokenBoundary(text: string, index: number): boolean {
  if (index <= 0 || index >= text.length) return index === 0 || index === text.length;
  const prev = classAt(text, index - 1, true);
  if (prev === 1) {
    if (text.charCodeAt(index) === 39 /* ' */) return false;
    const cur = classAt(text, index, false);
    return cur === 0 || cur === 2;
  }
  if (prev === 2) return classAt(text, index, false) !== 2;
  return false;
}

function notInsidePair(text: string, index: number): number {
  const c = text.charCodeAt(index);
  return c >= 0xdc00 && c <= 0xdfff ? index + 1 : index;
}

/**
 * The end of the slice starting at `start`: a pre-token boundary in the last half of a
 * `sliceChars` window, or a forced cut (never inside a surrogate pair) when there is none,
 * or `limit` (default: the end of the text) when that is nearer.
 */
export function sliceEnd(
  text: string,
  start: number,
  sliceChars: number = BOUNDED_COUNT_DEFAULTS.sliceChars,
  forcedSliceChars: number = BOUNDED_COUNT_DEFAULTS.forcedSliceChars,
  limit: number = text.length,
): number {
  const n = limit;
  if (n - start <= sliceChars) return n;
  const target = start + sliceChars;
  const floor = start + (sliceChars >> 1);
  for (let p = target; p > floor; p--) if (isPreTokenBoundary(text, p)) return p;
  return notInsidePair(text, start + Math.min(forcedSliceChars, sliceChars));
}

/**
 * Counts `text` synchronously, slice by slice (see {@link sliceEnd}), so that a tokenizer
 * never sees one enormous piece. Exact for an exact counter except inside pre-tokens
 * longer than half a slice (see {@link BOUNDED_COUNT_DEFAULTS}.forcedSliceChars).
 */
export function countTokensInSlices(text: string, counter: TokenCounter, sliceChars?: number): number {
  let total = 0;
  for (let start = 0; start < text.length; ) {
    const end = sliceEnd(text, start, sliceChars);
    total += counter.count(start === 0 && end === text.length ? text : text.slice(start, end));
    start = end;
  }
  return total;
}

/**
 * Counts `text` without blocking the event loop for long: an approximate counter or a
 * short text is counted at once; an exact counter's text longer than
 * {@link BOUNDED_COUNT_DEFAULTS}.maxSyncChars is **estimated** with the approximate
 * counter instead (use {@link countTokensSliced} where the exact figure is worth
 * waiting for).
 *
 * @example
 * ```ts
 * countTokensBounded(hugeText, exactTokenCounter()); // an estimate above 16 K chars
 * ```
 */
export function countTokensBounded(text: string, counter: TokenCounter): number {
  if (!counter.exact || text.length <= BOUNDED_COUNT_DEFAULTS.maxSyncChars) return counter.count(text);
  return estimateTokens(text);
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Counts `text` exactly (for an exact counter) in slices at pre-token boundaries,
 * yielding to the event loop every {@link BOUNDED_COUNT_DEFAULTS}.yieldEveryMs, so that a
 * multi-megabyte text never blocks it for longer than one slice past that. Rejects with
 * the signal's reason when `signal` aborts between slices.
 *
 * @example
 * ```ts
 * const tokens = await countTokensSliced(fiveMegabytes, exactTokenCounter());
 * ```
 */
export async function countTokensSliced(
  text: string,
  counter: TokenCounter,
  signal?: AbortSignal,
): Promise<number> {
  if (text.length <= BOUNDED_COUNT_DEFAULTS.sliceChars) return counter.count(text);
  let total = 0;
  let since = performance.now();
  for (let start = 0; start < text.length; ) {
    const end = sliceEnd(text, start);
    total += counter.count(text.slice(start, end));
    start = end;
    if (start < text.length && performance.now() - since >= BOUNDED_COUNT_DEFAULTS.yieldEveryMs) {
      await yieldToLoop();
      signal?.throwIfAborted();
      since = performance.now();
    }
  }
  return total;
}
