/**
 * A tiny RESP server standing in for a Redis that stops answering: it replies `null` to
 * data commands (an empty keyspace to `SCAN`), or, while `paused`, holds the replies back (in order) until resumed,
 * the way `CLIENT PAUSE` would, without pausing the real Redis other tests share.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before } from 'node:test';
import { createClient } from 'redis';

export interface FakeRedis {
  readonly url: string;
  /** Commands received, e.g. `['HGET', 'k', 'v']`. */
  readonly commands: string[][];
  paused: boolean;
  resume(): void;
  /** Cuts every client connection, as a network failure would. */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startFakeRedis(): Promise<FakeRedis> {
  const sockets = new Set<Socket>();
  const held: { socket: Socket; reply: string }[] = [];
  const commands: string[][] = [];
  const fake: FakeRedis = {
    url: '',
    commands,
    paused: false,
    resume() {
      fake.paused = false;
      for (const { socket, reply } of held.splice(0)) socket.write(reply);
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseCommand(buffer);
        if (parsed === undefined) break;
        buffer = buffer.subarray(parsed.consumed);
        commands.push(parsed.args);
        const name = parsed.args[0]?.toUpperCase();
        const control = name === 'HELLO' || name === 'CLIENT' || name === 'SUBSCRIBE' || name === 'SCAN';
        const reply = control ? controlReply(parsed.args) : '_\r\n';
        if (fake.paused && !control) held.push({ socket, reply });
        else socket.write(reply);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake redis: no TCP address');
  (fake as { url: string }).url = `redis://127.0.0.1:${address.port}`;
  return fake;
}

function controlReply(args: string[]): string {
  const name = args[0]!.toUpperCase();
  if (name === 'HELLO') return '%1\r\n$5\r\nproto\r\n:3\r\n';
  if (name === 'SUBSCRIBE') {
    const channel = Buffer.from(args[1] ?? '');
    return `>3\r\n$9\r\nsubscribe\r\n$${channel.length}\r\n${channel}\r\n:1\r\n`;
  }
  if (name === 'SCAN') return '*2\r\n$1\r\n0\r\n*0\r\n';
  return '+OK\r\n';
}

function parseCommand(buffer: Buffer): { args: string[]; consumed: number } | undefined {
  let offset = 0;
  const line = (): string | undefined => {
    const end = buffer.indexOf('\r\n', offset);
    if (end === -1) return undefined;
    const text = buffer.toString('latin1', offset, end);
    offset = end + 2;
    return text;
  };
  const header = line();
  if (header === undefined || header[0] !== '*') return undefined;
  const count = Number(header.slice(1));
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    const size = line();
    if (size === undefined) return undefined;
    const length = Number(size.slice(1));
    if (buffer.length < offset + length + 2) return undefined;
    args.push(buffer.toString('utf8', offset, offset + length));
    offset += length + 2;
  }
  return { args, consumed: offset };
}

/**
 * For one `describe` block: a fake Redis started before its tests with a connected client,
 * both closed after them. Read `fake` and `client` inside tests.
 */
export function fakeRedisForSuite(): { fake: FakeRedis; client: ReturnType<typeof createClient> } {
  const handles = {} as { fake: FakeRedis; client: ReturnType<typeof createClient> };
  before(async () => {
    handles.fake = await startFakeRedis();
    handles.client = createClient({ url: handles.fake.url, socket: { connectTimeout: 2_000 } });
    handles.client.on('error', () => {});
    await handles.client.connect();
  });
  after(async () => {
    handles.fake.resume();
    handles.client.destroy();
    await handles.fake.close();
  });
  return handles;
}
