/**
 * A fleet: three real server processes (`examples/fleet-replica.ts`) behind a round-robin
 * client, sharing one Redis of their own (a throwaway `redis-server`, so stopping it
 * touches nobody else). The fleet runs each distinct call once (also under a burst of
 * identical calls), sees an invalidation made on one replica on the others within 100 ms,
 * holds one rate limit, and rides out Redis stopping and coming back: no request lost, no
 * entry from before served after.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { seededRandom, zipfSampler } from '../../src/load/workload.js';
import { type OwnRedis, ownRedisUnavailable, startOwnRedis } from '../stores/redis-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPLICA = fileURLToPath(new URL('../../examples/fleet-replica.ts', import.meta.url));
const RATE = 50;

const unavailable = ownRedisUnavailable();
if (unavailable !== undefined && process.env.CI) {
  test('redis-server is installed (required when CI is set)', () => {
    assert.fail(unavailable);
  });
}

let redis: OwnRedis | undefined;
let replicas: Client[] = [];
let turn = 0;

interface Status {
  runs: number;
  listening: boolean;
}

/** One tool call on the next replica in turn; answers the text of the result. */
async function call(name: string, args: Record<string, unknown>, on = turn++ % 3): Promise<string> {
  const result = await replicas[on]!.callTool({ name, arguments: args });
  const content = result.content as { type: string; text: string }[];
  return content[0]!.text;
}

async function statuses(): Promise<Status[]> {
  return Promise.all([0, 1, 2].map(async (i) => JSON.parse(await call('fleet_status', {}, i)) as Status));
}

async function runs(): Promise<number> {
  return (await statuses()).reduce((n, s) => n + s.runs, 0);
}

/** Keys drawn Zipf(1.0) over `distinct` ranks, from a fixed seed. */
function zipf(distinct: number, draws: number): string[] {
  const random = seededRandom(7);
  const sample = zipfSampler(distinct, 1);
  return Array.from({ length: draws }, () => `z${sample(random)}`);
}

before(async () => {
  if (unavailable !== undefined) return;
  redis = await startOwnRedis();
  replicas = await Promise.all(
    [0, 1, 2].map(async () => {
      const client = new Client({ name: 'fleet-test', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: ['--import', 'tsx', REPLICA],
          cwd: ROOT,
          env: {
            ...(process.env as Record<string, string>),
            REDIS_URL: redis!.url,
            FLEET_PREFIX: 'fleet-test:',
            FLEET_RATE: String(RATE),
            // A loaded test machine can be slower than the default 50 ms; a Redis that is
            // stopped still fails at once (not connected).
            FLEET_TIMEOUT_MS: '1000',
          },
          stderr: 'inherit',
        }),
      );
      return client;
    }),
  );
  // Each replica is listening for invalidations before the tests start.
  for (let i = 0; i < 200 && !(await statuses()).every((s) => s.listening); i++) await sleep(10);
});

after(async () => {
  await Promise.all(replicas.map((c) => c.close()));
  await redis?.dispose();
});

describe('three replica processes on one Redis', { skip: unavailable }, () => {
  test("a Zipf workload's tool runs equal its distinct keys", async () => {
    const before = await runs();
    const draws = zipf(20, 120);
    for (const key of draws) assert.match(await call('lookup', { key }), new RegExp(`^${key}@`));
    assert.equal((await runs()) - before, new Set(draws).size);
  });

  test('a burst of identical concurrent calls across the replicas runs the tool once', async () => {
    const before = await runs();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => call('slow_lookup', { key: 'burst' })),
    );
    assert.equal(new Set(answers).size, 1, 'every caller got the one result');
    assert.equal((await runs()) - before, 1);
  });

  test('an invalidation on one replica is visible on the others within 100 ms', async () => {
    const old = await call('lookup', { key: 'inv' }, 0);
    assert.equal(await call('lookup', { key: 'inv' }, 1), old);
    assert.equal(await call('lookup', { key: 'inv' }, 2), old);
    await call('invalidate', { pattern: 'tool:lookup' }, 0);
    const since = performance.now();
    for (const replica of [1, 2]) {
      while ((await call('lookup', { key: 'inv' }, replica)) === old) {
        assert.ok(performance.now() - since < 100, `replica ${replica} still serves the dropped entry`);
      }
    }
    assert.ok(performance.now() - since < 100);
  });

  test(`a shared rate limit of ${RATE}/s holds across the three within 10%`, async () => {
    // The bucket starts full (a burst of RATE), then refills RATE a second.
    let allowed = 0;
    let refused = 0;
    const started = performance.now();
    const end = started + 800;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (performance.now() < end) {
          try {
            await call('echo', { text: 'x' });
            allowed++;
          } catch {
            refused++;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1_000;
    const expected = RATE + RATE * seconds;
    const what = `${allowed} allowed, ${refused} refused in ${seconds.toFixed(2)} s, limit about ${expected.toFixed(0)}`;
    assert.ok(allowed <= 1.1 * expected, what);
    // On a loaded machine six callers may offer fewer calls than the limit: all of those pass.
    assert.ok(allowed >= 0.9 * Math.min(expected, allowed + refused), what);
    assert.ok(refused > 0 || allowed < expected, `${what}: the limit never acted`);
  });

  test('Redis stopping and coming back loses no request and serves no entry from before', async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `r${i}`);
    const before = new Map<string, string>();
    for (const key of keys) before.set(key, await call('lookup', { key }));
    await redis!.stop({ save: true });
    for (let i = 0; i < 24; i++) {
      const key = keys[i % keys.length]!;
      assert.match(await call('lookup', { key }), new RegExp(`^${key}@`), 'answered while Redis is away');
    }
    await call('invalidate', { pattern: 'tool:lookup' }, 1);
    await redis!.start();
    for (let i = 0; i < 400 && !(await statuses()).every((s) => s.listening); i++) await sleep(10);
    assert.ok(
      (await statuses()).every((s) => s.listening),
      'every replica is back on Redis',
    );
    for (const key of keys) {
      for (const replica of [0, 1, 2]) {
        assert.notEqual(
          await call('lookup', { key }, replica),
          before.get(key),
          `${key} on replica ${replica}`,
        );
      }
    }
  });
});
