import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redisStore } from '../../../src/entries/redis.js';
import { tokenBudget } from '../../../src/index.js';
import { sharedRedis } from '../../stores/redis-env.js';
import { bigPair, linkOf, makeLog, texts } from './fixtures.js';

const { admin, skip, nextPrefix } = await sharedRedis("token budget's Redis");

describe('tokenBudget with a Redis store', { skip }, () => {
  it('pages written by one replica are read through another', async () => {
    const prefix = nextPrefix();
    const store = redisStore({ client: admin as never, prefix, timeoutMs: 2_000 });
    const writer = tokenBudget({ maxTokens: 2_000, store });
    const otherStore = redisStore({ client: admin as never, prefix, timeoutMs: 2_000 });
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
