/**
 * Budgets: the limits the benchmark gate enforces, read from `benchmarks/budgets.json`.
 */

import { readFile } from 'node:fs/promises';

/**
 * One budget.
 * - `ratio`: candidate time / baseline time per operation must stay `<= limit`
 *   (1.03 = at most 3% slower).
 * - `speedup`: baseline time / candidate time must stay `>= limit` (2 = at least twice
 *   as fast), for middleware whose point is to be faster (a cache hit).
 */
export interface Budget {
  /** Unique, stable id, e.g. `pipeline.empty-stack.inmemory`. */
  id: string;
  /** The scenario measured (a key of the scenario registry). */
  scenario: string;
  /** Which figure is limited. */
  metric: 'ratio' | 'speedup';
  /** The limit (see the metric). */
  limit: number;
  /** Why this limit: what it protects. */
  why: string;
  /**
   * False for a budget that is reported but never fails the check (an HTTP figure on a
   * noisy path). Default true.
   */
  gating?: boolean;
}

/**
 * Validates parsed JSON as a budget list; throws an error naming the entry and field
 * that is wrong. Ids must be unique.
 */
export function parseBudgets(json: unknown, source = 'budgets'): Budget[] {
  if (!Array.isArray(json)) throw new TypeError(`${source}: expected an array of budgets`);
  const seen = new Set<string>();
  return json.map((entry: unknown, i) => {
    const where = `${source}[${i}]`;
    if (typeof entry !== 'object' || entry === null) throw new TypeError(`${where}: expected an object`);
    const e = entry as Record<string, unknown>;
    const str = (k: string): string => {
      const v = e[k];
      if (typeof v !== 'string' || v.length === 0) {
        throw new TypeError(`${where}.${k} must be a non-empty string (got ${JSON.stringify(v)})`);
      }
      return v;
    };
    const id = str('id');
    if (seen.has(id)) throw new TypeError(`${where}.id: duplicate budget id ${JSON.stringify(id)}`);
    seen.add(id);
    const metric = e.metric;
    if (metric !== 'ratio' && metric !== 'speedup') {
      throw new TypeError(`${where}.metric must be "ratio" or "speedup" (got ${JSON.stringify(metric)})`);
    }
    const limit = e.limit;
    if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
      throw new TypeError(`${where}.limit must be a positive number (got ${JSON.stringify(limit)})`);
    }
    if (e.gating !== undefined && typeof e.gating !== 'boolean') {
      throw new TypeError(`${where}.gating must be a boolean (got ${JSON.stringify(e.gating)})`);
    }
    const budget: Budget = { id, scenario: str('scenario'), metric, limit, why: str('why') };
    if (e.gating === false) budget.gating = false;
    return budget;
  });
}

/** Reads and validates a budgets file. */
export async function loadBudgets(path: string): Promise<Budget[]> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseBudgets(json, path);
}
