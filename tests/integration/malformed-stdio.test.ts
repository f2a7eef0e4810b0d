import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawChild } from '../helpers/child.js';
import { textOf } from '../helpers/stacks.js';

const FIVE_MB = 5 * 1024 * 1024;

/**
 * Writes hostile input into a stdio server whose stack runs inside the child; the
 * connection must keep answering and nothing may crash or reach stdout but JSON-RPC.
 */
async function survivesGarbage(fixture: string): Promise<void> {
  const child = new RawChild(fixture, { MCP_PERF_SERVER_STACK: '1' });
  try {
    await child.initialize();
    child.write('this is not json\n');
    child.write('{"jsonrpc":"2.0","id":\n');
    child.send({ jsonrpc: '2.0', id: 'nobody-asked', result: {} });
    child.send({ jsonrpc: '2.0', id: 'no-such-request', error: { code: -1, message: 'stray' } });
    child.send({ jsonrpc: '2.0', id: 5, method: 42 });
    child.send({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: 'not an object' });
    child.send([{ jsonrpc: '2.0', method: 'notifications/initialized' }, 7]);

    const before = await child.request('before-big', 'tools/call', {
      name: 'echo',
      arguments: { text: 'still here' },
    });
    assert.equal(textOf(before.result), 'still here');

    const big = 'x'.repeat(FIVE_MB);
    const echoed = await child.request('big', 'tools/call', { name: 'echo', arguments: { text: big } });
    assert.equal(textOf(echoed.result)?.length, FIVE_MB, 'a 5 MB message goes through the stack and back');

    const local = await child.request('local', 'tools/call', { name: 'local', arguments: {} });
    assert.equal(textOf(local.result), 'answered locally', 'the stack still runs');
    const after = await child.request('after', 'tools/call', { name: 'echo', arguments: { text: 'after' } });
    assert.equal(textOf(after.result), 'after');

    assert.equal(child.process.exitCode, null, 'the child is still running');
    assert.deepEqual(child.strayLines(), [], 'only JSON-RPC on stdout');
    for (const line of child.lines) {
      const message = JSON.parse(line) as { id?: unknown };
      assert.notEqual(message.id, 'nobody-asked', 'a stray response is never echoed back');
    }
  } finally {
    assert.equal(await child.close(), 0, `clean exit; stderr: ${child.stderr.slice(0, 2000)}`);
  }
}

describe('malformed input over stdio', { concurrency: true }, () => {
  it('SDK v1 server with a stack: keeps working after garbage, stray responses, bad requests and 5 MB', async () => {
    await survivesGarbage('stdio-server-v1.ts');
  });

  it('SDK v2 server with a stack: keeps working after garbage, stray responses, bad requests and 5 MB', async () => {
    await survivesGarbage('stdio-server-v2.ts');
  });
});
