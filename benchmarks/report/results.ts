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
