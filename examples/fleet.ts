/**
 * A fleet of three replicas behind a round-robin client, sharing one Redis: calls spread
 * over the replicas, yet each distinct call runs once across the fleet, a burst of
 * identical calls runs once, and an invalidation made on one replica reaches the others.
 * Each replica is `examples/fleet-replica.ts`, started as a stdio child process.
 *
 * Run: npx tsx examples/fleet.ts [redis://127.0.0.1:6379]
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createClient } from 'redis';

const url = process.argv[2] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const replicaPath = fileURLToPath(new URL('./fleet-replica.ts', import.meta.url));
const prefix = `fleet-example-${process.pid}:`;

/** A client that sends each call to the next replica in turn, as a round-robin load balancer would. */
class RoundRobin {
  #next = 0;
  constructor(readonly replicas: readonly Client[]) {}
  async call(name: string, args: Record<string, unknown> = {}, replica?: number): Promise<string> {
    const client = this.replicas[replica ?? this.#next++ % this.replicas.length]!;
    const result = await client.callTool({ name, arguments: args });
    return (result.content as { text: string }[])[0]!.text;
  }
}

const replicas = await Promise.all(
  [0, 1, 2].map(async () => {
    const client = new Client({ name: 'fleet-example', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', replicaPath],
        env: { ...(process.env as Record<string, string>), REDIS_URL: url, FLEET_PREFIX: prefix },
        stderr: 'inherit',
      }),
    );
    return client;
  }),
);
const fleet = new RoundRobin(replicas);
const runs = async () => {
  let n = 0;
  for (let i = 0; i < 3; i++)
    n += (JSON.parse(await fleet.call('fleet_status', {}, i)) as { runs: number }).runs;
  return n;
};

try {
  const keys = ['a', 'b', 'c', 'a', 'a', 'b', 'd', 'a', 'c', 'a', 'b', 'a'];
  for (const key of keys) await fleet.call('lookup', { key });
  console.log(`${keys.length} lookups of ${new Set(keys).size} keys over 3 replicas: ${await runs()} runs`);

  const before = await runs();
  await Promise.all(Array.from({ length: 12 }, () => fleet.call('slow_lookup', { key: 'hot' })));
  console.log(`12 identical slow lookups at once: ${(await runs()) - before} run(s)`);

  const old = await fleet.call('lookup', { key: 'a' }, 1);
  await fleet.call('invalidate', { pattern: 'tool:lookup' }, 0);
  const fresh = await fleet.call('lookup', { key: 'a' }, 1);
  console.log(`after an invalidation on replica 0, replica 1 answers ${fresh} (was ${old})`);
} finally {
  await Promise.all(replicas.map((c) => c.close()));
  // This run's keys, so the example leaves nothing behind in your Redis.
  const admin = await createClient({ url }).connect();
  for await (const keys of admin.scanIterator({ MATCH: `${prefix}*` }))
    if (keys.length > 0) await admin.unlink(keys);
  await admin.close();
}
