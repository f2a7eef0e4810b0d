import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { linkPair, type PairStacks } from '../../helpers/servers.js';

/** A log of `lines` lines, deterministic, about 90 bytes a line. */
export function makeLog(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const level = i % 17 === 0 ? 'WARN' : i % 53 === 0 ? 'ERROR' : 'INFO';
    out.push(
      `2026-12-03T09:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z ${level} worker-${i % 7} request id=${10_000 + i} path=/api/items/${i % 311} status=${i % 53 === 0 ? 500 : 200} took=${(i * 7) % 400}ms`,
    );
  }
  return out.join('\n');
}

/** Rows for the structured tool. */
export function makeRows(n: number): Array<{ id: number; name: string; score: number }> {
  return Array.from({ length: n }, (_, i) => ({ id: i, name: `item ${i}`, score: (i * 37) % 101 }));
}

/** Text with every kind of cluster a cut must not split. */
export const TRICKY =
  'Emoji 😀 family 👨‍👩‍👧‍👦 flag 🇫🇷 skin 👍🏽 CJK 漢字かなカナ한국어 combining e\u0301 a\u0308 ' +
  'Zalgo ẑ̸̢̛ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 keycap 1️⃣ ';

/**
 * A server without resources whose tools return large results: `log` (a text log of
 * `lines` lines), `small`, `report` (structured content with an outputSchema, plus a text
 * copy), `loose` (structured content without an outputSchema), `pretty` (pretty JSON),
 * `tricky` (emoji, ZWJ sequences, CJK, combining marks), `blocks` (several text blocks).
 */
export function createBigServer(options: { lines?: number; rows?: number } = {}): McpServer {
  const log = makeLog(options.lines ?? 3_000);
  const rows = makeRows(options.rows ?? 2_000);
  const server = new McpServer({ name: 'big', version: '1.0.0' });
  server.registerTool('log', { inputSchema: {} }, async () => ({ content: [{ type: 'text', text: log }] }));
  server.registerTool('small', { inputSchema: {} }, async () => ({
    content: [{ type: 'text', text: 'ok' }],
  }));
  server.registerTool(
    'report',
    {
      inputSchema: { n: z.number().optional() },
      outputSchema: { rows: z.array(z.object({ id: z.number(), name: z.string(), score: z.number() })) },
    },
    async ({ n }) => {
      const some = n === undefined ? rows : rows.slice(0, n);
      return {
        content: [{ type: 'text', text: JSON.stringify({ rows: some }) }],
        structuredContent: { rows: some },
      };
    },
  );
  server.registerTool('loose', { inputSchema: {} }, async () => ({
    content: [{ type: 'text', text: 'see the structured content' }],
    structuredContent: { rows },
  }));
  server.registerTool('pretty', { inputSchema: { n: z.number() } }, async ({ n }) => ({
    content: [{ type: 'text', text: JSON.stringify(rows.slice(0, n), null, 2) }],
  }));
  server.registerTool('tricky', { inputSchema: { repeat: z.number() } }, async ({ repeat }) => ({
    content: [{ type: 'text', text: TRICKY.repeat(repeat) }],
  }));
  server.registerTool('blocks', { inputSchema: {} }, async () => ({
    content: [
      { type: 'text', text: log.slice(0, 20_000) },
      { type: 'text', text: log.slice(20_000, 60_000) },
      { type: 'text', text: log.slice(60_000, 90_000) },
    ],
  }));
  return server;
}

/** A connected v1 pair around {@link createBigServer}. */
export function bigPair(stacks: PairStacks, lines?: number) {
  return linkPair(createBigServer({ lines }), {}, stacks);
}

/** The text blocks of a tool result. */
export function texts(result: unknown): string[] {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.filter((b) => b.type === 'text').map((b) => b.text ?? '');
}

/** The resource link of a cut result. */
export function linkOf(result: unknown): string | undefined {
  const content = (result as { content?: Array<{ type: string; uri?: string }> }).content ?? [];
  return content.find((b) => b.type === 'resource_link')?.uri;
}
