/** README: the batching section. */
import { exampleServer } from './server.js';

const server = exampleServer();
const db = {
  users: { findMany: async (ids: unknown[]) => ids.map((id) => ({ id, name: `user ${String(id)}` })) },
};

import { batching, withBatching } from 'mcp-perf';

// concurrent get_user calls become one findMany; identical ids share one row
const b = batching({
  tools: {
    get_user: {
      run: async (argsList) => {
        const rows = await db.users.findMany(argsList.map((args) => args.id));
        return rows.map((row) => ({ content: [{ type: 'text', text: JSON.stringify(row) }] }));
      },
    },
  },
});
withBatching(server, b);
b.stats(); // batches, items, mean batch size, dedup hits, request batches received
