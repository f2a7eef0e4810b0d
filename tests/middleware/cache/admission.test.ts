import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInvalidOptionError } from '../../../src/index.js';
import { Doorkeeper } from '../../../src/middleware/cache/admission.js';
import { cache } from '../../../src/middleware/cache/index.js';
import { connectPair } from '../../helpers/servers.js';
import { fakeClock, textOf, until } from './helpers.js';

const echo = (text: string) => ({ name: 'echo', arguments: { text } });

describe("admission: 'repeat'", () => {
  it('stores a result from the second answer of its key on, never the first', async () => {
    const c = cache({ tools: { include: ['echo'] }, admission: 'repeat' });
    const pair = await connectPair({ server: [c] });
    try {
      await pair.client.callTool(echo('a'));
      assert.equal(pair.counts.echo, 1);
      assert.deepEqual([c.stats().stored, c.stats().notAdmitted, c.stats().entries], [0, 1, 0]);
      await pair.client.callTool(echo('a'));
      assert.equal(pair.counts.echo, 2, 'the second call still reaches the tool');
      assert.deepEqual([c.stats().stored, c.stats().notAdmitted], [1, 1]);
      const third = await pair.client.callTool(echo('a'));
      assert.equal(pair.counts.echo, 2, 'the third is a hit');
      assert.equal(textOf(third), 'a');
      assert.equal(c.stats().hits, 1);
      await pair.client.callTool(echo('b'));
      assert.deepEqual([c.stats().stored, c.stats().notAdmitted, c.stats().entries], [1, 2, 1]);
    } finally {
      await pair.close();
    }
  });

  it('always stores the background refresh of an entry it holds', async () => {
    const clock = fakeClock();
    const c = cache({
      clock: clock.now,
      tools: { include: ['echo'], ttlMs: 1_000, staleMs: 10_000 },
      admission: 'repeat',
      admissionWindow: 1,
    });
    const pair = await connectPair({ server: [c] });
    try {
      await pair.client.callTool(echo('a'));
      await pair.client.callTool(echo('a'));
      assert.equal(c.stats().stored, 1);
      // A window of one: answering another key makes the doorkeeper forget `a`.
      await pair.client.callTool(echo('b'));
      clock.advance(1_500);
      await pair.client.callTool(echo('a'));
      assert.equal(c.stats().stale, 1);
      await until(() => c.stats().stored === 2, 'the refresh to be stored');
      assert.equal(
        c.stats().stored,
        2,
        'the refresh was stored although the doorkeeper had forgotten the key',
      );
      await pair.client.callTool(echo('a'));
      assert.equal(c.stats().hits, 1);
    } finally {
      await pair.close();
    }
  });

  it('rejects an unknown admission and a window out of range, naming the option', () => {
    for (const [options, option] of [
      [{ admission: 'sometimes' }, 'admission'],
      [{ admissionWindow: 0 }, 'admissionWindow'],
      [{ admissionWindow: 1.5 }, 'admissionWindow'],
    ] as const) {
      assert.throws(
        () => cache(options as never),
        (error: unknown) => isInvalidOptionError(error) && error.message.includes(option),
      );
    }
  });
});

describe('Doorkeeper', () => {
  it('admits a key answered within its window and starts over when the window is full', () => {
    const d = new Doorkeeper(3);
    assert.equal(d.admit('a'), false);
    assert.equal(d.admit('a'), true);
    assert.equal(d.admit('b'), false);
    assert.equal(d.admit('c'), false);
    assert.equal(d.admit('a'), true, 'still within the window of three');
    assert.equal(d.admit('d'), false, 'the fourth distinct key clears the filter first');
    assert.equal(d.admit('a'), false, 'forgotten');
    assert.equal(d.admit('d'), true);
  });
});
