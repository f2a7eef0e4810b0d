import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { withMiddleware } from '../../src/index.js';
import { fixtureTransport, RawChild } from '../helpers/child.js';
import { RecordingTransport, runScenario, STATS_TOOL, scenarioStack, textOf } from '../helpers/stacks.js';

const FIXTURE = 'stdio-server-v1.ts';

async function childStats(client: Client): Promise<{ counts: Record<string, number>; log: string[] }> {
  const result = await client.callTool({ name: STATS_TOOL, arguments: {} });
  return JSON.parse(textOf(result) ?? '{}');
}

describe('SDK v1 over stdio (child process)', { concurrency: true }, () => {
  it('runs a stack on the server side, inside the child', async () => {
    const { transport, stderr } = fixtureTransport(FIXTURE, { MCP_PERF_SERVER_STACK: '1' });
    const wire = new RecordingTransport(transport);
    const errors: Error[] = [];
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    client.onerror = (error) => errors.push(error);
    await client.connect(wire);
    try {
      await runScenario({
        client,
        readCounts: async () => (await childStats(client)).counts,
        readLog: async () => (await childStats(client)).log,
        wire,
      });
      // A stray line on the child's stdout would have surfaced here as a parse error. The v1
      // client's own complaint about progress that arrived after its response (see
      // ScenarioOptions.wire) is not about the stream.
      const streamErrors = errors.filter(
        (e) => !e.message.includes('progress notification for an unknown token'),
      );
      assert.deepEqual(streamErrors, [], stderr());
    } finally {
      await client.close();
    }
  });

  it('runs a stack on the client side, in this process', async () => {
    const log: string[] = [];
    const { transport } = fixtureTransport(FIXTURE);
    const client = withMiddleware(new Client({ name: 'stdio-test', version: '1.0.0' }), scenarioStack(log));
    await client.connect(transport);
    try {
      await runScenario({
        client,
        readCounts: async () => (await childStats(client)).counts,
        readLog: async () => log,
      });
    } finally {
      await client.close();
    }
  });

  it('writes nothing but JSON-RPC lines to stdout while the stack runs (pitfall 10)', async () => {
    const child = new RawChild(FIXTURE, { MCP_PERF_SERVER_STACK: '1' });
    try {
      const init = await child.initialize();
      assert.equal((init.result as { protocolVersion?: string }).protocolVersion, '2025-11-25');
      const local = await child.request(2, 'tools/call', { name: 'local', arguments: {} });
      assert.equal(textOf(local.result), 'answered locally');
      const echo = await child.request(3, 'tools/call', { name: 'echo', arguments: { text: 'x' } });
      assert.equal(textOf(echo.result), 'x');
      const progress = await child.request(4, 'tools/call', {
        name: 'progress',
        arguments: { steps: 2 },
        _meta: { progressToken: 'p' },
      });
      assert.equal(textOf(progress.result), 'done 2');
      assert.equal(child.lines.length, 6, 'four responses and two progress notifications');
      assert.deepEqual(child.strayLines(), []);
    } finally {
      assert.equal(await child.close(), 0, child.stderr);
    }
  });
});
