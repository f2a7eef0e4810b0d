import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ConfiguredStack, isConfigError, loadConfigFile, watchConfig } from '../../src/config/index.js';
import { isInvalidOptionError } from '../../src/index.js';
import { connectPair, type Deferred, deferred } from '../helpers/servers.js';

const dir = await mkdtemp(join(tmpdir(), 'mcp-perf-config-'));
after(() => rm(dir, { recursive: true, force: true }));

/** Writes the file whole, as editors do (a new file renamed over the old), so no reload sees half of it. */
async function replace(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

const names = (stack: ConfiguredStack) => stack.config.middleware.map((e) => e.name);

describe('loadConfigFile', () => {
  it('reads YAML, and JSON by its extension', async () => {
    await writeFile(join(dir, 'a.yaml'), 'middleware:\n  - cache: { ttlMs: 1m }\n');
    await writeFile(join(dir, 'a.json'), '{"middleware":[{"metrics":{}}]}');
    assert.deepEqual((await loadConfigFile(join(dir, 'a.yaml'))).middleware, [
      { name: 'cache', options: { ttlMs: 60_000 } },
    ]);
    assert.deepEqual((await loadConfigFile(join(dir, 'a.json'))).middleware, [
      { name: 'metrics', options: {} },
    ]);
  });

  it('names the file when it cannot be read or is invalid', async () => {
    await assert.rejects(
      loadConfigFile(join(dir, 'missing.yaml')),
      (e) => isConfigError(e) && /missing\.yaml:\n {2}\(root\): cannot read the file: ENOENT/.test(e.message),
    );
    await writeFile(join(dir, 'bad.yaml'), 'middleware:\n  - cache: { ttlMs: 5 minutes }\n');
    await assert.rejects(
      loadConfigFile(join(dir, 'bad.yaml')),
      /bad\.yaml:\n {2}middleware\[0\]\.cache\.ttlMs: expected a non-negative duration/,
    );
  });
});

describe('watchConfig', () => {
  it('swaps in the stack of a changed file, and keeps the old one when the new file is invalid', async () => {
    const file = join(dir, 'live.yaml');
    await writeFile(file, 'middleware:\n  - metrics: {}\n');
    let reloaded: Deferred<ConfiguredStack> = deferred();
    let failed: Deferred<Error> = deferred();
    const watcher = await watchConfig(file, {
      debounceMs: 10,
      onReload: (stack) => reloaded.resolve(stack),
      onError: (error) => failed.resolve(error),
    });
    const pair = await connectPair({ server: [watcher.stack] });
    try {
      assert.deepEqual(names(watcher.current), ['metrics']);

      // A good change: new requests go through the new stack (the cache answers the repeat).
      await replace(file, 'middleware:\n  - metrics: {}\n  - cache: { tools: { include: [echo] } }\n');
      const next = await reloaded.promise;
      assert.deepEqual(names(next), ['metrics', 'cache']);
      assert.equal(watcher.current, next);
      assert.equal(watcher.stack.current, next.middleware);
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      assert.equal(pair.counts.echo, 1);

      // A bad change: reported by path, the running stack stays.
      reloaded = deferred();
      await replace(file, 'middleware:\n  - cache: { ttlMs: 5 minutes }\n');
      const error = await failed.promise;
      assert.ok(isConfigError(error));
      assert.match(
        error.message,
        /live\.yaml:\n {2}middleware\[0\]\.cache\.ttlMs: expected a non-negative duration/,
      );
      assert.equal(watcher.current, next);
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      assert.equal(pair.counts.echo, 1, 'the old stack still serves');

      // A config the factories refuse is reported the same way.
      failed = deferred();
      await replace(file, 'middleware:\n  - concurrencyLimit: { limit: 2, scopes: [{ name: x }] }\n');
      const refused = await failed.promise;
      assert.ok(isConfigError(refused) && refused.issues[0]!.path === 'middleware[0].concurrencyLimit.limit');

      await replace(file, 'middleware: []\n');
      assert.deepEqual(names(await reloaded.promise), []);
      await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
      assert.equal(pair.counts.echo, 2, 'no cache any more');
    } finally {
      await pair.close();
      await watcher.close();
    }
  });

  it('asks beforeSwap about a changed file: throwing keeps the old stack', async () => {
    const file = join(dir, 'gated.yaml');
    await writeFile(file, 'middleware:\n  - metrics: {}\n');
    const seen: string[][] = [];
    let veto = true;
    // Reloaded by hand only: the change's own reload would wait a minute.
    const watcher = await watchConfig(file, {
      debounceMs: 60_000,
      beforeSwap: (next, current) => {
        seen.push([...names(current), '→', ...names(next)]);
        if (veto) throw new Error('vetoed');
      },
    });
    try {
      await replace(file, 'middleware: []\n');
      await watcher.reload();
      assert.deepEqual(names(watcher.current), ['metrics'], 'vetoed: the old stack stays');
      veto = false;
      await watcher.reload();
      assert.deepEqual(names(watcher.current), []);
      assert.deepEqual(seen, [
        ['metrics', '→'],
        ['metrics', '→'],
      ]);
    } finally {
      await watcher.close();
    }
  });

  it('fails at once when the first load fails, and checks its options', async () => {
    await assert.rejects(watchConfig(join(dir, 'nope.yaml')), (e) => isConfigError(e));
    await writeFile(join(dir, 'ok.yaml'), 'middleware: []\n');
    await assert.rejects(watchConfig(join(dir, 'ok.yaml'), { debounceMs: -1 }), (e) =>
      isInvalidOptionError(e),
    );
  });
});
