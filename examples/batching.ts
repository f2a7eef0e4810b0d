/**
 * Batching, all three forms:
 *
 * - the server answers `get_user` with a batch handler: forty concurrent lookups become
 *   one query of a (pretend) database, and duplicate ids share one row;
 * - the client and the server both run `batching()`, agree on request batching in the
 *   handshake: the first of the forty calls goes at once and the other thirty-nine travel
 *   as one batch request;
 * - `coalesceWrites()` gathers the writes of one turn on a stream transport (shown on a
 *   stream here; hand it the stdout of a stdio server).
 *
 * Run: npx tsx examples/batching.ts
 */
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { batching, coalesceWrites, withBatching } from 'mcp-perf';
import { z } from 'zod';

// The pretend database: one query answers any number of ids.
const users = new Map([1, 2, 3, 4, 5].map((id) => [id, { id, name: `user-${id}` }]));
let queries = 0;
async function findUsers(ids: number[]) {
  queries++;
  return ids.map((id) => users.get(id));
}

const server = new McpServer({ name: 'directory', version: '1.0.0' });
// The tool stays registered: it is what tools/list shows, and what answers when batching is off.
server.registerTool('get_user', { inputSchema: { id: z.number() } }, async ({ id }) => {
  const [user] = await findUsers([id]);
  return { content: [{ type: 'text', text: JSON.stringify(user ?? null) }] };
});

const serverBatching = batching({
  tools: {
    get_user: {
      maxWaitMs: 1,
      run: async (argsList) => {
        const rows = await findUsers(argsList.map((args) => Number(args.id)));
        // One outcome per input, in order; an Error fails that input's callers only.
        return rows.map((row, i) =>
          row
            ? { content: [{ type: 'text', text: JSON.stringify(row) }] }
            : new Error(`no user ${String(argsList[i]?.id)}`),
        );
      },
    },
  },
});
withBatching(server, serverBatching);

// The client offers request batching; the server above accepts it.
const clientBatching = batching();
const client = withBatching(new Client({ name: 'agent', version: '1.0.0' }), clientBatching);

const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
await server.connect(serverSide);
await client.connect(clientSide);

const ids = Array.from({ length: 40 }, (_, i) => (i % 6) + 1);
const results = await Promise.all(ids.map((id) => client.callTool({ name: 'get_user', arguments: { id } })));
const failed = results.filter((r) => r.isError).length;
console.log(
  `${results.length} calls answered (${failed} errors: id 6 does not exist) with ${queries} database query`,
);
console.log('server:', serverBatching.stats());
console.log('client:', clientBatching.stats());

// Write coalescing: five messages written in one turn leave in one write. (A pipe or a
// socket, like a stdio server's stdout, hands such a write to the kernel as one writev.)
let writes = 0;
const out = coalesceWrites(
  new Writable({
    write: (_chunk, _encoding, done) => {
      writes++;
      done();
    },
    writev: (_chunks, done) => {
      writes++;
      done();
    },
  }),
);
for (let i = 0; i < 5; i++)
  out.write(`{"jsonrpc":"2.0","method":"notifications/message","params":{"n":${i}}}\n`);
await new Promise((resolve) => setImmediate(resolve));
console.log(`5 messages written in one turn left in ${writes} write`);

await client.close();
await server.close();
