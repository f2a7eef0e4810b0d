/**
 * A host that keeps its model's context small: the client side of an MCP connection runs
 * a tool filter in search mode, so the model sees one `search_tools` tool (plus a pinned
 * one) instead of the server's whole list, finds what it needs, and calls it directly.
 * Destructive tools are hidden altogether, and calling one by name gets the server's own
 * "unknown tool" answer.
 *
 * Run: npx tsx examples/tool-filter.ts
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { approximateTokenCounter, toolFilter, withToolFilter } from 'mcp-perf';
import { z } from 'zod';

// A server with a dozen tools from several domains.
const server = new McpServer({ name: 'workspace', version: '1.0.0' });
const tools: [name: string, description: string, readOnly: boolean][] = [
  ['read_file', 'Read the contents of a file in the workspace', true],
  ['write_file', 'Create or overwrite a file with new content', false],
  ['delete_file', 'Permanently delete a file', false],
  ['git_log', 'Show the commit history of the current branch', true],
  ['git_commit', 'Record staged changes as a new commit', false],
  ['list_events', 'List calendar events between two dates', true],
  ['create_event', 'Schedule a meeting with attendees on the calendar', false],
  ['send_email', 'Send an email message to one or more recipients', false],
  ['search_emails', 'Search the mailbox for matching messages', true],
  ['get_weather', 'Current weather conditions for a city', true],
  ['create_refund', 'Refund a payment back to the customer', false],
  ['sql_query', 'Run a read-only SQL SELECT query against the database', true],
];
for (const [name, description, readOnly] of tools) {
  server.registerTool(
    name,
    {
      description,
      inputSchema: { input: z.string().describe('What to act on') },
      annotations: {
        readOnlyHint: readOnly,
        destructiveHint: name.startsWith('delete') || name.includes('refund'),
      },
    },
    async ({ input }) => ({ content: [{ type: 'text', text: `${name}(${input}) done` }] }),
  );
}

// The host's side: a client with the filter. Keep the instance to read its figures.
const filter = toolFilter({
  mode: 'search',
  pinned: ['get_weather'],
  rules: { annotations: { destructiveHint: false } },
  tokens: approximateTokenCounter(),
});
const client = withToolFilter(new Client({ name: 'host', version: '1.0.0' }), filter);

const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
await server.connect(serverSide);
await client.connect(clientSide);

// What the model is given up front.
const listed = await client.listTools();
console.log('listed:', listed.tools.map((t) => t.name).join(', '));

// The model searches, then calls what it found.
const found = await client.callTool({
  name: 'search_tools',
  arguments: { query: 'schedule a meeting', limit: 2 },
});
const names = (found.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
console.log('found:', names.join(', '));
const called = await client.callTool({
  name: names[0] ?? 'create_event',
  arguments: { input: 'standup at 9' },
});
console.log('called:', JSON.stringify(called.content));

// A hidden tool is indistinguishable from one the server does not have.
const hidden = await client.callTool({ name: 'delete_file', arguments: { input: 'notes.txt' } });
console.log('delete_file:', JSON.stringify(hidden.content));

const stats = filter.stats();
console.log(
  `definition tokens: ${stats.tokensAfter} of ${stats.tokensBefore} listed ` +
    `(${stats.toolsListed} of ${stats.toolsAvailable} tools), ${stats.searches} search, ${stats.rejectedCalls} rejected call`,
);

await client.close();
await server.close();
