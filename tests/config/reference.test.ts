import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { generatedFiles } from '../../scripts/config-docs.js';
import { CONFIG_SCHEMA, MIDDLEWARE_REGISTRY } from '../../src/config/index.js';
import {
  CACHE_DEFAULTS,
  CONCURRENCY_DEFAULTS,
  METRICS_DEFAULTS,
  RATE_LIMIT_DEFAULTS,
} from '../../src/index.js';

describe('the published schema and the config reference', () => {
  it('are up to date with the registry (npm run docs:config)', async () => {
    for (const [path, text] of Object.entries(generatedFiles())) {
      const current = await readFile(new URL(`../../${path}`, import.meta.url), 'utf8');
      assert.equal(current, text, `${path} is out of date: run npm run docs:config`);
    }
  });

  it('documents every registered middleware', async () => {
    const reference = generatedFiles()['docs/config.md']!;
    for (const name of Object.keys(MIDDLEWARE_REGISTRY))
      assert.match(reference, new RegExp(`## \`${name}\``));
  });

  it('states the defaults of the factories, from their one place', () => {
    const entries = (
      CONFIG_SCHEMA.$defs as Record<
        string,
        { properties: Record<string, { properties: Record<string, { default?: unknown }> }> }
      >
    ).middlewareEntry!.properties;
    const check = (name: string, defaults: object) => {
      for (const [option, spec] of Object.entries(entries[name]!.properties)) {
        if ('default' in spec && option in defaults) {
          assert.deepEqual(spec.default, (defaults as Record<string, unknown>)[option], `${name}.${option}`);
        }
      }
    };
    check('metrics', METRICS_DEFAULTS);
    check('concurrencyLimit', CONCURRENCY_DEFAULTS);
    check('rateLimit', RATE_LIMIT_DEFAULTS);
    check('cache', CACHE_DEFAULTS);
  });
});
