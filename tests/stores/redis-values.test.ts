import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { Packr } from 'msgpackr';
import { redisStore } from '../../src/entries/redis.js';
import { isInvalidOptionError } from '../../src/errors/index.js';
import { cacheStoreContract, makeEntry } from '../../src/testing/index.js';
import { closeAfter, REDIS_URL, sharedRedis } from './redis-env.js';

const { admin, skip, nextPrefix } = await sharedRedis('Redis value encoding');

// Every entry msgpackr can carry is written in binary: the whole contract on that form.
cacheStoreContract(
  'redis (every entry binary)',
  ({ now }) =>
    redisStore({
      client: admin!,
      prefix: nextPrefix(),
      clock: now,
      timeoutMs: 2_000,
      encoding: { binaryOverBytes: 0 },
    }),
  { runner: { describe, it }, ...(skip === undefined ? {} : { skip }) },
);

/** A tool result of about `bytes` of JSON, text-heavy as most are. */
function textResult(bytes: number): { content: { type: 'text'; text: string }[] } {
  const line = 'row 0042: {"id":"a\\"b","score":0.93,"tags":["x","y"]} — ünïcødé ✓\n';
  return { content: [{ type: 'text', text: line.repeat(Math.ceil(bytes / line.length)) }] };
}

/** Which hash fields hold an entry: `v` (JSON), `b` (binary). */
async function fieldsOf(key: string): Promise<string[]> {
  const reply = (await admin!.sendCommand(['HKEYS', key])) as string[];
  return reply.filter((f) => f === 'v' || f === 'b').sort();
}

describe('redisStore encoding option', () => {
  test('rejects an invalid encoding, naming the option', () => {
    const cases: [unknown, string][] = [
      ['msgpack', 'encoding'],
      [true, 'encoding'],
      [{ binaryOverBytes: -1 }, 'encoding.binaryOverBytes'],
      [{ binaryOverBytes: 1.5 }, 'encoding.binaryOverBytes'],
      [{ binaryOverBytes: '4k' }, 'encoding.binaryOverBytes'],
    ];
    for (const [encoding, option] of cases) {
      assert.throws(
        () => redisStore({ url: REDIS_URL, encoding } as never),
        (error: unknown) => isInvalidOptionError(error) && error.option === option,
        JSON.stringify(encoding),
      );
    }
  });
});

describe('redisStore entries as JSON or msgpackr', { skip }, () => {
  test('large entries are written binary and small ones JSON; both read back as written', async () => {
    const prefix = nextPrefix();
    const store = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const now = Date.now();
    const large = makeEntry(textResult(40_000), now, { tags: ['docs', 'big'] });
    const small = makeEntry({ content: [{ type: 'text', text: 'ok' }] }, now, { tags: ['docs'] });
    await store.set('large', large);
    await store.set('small', small);
    assert.deepEqual(await fieldsOf(`${prefix}e:large`), ['b']);
    assert.deepEqual(await fieldsOf(`${prefix}e:small`), ['v']);
    assert.deepEqual(await store.get('large'), large);
    assert.deepEqual(await store.get('small'), small);
    // The tag index works the same for both forms.
    assert.equal(await store.invalidateTag('docs'), 2);
    assert.equal(await store.get('large'), undefined);
    assert.deepEqual(store.stats().corrupt, 0);
  });

  test('a value msgpackr cannot carry exactly is written as JSON, and reads back as its JSON', async () => {
    const prefix = nextPrefix();
    const store = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const now = Date.now();
    const text = 'x'.repeat(20_000);
    await store.set('nan', makeEntry({ text, score: Number.NaN }, now));
    await store.set('undefined', makeEntry({ text, gone: undefined }, now));
    assert.deepEqual(await fieldsOf(`${prefix}e:nan`), ['v']);
    assert.deepEqual((await store.get('nan'))?.value, { text, score: null });
    // An undefined property is left out before packing, as JSON leaves it out.
    assert.deepEqual(await fieldsOf(`${prefix}e:undefined`), ['b']);
    const value = (await store.get('undefined'))?.value as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), ['text']);
  });

  test('an entry written by an older version (JSON in v) is read', async () => {
    const prefix = nextPrefix();
    const store = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    await store.ready;
    const now = Date.now();
    const entry = makeEntry(textResult(40_000), now);
    // The hash exactly as the JSON-only store wrote it: epoch 0 (a fresh prefix), no tags.
    await admin!.sendCommand([
      'HSET',
      `${prefix}e:old`,
      'v',
      JSON.stringify(entry),
      't',
      '[]',
      's',
      String(entry.staleUntil),
      'g',
      '[0]',
    ]);
    assert.deepEqual(await store.get('old'), entry);
    assert.equal(store.stats().corrupt, 0);
  });

  test('replicas writing JSON only and replicas writing binary read each other', async () => {
    const prefix = nextPrefix();
    const jsonOnly = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000, encoding: false }));
    const binary = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const written = [
      { key: 'by-json-only', writer: jsonOnly, reader: binary, field: 'v' },
      { key: 'by-binary', writer: binary, reader: jsonOnly, field: 'b' },
    ];
    for (const { key, writer, reader, field } of written) {
      const entry = makeEntry(textResult(40_000), Date.now());
      await writer.set(key, entry);
      assert.deepEqual(await fieldsOf(`${prefix}e:${key}`), [field], key);
      assert.deepEqual(await reader.get(key), entry, key);
    }
    // A version that reads only `v` (HMGET v g) finds nothing in a binary entry: a miss.
    assert.deepEqual(await admin!.sendCommand(['HMGET', `${prefix}e:by-binary`, 'v', 'g']), [null, '[0]']);
  });

  test('a corrupt binary entry is a miss, is deleted and counted, and is never thrown', async () => {
    const prefix = nextPrefix();
    const store = closeAfter(redisStore({ client: admin!, prefix, timeoutMs: 2_000 }));
    const packed = new Packr({ useRecords: false }).pack({ value: 1, size: 'big' });
    const bodies: Record<string, Buffer> = {
      // 0xc1 is a byte MessagePack never uses.
      'bad-bytes': Buffer.from([1, 0xc1, 0xc1]),
      'unknown-format': Buffer.concat([Buffer.from([9]), packed]),
      'wrong-shape': Buffer.concat([Buffer.from([1]), packed]),
      truncated: Buffer.from([1]),
    };
    for (const [key, body] of Object.entries(bodies)) {
      await admin!.sendCommand(['HSET', `${prefix}e:${key}`, 'b', body, 'g', '[0]']);
    }
    for (const key of Object.keys(bodies)) {
      assert.equal(await store.get(key), undefined, key);
      assert.equal(await admin!.sendCommand(['EXISTS', `${prefix}e:${key}`]), 0, `${key} was deleted`);
    }
    assert.equal(store.stats().corrupt, Object.keys(bodies).length);
    assert.equal(store.stats().errors, 0);
  });
});
