import { InvalidOptionError } from '../errors/index.js';

/**
 * The two functions of a test runner the contract suites need, as node:test, vitest,
 * Jest and Mocha all spell them: `import { describe, it } from 'node:test'` (or
 * `'vitest'`) and pass `{ describe, it }`.
 */
export interface TestRunner {
  /** Groups tests. */
  describe(name: string, fn: () => void): unknown;
  /** Registers one test; its `skip`, when the runner has one, marks a skipped test. */
  it(name: string, fn: () => Promise<void> | void): unknown;
}

/** A runner with a uniform way to report a skipped test. */
export interface ResolvedRunner {
  /** Groups tests. */
  describe(name: string, fn: () => void): unknown;
  /** Registers one test. */
  it(name: string, fn: () => Promise<void> | void): unknown;
  /** Reports one skipped test (nothing when the runner cannot skip). */
  skip(name: string): void;
}

/** `runner`, or the global `describe` / `it` when there are any; throws naming the option otherwise. */
export function resolveRunner(runner: TestRunner | undefined, where: string): ResolvedRunner {
  const g = globalThis as { describe?: unknown; it?: unknown };
  const chosen =
    runner ??
    (typeof g.describe === 'function' && typeof g.it === 'function'
      ? (g as unknown as TestRunner)
      : undefined);
  if (chosen === undefined || typeof chosen.describe !== 'function' || typeof chosen.it !== 'function') {
    throw new InvalidOptionError(
      where,
      'runner',
      "the test runner's { describe, it } (e.g. import { describe, it } from 'node:test' or 'vitest'), as no global describe/it exists",
      runner,
    );
  }
  const skip = (chosen.it as { skip?: unknown }).skip;
  return {
    describe: (name, fn) => chosen.describe(name, fn),
    it: (name, fn) => chosen.it(name, fn),
    skip: (name) => {
      if (typeof skip === 'function') skip.call(chosen.it, name, () => undefined);
    },
  };
}
