import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One fixture of the token corpus: model-visible text of an MCP payload. */
export interface CorpusSample {
  category: string;
  name: string;
  text: string;
}

const ROOT = new URL('../fixtures/tokens/', import.meta.url);

/** The categories of the corpus, one folder each. */
export const CATEGORIES = ['prose', 'json', 'code', 'non-latin', 'tools', 'mixed'] as const;

/** Every sample of the corpus, in a stable order. */
export function loadCorpus(): CorpusSample[] {
  const samples: CorpusSample[] = [];
  for (const category of CATEGORIES) {
    const dir = new URL(`${category}/`, ROOT);
    for (const name of readdirSync(dir).sort()) {
      samples.push({ category, name, text: readFileSync(join(dir.pathname, name), 'utf8') });
    }
  }
  return samples;
}

const HELD_OUT = new URL('../fixtures/tokens-heldout/', import.meta.url);

/**
 * The held-out samples: never used to fit the approximate counter's weights, so its
 * error on them is an honest figure (MCP tool results, logs, tables, markdown, CJK, mixed
 * scripts).
 */
export function loadHeldOut(): CorpusSample[] {
  return readdirSync(HELD_OUT)
    .sort()
    .map((name) => ({
      category: 'held-out',
      name,
      text: readFileSync(join(HELD_OUT.pathname, name), 'utf8'),
    }));
}
