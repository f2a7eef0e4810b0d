import assert from 'node:assert/strict';
import { after, describe, it, test } from 'node:test';
import { createClient } from 'redis';
import { redisStore } from '../../../src/entries/redis.js';
import { tokenBudget } from '../../../src/index.js';
import { bigPair, linkOf, makeLog, texts } from './fixtures.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `mcp-perf-test:token-budget:${process.pid}-${Date.now().toString(36)}:`;

const admin = createClient({ url: REDIS_URL, socket: { connectTimeout: 2_000, reconnectStrategy: false } });
admin.on('error', () => {});
const skip = await admin.connect().then(
  () => undefined,
  (error: Error) => `Redis unreachable at ${REDIS_URL}: ${error.message}`,
);
if (skip !== undefined) {
  if (process.env.CI) {
    test('Redis is reachable (required when CI is set)', () => assert.fail(skip));
  } else {
    console.log(`skipping the token budget's Redis test: ${skip}`);
  }
}

after(async () => {
  if (skip !== undefined) return;
  let cursor = '0';
  do {
    const [next, keys] = (await admin.sendCommand([
      'SCAN',
      cursor,
      'MATCH',
      `${PREFIX}*`,
      'COUNT',
      '1000',
    ])) as [string, string[]];
    if (keys.length > 0) await admin.sendCommand(['UNLINK', ...keys]);
    cursor = String(next);
  } while (cursor !== '0');
  await admin.close();
});

describe('tokenBudget with a Redis store', { skip }, () => {
  it('pages written by one replica are read through another', async () => {
    const store = redisStore({ client: admin as never, prefix: PREFIX, timeoutMs: 2_000 });
    const writer = tokenBudget({ maxTokens: 2_000, store });
    const otherStore = redisStore({ client: admin as never, prefix: PREFIX, timeoutMs: 2_000 });
    const reader = tokenBudget({ maxTokens: 2_000, store: otherStore });
    const first = await bigPair({ server: [writer] });
    const second = await bigPair({ server: [reader] });
    try {
      const result = await first.client.callTool({ name: 'log', arguments: {} });
      let text = texts(result)[0]!;
      let uri = linkOf(result);
      while (uri !== undefined) {
        const page = await second.client.readResource({ uri });
        const [body, more] = page.contents as Array<{ uri: string; text: string }>;
        text += body!.text;
        uri = more?.uri;
      }
      assert.equal(text, makeLog(3_000));
      assert.ok(reader.stats().pagesServed > 1);
    } finally {
      await first.close();
      await second.close();
      await store.close();
      await otherStore.close();
    }
  });
});
