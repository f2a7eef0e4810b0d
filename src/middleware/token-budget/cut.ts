/**
 * Cutting a text to a number of tokens at a place that splits no user-perceived
 * character: never inside a UTF-8 character, a surrogate pair or a grapheme cluster
 * (emoji ZWJ sequences, flags, a letter with its combining marks).
 *
 * The text is counted in slices at pre-token boundaries (so the slices' counts add up to
 * the whole text's), the slice where the limit falls is cut finer, and the last few
 * hundred characters are searched by grapheme cluster. Counting yields to the event loop
 * every few milliseconds, so a multi-megabyte result never stalls it. A text counted once
 * ({@link countSlices}) can be cut at any limit without being counted again
 * ({@link cutCounted}).
 */

import { performance } from 'node:perf_hooks';
import { rangeCounter } from '../../tokens/approximate.js';
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
  const before = text.charCodeAt(index - 1);
  const at = text.charCodeAt(index);
  // Between two ASCII characters the only rule that joins is CR × LF (UAX #29 GB3): every
  // other rule needs an extender, a joiner, a prepended or regional-indicator character.
  if (before < 0x80 && at < 0x80) return before !== 13 || at !== 10;
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

function isAscii(text: string, from: number, end: number): boolean {
  for (let i = from; i < end; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** The grapheme boundaries strictly between `start` and `end` (a few hundred characters apart). */
function clusterStarts(text: string, start: number, end: number): number[] {
  const candidates: number[] = [];
  if (isAscii(text, start, end)) {
    for (let at = start + 1; at < end; at++) {
      if (text.charCodeAt(at - 1) !== 13 || text.charCodeAt(at) !== 10) candidates.push(at);
    }
    return candidates;
  }
  const from = Math.max(0, start - 64);
  for (const { index } of graphemes.segment(text.slice(from, end))) {
    const at = from + index;
    if (at > start) candidates.push(at);
  }
  return candidates;
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
  const candidates = clusterStarts(text, start, end);
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

/** A text counted slice by slice (see {@link countSlices}). */
export interface SliceCounts {
  /** The text. */
  readonly text: string;
  /** Where each counted slice ends. */
  readonly ends: number[];
  /** The tokens of each counted slice. */
  readonly counts: number[];
  /** The tokens of the slices counted. */
  total: number;
  /** True when every slice was counted (then `total` is the text's tokens). */
  complete: boolean;
}

/**
 * Counts `text` in slices at pre-token boundaries, keeping each slice's end and tokens,
 * until the end or until the running total is over `stopAbove`. A text no longer than one
 * slice is counted in one call. Returns synchronously when no yield was needed.
 */
export function countSlices(
  text: string,
  counter: TokenCounter,
  stopAbove: number,
  signal?: AbortSignal,
): SliceCounts | Promise<SliceCounts> {
  const counted: SliceCounts = { text, ends: [], counts: [], total: 0, complete: text.length === 0 };
  const pacer = new Pacer(signal);
  const count = rangeCounter(counter);
  let start = 0;
  const step = (): SliceCounts | Promise<SliceCounts> => {
    while (start < text.length) {
      const end = sliceEnd(text, start);
      const tokens = count(text, start, end);
      counted.counts.push(tokens);
      counted.ends.push(end);
      counted.total += tokens;
      start = end;
      if (start >= text.length) counted.complete = true;
      else if (counted.total > stopAbove) break;
      else {
        const paused = pacer.pause();
        if (paused !== undefined) return paused.then(step);
      }
    }
    return counted;
  };
  return step();
}

/**
 * Cuts a counted text to at most `budget` tokens, counting only around the cut. The text
 * must have been counted to the end or past `budget`.
 *
 * The kept prefix ends at a grapheme boundary; when even the first cluster does not fit,
 * nothing is kept (`index` 0).
 */
export function cutCounted(counted: SliceCounts, budget: number, counter: TokenCounter): Cut {
  const { text, counts, ends } = counted;
  const totalTokens = counted.complete ? counted.total : undefined;
  if (!counted.complete && counted.total <= budget) {
    throw new RangeError(`a text counted to ${counted.total} tokens cannot be cut at ${budget}`);
  }
  if (counted.complete && counted.total <= budget) {
    return { index: text.length, keptTokens: counted.total, totalTokens };
  }
  // The slice where the running total passes the budget is cut finer.
  let kept = 0;
  let i = 0;
  while (kept + counts[i]! <= budget) kept += counts[i++]!;
  const base = kept;
  const sliceStart = i === 0 ? 0 : ends[i - 1]!;
  let from = sliceStart;
  const to = ends[i]!;
  let left = budget - kept;
  const count = rangeCounter(counter);
  for (let fine = from; fine < to; ) {
    const fineEnd = Math.min(to, sliceEnd(text, fine, FINE_SLICE, FINE_FORCED, to));
    const tokens = count(text, fine, fineEnd);
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
  const counted = countSlices(text, counter, whole ? Number.POSITIVE_INFINITY : budget, signal);
  return counted instanceof Promise
    ? counted.then((c) => cutCounted(c, budget, counter))
    : cutCounted(counted, budget, counter);
}
