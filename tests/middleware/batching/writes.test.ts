import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { CodecClientTransport } from '../../../src/codec/index.js';
import { coalesceWrites } from '../../../src/index.js';

/** A writable that records each call of the underlying write as one entry (writev: its chunks). */
function recordingWritable(): { stream: Writable; writes: string[][] } {
  const writes: string[][] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      writes.push([String(chunk)]);
      done();
    },
    writev(chunks, done) {
      writes.push(chunks.map((c) => String(c.chunk)));
      done();
    },
  });
  return { stream, writes };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('write coalescing', () => {
  it('sends the writes of one turn in one write, and a lone write within its turn', async () => {
    const { stream, writes } = recordingWritable();
    assert.equal(coalesceWrites(stream), stream);
    assert.equal(coalesceWrites(stream), stream, 'applying it twice is harmless');
    for (let i = 0; i < 5; i++) stream.write(`m${i}\n`);
    assert.equal(writes.length, 0, 'held until the end of the turn');
    await turn();
    assert.deepEqual(writes, [['m0\n', 'm1\n', 'm2\n', 'm3\n', 'm4\n']]);
    stream.write('alone\n');
    await new Promise<void>((resolve) => process.nextTick(resolve));
    assert.deepEqual(writes[1], ['alone\n'], 'a lone write leaves before the next turn');
  });

  it('the codec transport gathers the messages of one turn when asked to', async () => {
    for (const coalesce of [false, true]) {
      const { stream, writes } = recordingWritable();
      const transport = new CodecClientTransport(
        { readable: new PassThrough(), writable: stream },
        { codec: false, coalesceWrites: coalesce },
      );
      await transport.start();
      await Promise.all(
        [1, 2, 3].map((id) =>
          transport.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo' } }),
        ),
      );
      await turn();
      assert.equal(writes.length, coalesce ? 1 : 3);
      assert.equal(writes.flat().join('').split('\n').filter(Boolean).length, 3);
      await transport.close();
    }
    assert.throws(
      () => new CodecClientTransport({ command: 'x' }, { coalesceWrites: 'yes' as never }),
      /options\.coalesceWrites must be a boolean/,
    );
  });
});
