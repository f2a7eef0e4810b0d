import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { fixtureCommand } from '../helpers/child.js';
import type { Counts } from '../helpers/servers.js';
import { MODERN_AND_LEGACY_VERSIONS } from '../helpers/servers-v2.js';
import { LOCAL_TEXT, RecordingTransport, runScenario, STATS_TOOL, textOf } from '../helpers/stacks.js';

const MODERN = '2026-07-28';

async function childStats(client: Client): Promise<{ counts: Counts; log: string[]; eras: string[] }> {
  return JSON.parse(textOf(await client.callTool({ name: STATS_TOOL, arguments: {} })) ?? '{}');
}

function v2StdioTransport(env: Record<string, string>) {
  const { command, args, cwd, env: fullEnv } = fixtureCommand('stdio-server-v2.ts', env);
  return new StdioClientTransport({ command, args, cwd, env: fullEnv, stderr: 'pipe' });
}

describe('SDK v2 over stdio (child process, stack inside the child)', { concurrency: true }, () => {
  it('legacy era: the 2025 handshake, the stack sees a legacy session', async () => {
    const wire = new RecordingTransport(v2StdioTransport({ MCP_PERF_SERVER_STACK: '1' }));
    const client = new Client({ name: 'stdio-v2', version: '2.0.0' });
    await client.connect(wire);
    try {
      await runScenario({
        client,
        readCounts: async () => (await childStats(client)).counts,
        readLog: async () => (await childStats(client)).log,
        wire,
        sdk: 'v2',
      });
      const { eras } = await childStats(client);
      assert.equal(eras[0], 'initialize:legacy');
      for (const seen of eras) assert.match(seen, /:legacy$/);
      const local = wire.received.find((m) => 'result' in m && textOf(m.result) === LOCAL_TEXT) as {
        result: Record<string, unknown>;
      };
      assert.equal(local.result.resultType, undefined, 'no modern fields on a legacy connection');
    } finally {
      await client.close();
    }
  });

  it('modern era (2026-07-28): server/discover, no initialize, local answers completed', async () => {
    const wire = new RecordingTransport(
      v2StdioTransport({ MCP_PERF_SERVER_STACK: '1', MCP_PERF_MODERN: '1' }),
    );
    const client = new Client(
      { name: 'stdio-modern', version: '2.0.0' },
      {
        supportedProtocolVersions: MODERN_AND_LEGACY_VERSIONS,
        versionNegotiation: { mode: { pin: MODERN } },
      },
    );
    await client.connect(wire);
    try {
      await runScenario({
        client,
        readCounts: async () => (await childStats(client)).counts,
        readLog: async () => (await childStats(client)).log,
        wire,
        sdk: 'v2',
      });
      const { eras } = await childStats(client);
      assert.equal(eras[0], 'server/discover:modern');
      for (const seen of eras) assert.match(seen, /:modern$/);
      const local = wire.received.find((m) => 'result' in m && textOf(m.result) === LOCAL_TEXT) as {
        result: Record<string, unknown>;
      };
      assert.equal(local.result.resultType, 'complete');
    } finally {
      await client.close();
    }
  });
});
