import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { exactTokenCounter } from '../../src/entries/tokens.js';
import { estimateTokens } from '../../src/tokens/approximate.js';
import {
  BOUNDED_COUNT_DEFAULTS,
  countTokensBounded,
  countTokensInSlices,
  countTokensSliced,
  isPreTokenBoundary,
  sliceEnd,
} from '../../src/tokens/bounded.js';
import type { TokenCounter } from '../../src/tokens/types.js';
import { countResultTokens } from '../../src/tokens/visible.js';
import { loadCorpus } from './corpus.js';

/** A deterministic pseudo-random generator, so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('pre-token boundaries', () => {
  it('splitting at any boundary keeps the exact total, for both encodings and the whole corpus', () => {
    for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
      const counter = exactTokenCounter({ encoding });
      const next = random(7);
      try {
        for (const sample of loadCorpus()) {
          const text = sample.text;
          const whole = counter.count(text);
          let checked = 0;
          for (let tries = 0; tries < 400 && checked < 25; tries++) {
            const p = 1 + Math.floor(next() * (text.length - 1));
            if (!isPreTokenBoundary(text, p)) continue;
            checked++;
            assert.equal(
              counter.count(text.slice(0, p)) + counter.count(text.slice(p)),
              whole,
              `${encoding} ${sample.category}/${sample.name} split at ${p}: ${JSON.stringify(text.slice(p - 5, p + 5))}`,
            );
          }
        }
      } finally {
        counter.dispose();
      }
    }
  });

  it('never calls a position inside a letter run, a digit run, a contraction or a combining sequence a boundary', () => {
    assert.equal(isPreTokenBoundary('hello', 2), false);
    assert.equal(isPreTokenBoundary('12345', 3), false);
    assert.equal(isPreTokenBoundary("don't", 3), false);
    assert.equal(isPreTokenBoundary('cafe\u0301 ok', 4), false);
    assert.equal(isPreTokenBoundary('中文', 1), false);
    assert.equal(isPreTokenBoundary('word word', 4), true);
    assert.equal(isPreTokenBoundary('a1', 1), true);
    assert.equal(isPreTokenBoundary('12a', 2), true);
    assert.equal(isPreTokenBoundary('中文。', 2), true);
    assert.equal(isPreTokenBoundary('"x":1}', 5), true);
  });

  it('slices never split a surrogate pair, even where they must be forced', () => {
    const emoji = '😀'.repeat(10_000);
    for (let start = 0; start < emoji.length; ) {
      const end = sliceEnd(emoji, start);
      assert.ok(end > start);
      assert.equal(end % 2, 0, `cut inside a pair at ${end}`);
      start = end;
    }
  });

  it('counting in slices equals the whole count on large mixed text', () => {
    const counter = exactTokenCounter();
    try {
      const text = loadCorpus()
        .map((s) => s.text)
        .join('\n');
      assert.ok(text.length > 10 * BOUNDED_COUNT_DEFAULTS.sliceChars);
      assert.equal(countTokensInSlices(text, counter), counter.count(text));
    } finally {
      counter.dispose();
    }
  });
});

describe('bounded counting', () => {
  it('estimates an exact counter above maxSyncChars and counts below it', () => {
    let calls = 0;
    const exact: TokenCounter = {
      name: 'spy',
      exact: true,
      count: (t) => {
        calls++;
        return t.length;
      },
    };
    const small = 'a b c '.repeat(100);
    assert.equal(countTokensBounded(small, exact), small.length);
    assert.equal(calls, 1);
    const large = 'word '.repeat(BOUNDED_COUNT_DEFAULTS.maxSyncChars);
    assert.equal(countTokensBounded(large, exact), estimateTokens(large));
    assert.equal(calls, 1, 'the exact counter ran on a text above the bound');
    assert.equal(
      countResultTokens('tools/call', { content: [{ type: 'text', text: large }] }, exact),
      estimateTokens(large),
    );
    assert.equal(calls, 1);
  });

  it('counts a 5 MB result exactly without blocking the event loop for long', async () => {
    const counter = exactTokenCounter();
    counter.warm();
    try {
      const line = '2026-12-03T09:00:00.123Z INFO request id=4711 path=/api/items/42 status=200 took=12ms\n';
      // Flat, as a parsed result is (a repeated string is a rope V8 flattens on first read).
      const text = Buffer.from(line.repeat(Math.ceil((5 * 1024 * 1024) / line.length))).toString();
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      let longestGap = 0;
      let ticks = 0;
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        ticks++;
        longestGap = Math.max(longestGap, now - last);
        last = now;
      }, 1);
      histogram.enable();
      const started = performance.now();
      const tokens = await countTokensSliced(text, counter);
      const elapsed = performance.now() - started;
      histogram.disable();
      clearInterval(timer);
      assert.equal(tokens, counter.count(line) * (text.length / line.length));
      const maxDelayMs = histogram.max / 1e6;
      // Loose, and relative to the whole count: the machine is shared, and a descheduled
      // process shows gaps of hundreds of ms whatever it runs. A synchronous count would
      // show one gap as long as the whole count.
      const bound = Math.max(250, elapsed / 8);
      assert.ok(
        maxDelayMs < bound,
        `event loop blocked for ${maxDelayMs.toFixed(1)} ms of ${elapsed.toFixed(0)} ms`,
      );
      assert.ok(
        longestGap < bound,
        `longest timer gap ${longestGap.toFixed(1)} ms of ${elapsed.toFixed(0)} ms`,
      );
      assert.ok(ticks >= 20, `the timer ran only ${ticks} times while counting`);
    } finally {
      counter.dispose();
    }
  });

  it('stops between slices when its signal aborts', async () => {
    const controller = new AbortController();
    const slow: TokenCounter = {
      name: 'slow',
      exact: true,
      count: (t) => {
        const until = performance.now() + 3;
        while (performance.now() < until);
        return t.length;
      },
    };
    const text = 'word '.repeat(50_000);
    const counting = countTokensSliced(text, slow, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(counting, /stop/);
  });
});
