/**
 * Writes the published config schema (config.schema.json) and the config reference
 * (docs/config.md), both generated from the middleware registry. `--check` fails
 * instead when either file is out of date.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderConfigReference } from '../src/config/reference.js';
import { CONFIG_SCHEMA } from '../src/config/schema.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The generated files, by path relative to the repository root. */
export function generatedFiles(): Record<string, string> {
  return {
    'config.schema.json': `${JSON.stringify(CONFIG_SCHEMA, null, 2)}\n`,
    'docs/config.md': renderConfigReference(CONFIG_SCHEMA),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [path, text] of Object.entries(generatedFiles())) {
    const current = await readFile(ROOT + path, 'utf8').catch(() => '');
    if (current === text) continue;
    if (check) {
      console.error(`${path} is out of date: run npm run docs:config`);
      stale++;
    } else {
      await writeFile(ROOT + path, text);
      console.error(`wrote ${path}`);
    }
  }
  process.exitCode = stale === 0 ? 0 : 1;
}
