/**
 * A token budget on a server whose tool returns a 300 KB log: the client gets the first
 * 8,000 tokens and a marker, then reads the rest page by page through `resources/read`,
 * and checks that nothing was lost.
 *
 * Run: npx tsx examples/token-budget.ts
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { metrics, tokenBudget, withMiddleware } from 'mcp-perf';

const lines: string[] = [];
for (let i = 0; lines.join('\n').length < 300_000; i += 100) {
  for (let j = i; j < i + 100; j++) {
    lines.push(
      `2026-12-03T09:00:${String(j % 60).padStart(2, '0')}Z INFO worker-${j % 7} GET /api/items/${j} 200 ${j % 97}ms`,
    );
  }
}
const log = lines.join('\n').slice(0, 300_000);

const server = new McpServer({ name: 'logs', version: '1.0.0' });
server.registerTool('tail_log', { description: 'The service log.', inputSchema: {} }, async () => ({
  content: [{ type: 'text', text: log }],
}));

// The server declares no resources: the budget adds the capability and serves its pages.
const budget = tokenBudget({ maxTokens: 8_000 });
const meter = metrics({ tokens: budget.counter });
withMiddleware(server, [meter, budget]);

const client = new Client({ name: 'example-client', version: '1.0.0' });
const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
await server.connect(serverTransport);
await client.connect(clientTransport);

const result = await client.callTool({ name: 'tail_log', arguments: {} });
const content = result.content as Array<{ type: string; text?: string; uri?: string }>;
const kept = content[0]?.text ?? '';
process.stderr.write(`first answer: ${kept.length} characters, then:\n${content[1]?.text}\n`);

let text = kept;
let uri = content.find((block) => block.type === 'resource_link')?.uri;
let pages = 0;
while (uri !== undefined) {
  const page = await client.readResource({ uri });
  const [body, next] = page.contents as Array<{ uri: string; text: string }>;
  text += body?.text ?? '';
  uri = next?.uri;
  pages++;
}
process.stderr.write(`read ${pages} pages; the log came back ${text === log ? 'whole' : 'DIFFERENT'}\n`);
process.stderr.write(`${JSON.stringify(budget.stats().tools.tail_log)}\n`);
const tokens = meter.snapshot().operations.find((op) => op.tool === 'tail_log')?.tokens;
process.stderr.write(`metrics: ${tokens?.outPerRequest} tokens per tail_log call\n`);
await client.close();
