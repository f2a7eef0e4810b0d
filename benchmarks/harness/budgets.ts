/**
 * Budgets: the limits the benchmark gate enforces, read from `benchmarks/budgets.json`.
 */

import { readFile } from 'node:fs/promises';

/**
 * What a budget limits:
 * - `ratio`: a comparison's candidate time / baseline time per operation must stay
 *   `<= limit` (1.03 = at most 3% slower).
 * - `speedup`: a comparison's baseline time / candidate time must stay `>= limit` (2 = at
 *   least twice as fast), for middleware whose point is to be faster (a cache hit).
 * - `max`: an experiment's named `figure` must stay `<= limit`.
 * - `min`: an experiment's named `figure` must stay `>= limit`.
 */
export type Metric = 'ratio' | 'speedup' | 'max' | 'min';

/** True for the metrics whose figure must stay at or below the limit (`ratio`, `max`). */
export function lowerIsBetter(metric: Metric): boolean {
  return metric === 'ratio' || metric === 'max';
}

/** What every budget has. */
interface BudgetBase {
  /** Unique, stable id, e.g. `pipeline.empty-stack.inmemory`. */
  id: string;
  /** The scenario measured (a key of the scenario registry). */
  scenario: string;
  /** The limit (see {@link Metric}). */
  limit: number;
  /** Why this limit: what it protects. */
  why: string;
  /**
   * False for a budget that is reported but never fails the check (an HTTP figure on a
   * noisy path). Default true.
   */
  gating?: boolean;
}

/** A limit on a comparison scenario's per-round ratio. */
export interface CompareBudget extends BudgetBase {
  /** Which way the ratio is limited. */
  metric: 'ratio' | 'speedup';
}

/** A limit on one named figure of an experiment scenario. */
export interface FigureBudget extends BudgetBase {
  /** `max`: the figure must stay `<= limit`; `min`: `>= limit`. */
  metric: 'max' | 'min';
  /** The figure's name, a key of the experiment's `figures`. */
  figure: string;
}

/** One budget. */
export type Budget = CompareBudget | FigureBudget;

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
    if (metric !== 'ratio' && metric !== 'speedup' && metric !== 'max' && metric !== 'min') {
      throw new TypeError(
        `${where}.metric must be "ratio" or "speedup" (a comparison), or "max" or "min" (an experiment's figure) (got ${JSON.stringify(metric)})`,
      );
    }
    const limit = e.limit;
    const compare = metric === 'ratio' || metric === 'speedup';
    if (typeof limit !== 'number' || !Number.isFinite(limit) || (compare && limit <= 0)) {
      throw new TypeError(
        `${where}.limit must be a ${compare ? 'positive' : 'finite'} number (got ${JSON.stringify(limit)})`,
      );
    }
    if (e.gating !== undefined && typeof e.gating !== 'boolean') {
      throw new TypeError(`${where}.gating must be a boolean (got ${JSON.stringify(e.gating)})`);
    }
    const base: BudgetBase = { id, scenario: str('scenario'), limit, why: str('why') };
    if (e.gating === false) base.gating = false;
    if (compare) {
      if (e.figure !== undefined) {
        throw new TypeError(
          `${where}.figure applies to metric "max" or "min" only (got figure ${JSON.stringify(e.figure)} with metric "${metric}")`,
        );
      }
      return { ...base, metric };
    }
    if (typeof e.figure !== 'string' || e.figure.length === 0) {
      throw new TypeError(
        `${where}.figure must name the experiment's figure that metric "${metric}" limits (got ${JSON.stringify(e.figure)})`,
      );
    }
    return { ...base, metric, figure: e.figure };
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
