/** Reading a results file written by `benchmarks/run.ts`. */

import { readFile } from 'node:fs/promises';
import type { BenchResults } from '../harness/runner.js';

/** Reads a results file and checks that it is one (schema 1). */
export async function readResults(path: string): Promise<BenchResults> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: cannot read results (${(error as Error).message})`);
  }
  const r = json as Partial<BenchResults>;
  if (r?.schema !== 1 || !Array.isArray(r.scenarios) || typeof r.environment !== 'object') {
    throw new Error(`${path}: not a benchmark results file (schema 1)`);
  }
  return r as BenchResults;
}

/** Significant digits a results file keeps of a fractional number. */
const DIGITS = 6;

/**
 * A results file's text: indented JSON, fractional numbers to {@link DIGITS} significant
 * digits, and each round of a comparison on one line. A comparison of 300 rounds would
 * otherwise take 20 indented lines and ~500 bytes a round.
 */
export function serializeResults(results: BenchResults): string {
  const rounds: string[] = [];
  const text = JSON.stringify(
    results,
    (key, value: unknown) => {
      if (key === 'rounds' && Array.isArray(value)) {
        return value.map((round) => {
          rounds.push(JSON.stringify(round, shortNumbers));
          return `\u0000round:${rounds.length - 1}`;
        });
      }
      return shortNumbers(key, value);
    },
    2,
  );
  return `${text.replace(/"\\u0000round:(\d+)"/g, (_, i: string) => rounds[Number(i)]!)}\n`;
}

function shortNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(DIGITS)) : value;
}
