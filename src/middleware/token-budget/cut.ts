/**
 * Cutting a text to a number of tokens at a place that splits no user-perceived
 * character: never inside a UTF-8 character, a surrogate pair or a grapheme cluster
 * (emoji ZWJ sequences, flags, a letter with its combining marks).
 *
 * The text is counted in slices at pre-token boundaries (so the slices' counts add up to
 * the whole text's), the slice where the limit falls is cut finer, and the last few
 * hundred characters are searched by grapheme cluster. Counting yields to the event loop
 * every few milliseconds, so a multi-megabyte result never stalls it.
 */

import { performance } from 'node:perf_hooks';
import { BOUNDED_COUNT_DEFAULTS, sliceEnd } from '../../tokens/bounded.js';
import type { TokenCounter } from '../../tokens/types.js';

/** Where a text was cut. */
export interface Cut {
  /** Characters (UTF-16 code units) kept: the text's prefix `text.slice(0, index)`. */
  index: number;
  /** Tokens of the kept prefix. */
  keptTokens: number;
  /** Tokens of the whole text, when they were counted (see `whole`), else `undefined`. */
  totalTokens: number | undefined;
}

const FINE_SLICE = 256;
const FINE_FORCED = 64;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Counts slices, yielding to the event loop between them when counting has run long. */
class Pacer {
  private since = performance.now();
  constructor(private readonly signal: AbortSignal | undefined) {}

  /** Resolves at once (undefined) or after a yield (a promise). */
  pause(): Promise<void> | undefined {
    if (performance.now() - this.since < BOUNDED_COUNT_DEFAULTS.yieldEveryMs) return undefined;
    return yieldToLoop().then(() => {
      this.signal?.throwIfAborted();
      this.since = performance.now();
    });
  }
}

/**
 * True when `index` is a grapheme-cluster boundary of `text` (judged with up to 64
 * characters of context before it).
 */
export function isGraphemeBoundary(text: string, index: number): boolean {
  if (index <= 0 || index >= text.length) return true;
  const from = Math.max(0, index - 64);
  for (const { index: at } of graphemes.segment(text.slice(from, Math.min(text.length, index + 8)))) {
    if (from + at === index) return true;
    if (from + at > index) return false;
  }
  return false;
}

/** The last grapheme boundary at or before `index`, not below `floor`. */
function boundaryAtOrBefore(text: string, index: number, floor: number): number {
  for (let p = index; p > floor; p--) if (isGraphemeBoundary(text, p)) return p;
  return floor;
}

/**
 * Within `text.slice(start, end)` (at most a few hundred characters), the longest prefix
 * ending at a grapheme boundary whose tokens are at most `budget`; returns its end and
 * tokens. Token counts of prefixes are nearly monotonic, so a binary search over the
 * cluster boundaries finds it in a handful of counts.
 */
function finestCut(
  text: string,
  start: number,
  end: number,
  budget: number,
  counter: TokenCounter,
): [number, number] {
  const from = Math.max(0, start - 64);
  const candidates: number[] = [];
  for (const { index } of graphemes.segment(text.slice(from, end))) {
    const at = from + index;
    if (at > start) candidates.push(at);
  }
  let lo = 0;
  let hi = candidates.length - 1;
  let best = start;
  let bestTokens = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = candidates[mid]!;
    const tokens = counter.count(text.slice(start, at));
    if (tokens <= budget) {
      best = at;
      bestTokens = tokens;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return [best, bestTokens];
}

/**
 * Cuts `text` to at most `budget` tokens. When `whole` is true every slice is counted
 * (the total is known, and nothing is cut when it fits); otherwise counting stops once
 * the limit is found. Returns synchronously when no yield was needed.
 *
 * The kept prefix ends at a grapheme boundary; when even the first cluster does not fit,
 * nothing is kept (`index` 0).
 */
export function cutText(
  text: string,
  budget: number,
  counter: TokenCounter,
  whole: boolean,
  signal?: AbortSignal,
): Cut | Promise<Cut> {
  const pacer = new Pacer(signal);
  const counts: number[] = [];
  const ends: number[] = [];
  let total = 0;
  let start = 0;
  const step = (): Cut | Promise<Cut> => {
    while (start < text.length) {
      const end = sliceEnd(text, start);
      const tokens = counter.count(start === 0 && end === text.length ? text : text.slice(start, end));
      counts.push(tokens);
      ends.push(end);
      total += tokens;
      start = end;
      if (!whole && total > budget) break;
      const paused = pacer.pause();
      if (paused !== undefined) return paused.then(step);
    }
    return finish();
  };
  const finish = (): Cut => {
    const totalTokens = whole ? total : start >= text.length ? total : undefined;
    if (total <= budget && start >= text.length)
      return { index: text.length, keptTokens: total, totalTokens };
    // The slice where the running total passes the budget is cut finer.
    let kept = 0;
    let i = 0;
    while (kept + counts[i]! <= budget) kept += counts[i++]!;
    const base = kept;
    const sliceStart = i === 0 ? 0 : ends[i - 1]!;
    let from = sliceStart;
    const to = ends[i]!;
    let left = budget - kept;
    for (let fine = from; fine < to; ) {
      const fineEnd = Math.min(to, sliceEnd(text, fine, FINE_SLICE, FINE_FORCED, to));
      const tokens = counter.count(text.slice(fine, fineEnd));
      if (tokens > left) break;
      left -= tokens;
      kept += tokens;
      fine = fineEnd;
      from = fine;
    }
    const fineEnd = Math.min(to, sliceEnd(text, from, FINE_SLICE, FINE_FORCED, to));
    const [index, tokens] = finestCut(text, from, fineEnd, left, counter);
    if (index > from || isGraphemeBoundary(text, from)) {
      return { index, keptTokens: kept + tokens, totalTokens };
    }
    // The slice boundary fell inside a cluster (a ZWJ after a letter): step back to the
    // cluster's start, which keeps fewer characters and so no more tokens.
    const back = boundaryAtOrBefore(text, from, Math.max(0, from - 64));
    const keptTokens =
      back >= sliceStart
        ? base + counter.count(text.slice(sliceStart, back))
        : counter.count(text.slice(0, back));
    return { index: back, keptTokens, totalTokens };
  };
  return step();
}
