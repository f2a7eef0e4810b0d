/**
 * The pool over real upstream server processes (stdio children): distribution, a
 * replica that cannot start, no lost or duplicated unsafe call, and stickiness.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createUpstreamPool, type PoolEvent, type UpstreamPool } from '../../src/pool/index.js';
import { alive, gone } from '../cli/helpers.js';
import { fixtureCommand } from '../helpers/child.js';
import { tally, textOf, whoami } from './replicas.js';

const pools: UpstreamPool[] = [];
after(() => Promise.all(pools.map((p) => p.close())));

function child(name: string) {
  const { command, args, cwd, env } = fixtureCommand('pool-replica.ts', { REPLICA: name });
  return { name, command, args, cwd, env };
}

async function connect(pool: UpstreamPool): Promise<Client> {
  const client = new Client({ name: 'pool-children', version: '1.0.0' });
  await client.connect(pool.transport());
  await client.listTools();
  return client;
}

describe('upstream pool over child processes', () => {
  it('spreads calls over three processes and fails over from one that cannot start, running each write once', async () => {
    const events: PoolEvent[] = [];
    const pool = createUpstreamPool({
      upstreams: [child('a'), { name: 'gone', command: '/nonexistent/mcp-server' }, child('c')],
      strategy: 'round-robin',
      sessions: 'spread',
      health: { intervalMs: 0 },
      onEvent: (e) => events.push(e),
    });
    pools.push(pool);
    const client = await connect(pool);
    const names: string[] = [];
    for (let i = 0; i < 8; i++) names.push(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
    assert.deepEqual(tally(names), { a: 4, c: 4 });
    const ids = Array.from({ length: 12 }, (_, i) => `w${i}`);
    const results = await Promise.all(ids.map((id) => client.callTool({ name: 'write', arguments: { id } })));
    assert.equal(results.length, 12);
    // Each process's own log: every write ran exactly once, on a or c.
    const logs: string[] = [];
    for (let i = 0; i < 4; i++) {
      logs.push(...(JSON.parse(textOf(await client.callTool({ name: 'log', arguments: {} }))) as string[]));
    }
    assert.deepEqual([...new Set(logs)].sort(), [...ids].sort());
    assert.ok(events.some((e) => e.type === 'retry' && e.upstream === 'gone'));
    await client.close();
  });

  it('keeps a legacy session on the process that initialized it', async () => {
    const pool = createUpstreamPool({
      upstreams: [child('a'), child('b')],
      strategy: 'round-robin',
      health: { intervalMs: 0 },
    });
    pools.push(pool);
    const [first, second] = await Promise.all([connect(pool), connect(pool)]);
    const homes: string[] = [];
    for (const client of [first!, second!]) {
      const names: string[] = [];
      for (let i = 0; i < 4; i++)
        names.push(textOf(await client.callTool({ name: 'whoami', arguments: {} })));
      assert.equal(new Set(names).size, 1);
      homes.push(names[0]!);
    }
    assert.deepEqual(homes.sort(), ['a', 'b']);
    await Promise.all([first!.close(), second!.close()]);
  });

  it('reconfigured, lets a removed process finish its running call, then ends it, and replaces a changed one', async () => {
    const options = { strategy: 'round-robin', sessions: 'spread', health: { intervalMs: 0 } } as const;
    const pool = createUpstreamPool({ upstreams: [child('a'), child('b')], ...options });
    pools.push(pool);
    const client = await connect(pool);
    // Both processes start at once: one call each.
    const pids: Record<string, number> = {};
    for (const result of await Promise.all(
      [0, 1].map(() => client.callTool({ name: 'pid', arguments: {} })),
    )) {
      const [name, pid] = textOf(result).split(' ');
      pids[name!] = Number(pid);
    }
    assert.deepEqual(Object.keys(pids).sort(), ['a', 'b']);
    // One slow call on each process; a leaves the pool while its call runs.
    const sleeps = [0, 1].map(() => client.callTool({ name: 'sleep', arguments: { ms: 300 } }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const changes = pool.reconfigure({ upstreams: [child('b')], ...options });
    assert.deepEqual(changes, { added: [], removed: ['a'], replaced: [], kept: ['b'] });
    assert.equal(alive(pids.a!), true, 'a runs while its call is in flight');
    assert.deepEqual((await Promise.all(sleeps)).map(textOf).sort(), ['a', 'b']);
    assert.equal(await gone(pids.a!, 5000), true, 'then its process ends');
    assert.deepEqual(tally(await whoami(client, 2)), { b: 2 });
    assert.equal(alive(pids.b!), true, 'b kept its process');
    // A new command line under the name b cannot be applied to a running process: a new
    // process takes the name, and the old one ends.
    const replaced = pool.reconfigure({ upstreams: [{ ...child('b2'), name: 'b' }], ...options });
    assert.deepEqual(replaced, { added: [], removed: [], replaced: ['b'], kept: [] });
    assert.equal(await gone(pids.b!, 5000), true, 'the old b process ends');
    assert.deepEqual(tally(await whoami(client, 2)), { b2: 2 });
    assert.equal(pool.stats().upstreams[0]!.name, 'b');
    await client.close();
  });
});
