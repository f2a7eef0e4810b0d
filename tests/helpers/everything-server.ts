/**
 * An MCP server (SDK v1 `McpServer`) that implements every tool, resource and prompt the
 * official conformance suite (`@modelcontextprotocol/conformance`) exercises, and a
 * Streamable HTTP front for it.
 *
 * `startEverythingHttp({ wrap })` calls `wrap(server)` on each new `McpServer` before it
 * is connected: that is where a test installs the middleware pipeline, so the same
 * scenarios can run against the bare server and against the wrapped one.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate, type ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type EventId,
  type EventStore,
  StreamableHTTPServerTransport,
  type StreamId,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AnySchema } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  type JSONRPCMessage,
  ListToolsRequestSchema,
  McpError,
  SubscribeRequestSchema,
  type Tool,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** A 1×1 PNG pixel. */
export const PNG_1X1_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGOQm/AfAAJ9Aa5x8yHNAAAAAElFTkSuQmCC';

/** A short silent WAV file (8 kHz, mono, 16-bit PCM, 8 samples). */
export const WAV_SILENCE_BASE64 = silentWav(8).toString('base64');

function silentWav(samples: number): Buffer {
  const dataBytes = samples * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(8000, 24); // sample rate
  wav.writeUInt32LE(16000, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  return wav;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const COMPLETION_WORDS = ['paris', 'park', 'party', 'test', 'testing', 'tester'];

/**
 * The JSON Schema 2020-12 tool's input. Its `address` schema is given an id in a local
 * registry so that the listing refers to it through `$defs` / `$ref`.
 */
const addressSchema = z.object({ street: z.string().optional(), city: z.string().optional() });
const jsonSchemaToolInput = z.strictObject({
  name: z.string().optional(),
  address: addressSchema.optional(),
});
const schemaIds = z.registry<{ id: string }>();
schemaIds.add(addressSchema, { id: 'address' });

function listedSchema(input: z.ZodObject | undefined): Tool['inputSchema'] {
  if (!input) return { type: 'object', properties: {} };
  return z.toJSONSchema(input, {
    target: 'draft-2020-12',
    io: 'input',
    metadata: schemaIds,
  }) as Tool['inputSchema'];
}

/** Options of {@link createEverythingServer}. */
export interface EverythingServerOptions {
  /**
   * How long the tools that ask the client (sampling, elicitation) wait for its answer.
   * Default: the SDK's (60 s). A stateless HTTP server never gets the answer (it arrives
   * in a new POST, at a new server), so {@link startEverythingHttp} sets a short one there.
   */
  clientRequestTimeoutMs?: number;
}

/**
 * Creates the conformance "everything" server: one instance per session.
 *
 * Tools: `test_simple_text`, `test_image_content`, `test_audio_content`,
 * `test_embedded_resource`, `test_multiple_content_types`, `test_tool_with_logging`,
 * `test_tool_with_progress`, `test_error_handling`, `test_sampling`, `test_elicitation`,
 * `test_elicitation_sep1034_defaults`, `test_elicitation_sep1330_enums`,
 * `test_reconnection`, `json_schema_2020_12_tool`.
 * Resources: `test://static-text`, `test://static-binary`, `test://watched-resource`
 * (subscribable) and the template `test://template/{id}/data`.
 * Prompts: `test_simple_prompt`, `test_prompt_with_arguments` (with completion on
 * `arg1`), `test_prompt_with_embedded_resource`, `test_prompt_with_image`.
 */
export function createEverythingServer(options: EverythingServerOptions = {}): McpServer {
  const { clientRequestTimeoutMs } = options;
  const askClient = clientRequestTimeoutMs === undefined ? undefined : { timeout: clientRequestTimeoutMs };
  const mcp = new McpServer(
    { name: 'mcp-perf-everything', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
      },
    },
  );

  // The SDK lists tool inputs as draft-07 JSON Schema; the conformance suite expects
  // 2020-12 keywords ($schema, $defs) to survive, so the listing is produced here.
  const listing: Tool[] = [];
  function tool<S extends AnySchema & z.ZodObject>(
    name: string,
    description: string,
    input: S,
    cb: ToolCallback<S>,
  ): void {
    mcp.registerTool(name, { description, inputSchema: input }, cb);
    listing.push({ name, description, inputSchema: listedSchema(input) });
  }
  const noArgs = z.object({});

  tool('test_simple_text', 'Returns a simple text response', noArgs, () => ({
    content: [{ type: 'text', text: 'This is a simple text response for testing.' }],
  }));

  tool('test_image_content', 'Returns an image', noArgs, () => ({
    content: [{ type: 'image', data: PNG_1X1_BASE64, mimeType: 'image/png' }],
  }));

  tool('test_audio_content', 'Returns an audio clip', noArgs, () => ({
    content: [{ type: 'audio', data: WAV_SILENCE_BASE64, mimeType: 'audio/wav' }],
  }));

  tool('test_embedded_resource', 'Returns an embedded resource', noArgs, () => ({
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.',
        },
      },
    ],
  }));

  tool('test_multiple_content_types', 'Returns text, an image and an embedded resource', noArgs, () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG_1X1_BASE64, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 }),
        },
      },
    ],
  }));

  tool('test_tool_with_logging', 'Sends three log messages while it runs', noArgs, async (_args, extra) => {
    const log = (data: string) =>
      extra.sendNotification({
        method: 'notifications/message',
        params: { level: 'info', logger: 'everything', data },
      });
    await log('Tool execution started');
    await sleep(50);
    await log('Tool processing data');
    await sleep(50);
    await log('Tool execution completed');
    return { content: [{ type: 'text', text: 'Logging tool finished' }] };
  });

  tool('test_tool_with_progress', 'Reports progress 0, 50, 100 of 100', noArgs, async (_args, extra) => {
    const token = extra._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (progress > 0) await sleep(50);
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress, total: 100 },
        });
      }
    }
    return { content: [{ type: 'text', text: 'Progress tool finished' }] };
  });

  tool('test_error_handling', 'Always fails', noArgs, () => {
    throw new Error('This tool intentionally returns an error for testing');
  });

  tool(
    'test_sampling',
    'Asks the client to sample an LLM',
    z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
    async ({ prompt }, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'sampling/createMessage',
          params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
        },
        CreateMessageResultSchema,
        askClient,
      );
      const text = result.content.type === 'text' ? result.content.text : `[${result.content.type}]`;
      return { content: [{ type: 'text', text: `LLM response: ${text}` }] };
    },
  );

  tool(
    'test_elicitation',
    'Asks the user for a username and an email address',
    z.object({ message: z.string().describe('The message to show the user') }),
    async ({ message }, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message,
            requestedSchema: {
              type: 'object',
              properties: {
                username: { type: 'string', description: "User's response" },
                email: { type: 'string', description: "User's email address" },
              },
              required: ['username', 'email'],
            },
          },
        },
        ElicitResultSchema,
        askClient,
      );
      return {
        content: [
          {
            type: 'text',
            text: `User response: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
          },
        ],
      };
    },
  );

  tool(
    'test_elicitation_sep1034_defaults',
    'Elicits a form whose fields all carry defaults',
    noArgs,
    async (_args, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: 'Review the defaults',
            requestedSchema: {
              type: 'object',
              properties: {
                name: { type: 'string', default: 'John Doe' },
                age: { type: 'integer', default: 30 },
                score: { type: 'number', default: 95.5 },
                status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
                verified: { type: 'boolean', default: true },
              },
            },
          },
        },
        ElicitResultSchema,
        askClient,
      );
      return {
        content: [
          {
            type: 'text',
            text: `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
          },
        ],
      };
    },
  );

  tool(
    'test_elicitation_sep1330_enums',
    'Elicits a form with every enum variant',
    noArgs,
    async (_args, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: {
            message: 'Pick some options',
            requestedSchema: {
              type: 'object',
              properties: {
                untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                titledSingle: {
                  type: 'string',
                  oneOf: [
                    { const: 'value1', title: 'First Option' },
                    { const: 'value2', title: 'Second Option' },
                    { const: 'value3', title: 'Third Option' },
                  ],
                },
                legacyEnum: {
                  type: 'string',
                  enum: ['opt1', 'opt2', 'opt3'],
                  enumNames: ['Option One', 'Option Two', 'Option Three'],
                },
                untitledMulti: {
                  type: 'array',
                  items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                },
                titledMulti: {
                  type: 'array',
                  items: {
                    anyOf: [
                      { const: 'value1', title: 'First Choice' },
                      { const: 'value2', title: 'Second Choice' },
                      { const: 'value3', title: 'Third Choice' },
                    ],
                  },
                },
              },
            },
          },
        },
        ElicitResultSchema,
        askClient,
      );
      return {
        content: [
          {
            type: 'text',
            text: `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
          },
        ],
      };
    },
  );

  tool(
    'test_reconnection',
    'Closes its SSE stream mid-call (when the transport allows it) and answers after the client reconnects',
    noArgs,
    async (_args, extra) => {
      extra.closeSSEStream?.();
      await sleep(100);
      return { content: [{ type: 'text', text: 'Reconnection test completed' }] };
    },
  );

  tool('json_schema_2020_12_tool', 'Tool with JSON Schema 2020-12 features', jsonSchemaToolInput, (args) => ({
    content: [{ type: 'text', text: `Called with ${JSON.stringify(args)}` }],
  }));

  mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listing }));

  mcp.registerResource(
    'static-text',
    'test://static-text',
    { description: 'A static text resource', mimeType: 'text/plain' },
    (uri) => ({
      contents: [
        { uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' },
      ],
    }),
  );

  mcp.registerResource(
    'static-binary',
    'test://static-binary',
    { description: 'A static binary resource (a PNG image)', mimeType: 'image/png' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_1X1_BASE64 }] }),
  );

  mcp.registerResource(
    'watched-resource',
    'test://watched-resource',
    { description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }] }),
  );

  mcp.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', {
      list: undefined,
      complete: { id: (value) => ['123', '456', '789'].filter((id) => id.startsWith(value)) },
    }),
    { description: 'Data for an id', mimeType: 'application/json' },
    (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
        },
      ],
    }),
  );

  // Nothing here ever changes, so a subscription is only checked and acknowledged.
  const subscribable = new Set(['test://static-text', 'test://static-binary', 'test://watched-resource']);
  const acknowledge = (request: { params: { uri: string } }) => {
    if (!subscribable.has(request.params.uri)) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown resource: ${request.params.uri}`);
    }
    return {};
  };
  mcp.server.setRequestHandler(SubscribeRequestSchema, acknowledge);
  mcp.server.setRequestHandler(UnsubscribeRequestSchema, acknowledge);

  mcp.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
  }));

  mcp.registerPrompt(
    'test_prompt_with_arguments',
    {
      description: 'A prompt with two arguments',
      argsSchema: {
        arg1: completable(z.string().describe('First test argument'), (value) =>
          COMPLETION_WORDS.filter((word) => word.startsWith(value)),
        ),
        arg2: z.string().describe('Second test argument'),
      },
    },
    ({ arg1, arg2 }) => ({
      messages: [
        {
          role: 'user',
          content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` },
        },
      ],
    }),
  );

  mcp.registerPrompt(
    'test_prompt_with_embedded_resource',
    {
      description: 'A prompt that embeds a resource',
      argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
    },
    ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: {
              uri: resourceUri,
              mimeType: 'text/plain',
              text: 'Embedded resource content for testing.',
            },
          },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    }),
  );

  mcp.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG_1X1_BASE64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ],
  }));

  return mcp;
}

/** A per-session in-memory event store, so that SSE streams can be resumed (`Last-Event-ID`). */
function createEventStore(): EventStore {
  const events: { id: EventId; streamId: StreamId; message: JSONRPCMessage }[] = [];
  let next = 0;
  return {
    async storeEvent(streamId, message) {
      const id = `${streamId}_${next++}`;
      events.push({ id, streamId, message });
      return id;
    },
    async getStreamIdForEventId(eventId) {
      return events.find((event) => event.id === eventId)?.streamId;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const index = events.findIndex((event) => event.id === lastEventId);
      if (index < 0) throw new Error(`unknown event id ${lastEventId}`);
      const streamId = events[index]!.streamId;
      for (const event of events.slice(index + 1)) {
        // Priming events are stored as empty messages; they carry nothing to replay.
        if (event.streamId === streamId && Object.keys(event.message).length > 0) {
          await send(event.id, event.message);
        }
      }
      return streamId;
    },
  };
}

/** Options of {@link startEverythingHttp}. */
export interface EverythingHttpOptions {
  /** Port to listen on (127.0.0.1). Default: 0, an ephemeral port. */
  port?: number;
  /** Called on each new server before it is connected (install middleware here). */
  wrap?: (server: McpServer) => void;
  /**
   * Stateless Streamable HTTP: a new server and transport per POST, no sessions. Server
   * requests to the client (sampling, elicitation) then time out after
   * {@link STATELESS_CLIENT_REQUEST_TIMEOUT_MS}. Default: false.
   */
  stateless?: boolean;
}

/** A running {@link startEverythingHttp} server. */
export interface EverythingHttp {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  url: string;
  /** Closes every session and the HTTP server. */
  close(): Promise<void>;
}

/** How long a stateless server's tools wait for an answer from the client that cannot come. */
export const STATELESS_CLIENT_REQUEST_TIMEOUT_MS = 1000;

const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLocalHost(host: string | undefined): boolean {
  if (!host) return false;
  try {
    return LOCAL_HOSTNAMES.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

function isLocalOrigin(origin: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return LOCAL_HOSTNAMES.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some(
    (m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize',
  );
}

/**
 * Serves {@link createEverythingServer} over Streamable HTTP on 127.0.0.1, at `/mcp`.
 * Stateful by default: each `initialize` creates a session with its own server,
 * transport and event store (SSE resumption). Requests whose `Host` or `Origin` is not
 * a loopback name are refused with 403 (DNS rebinding protection).
 */
export async function startEverythingHttp(options: EverythingHttpOptions = {}): Promise<EverythingHttp> {
  const { port = 0, wrap, stateless = false } = options;
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  const open = new Set<{ transport: StreamableHTTPServerTransport; server: McpServer }>();

  async function newSession(): Promise<{ transport: StreamableHTTPServerTransport; server: McpServer }> {
    const server = createEverythingServer(
      stateless ? { clientRequestTimeoutMs: STATELESS_CLIENT_REQUEST_TIMEOUT_MS } : {},
    );
    wrap?.(server);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport(
      stateless
        ? { sessionIdGenerator: undefined }
        : {
            sessionIdGenerator: randomUUID,
            eventStore: createEventStore(),
            retryInterval: 1000,
            onsessioninitialized: (id) => {
              sessions.set(id, entry);
            },
          },
    );
    const entry = { transport, server };
    open.add(entry);
    transport.onclose = () => {
      open.delete(entry);
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    return entry;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isLocalHost(req.headers.host) || !isLocalOrigin(req.headers.origin)) {
      sendJsonRpcError(res, 403, -32000, 'Forbidden: Host or Origin is not a loopback address');
      return;
    }
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') {
      sendJsonRpcError(res, 404, -32000, 'Not found');
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (req.method === 'POST') {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        sendJsonRpcError(res, 400, -32700, 'Parse error');
        return;
      }
      if (stateless) {
        const entry = await newSession();
        res.on('close', () => {
          void entry.transport.close();
          void entry.server.close();
        });
        await entry.transport.handleRequest(req, res, body);
        return;
      }
      if (typeof sessionId === 'string') {
        const entry = sessions.get(sessionId);
        if (!entry) {
          sendJsonRpcError(res, 404, -32001, 'Session not found');
          return;
        }
        await entry.transport.handleRequest(req, res, body);
        return;
      }
      if (!isInitialize(body)) {
        sendJsonRpcError(res, 400, -32000, 'Bad Request: no session id and not an initialize request');
        return;
      }
      const entry = await newSession();
      await entry.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (stateless) {
        sendJsonRpcError(res, 405, -32000, 'Method not allowed');
        return;
      }
      const entry = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
      if (!entry) {
        sendJsonRpcError(res, typeof sessionId === 'string' ? 404 : 400, -32000, 'Session not found');
        return;
      }
      await entry.transport.handleRequest(req, res);
      return;
    }
    sendJsonRpcError(res, 405, -32000, 'Method not allowed');
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJsonRpcError(res, 500, -32603, `Internal error: ${String(error)}`);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${address.port}/mcp`,
    async close() {
      await Promise.allSettled(
        [...open].map(({ transport, server }) => transport.close().then(() => server.close())),
      );
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
