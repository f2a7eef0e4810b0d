import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createPackr } from '../../src/codec/format.js';
import {
  CODEC_CAPABILITY,
  CodecClientTransport,
  CodecServerTransport,
  isCodecError,
  SWITCH_BYTE,
} from '../../src/codec/index.js';
import { isInvalidOptionError, type JsonRpcMessage } from '../../src/index.js';
import { createCountingServer, deferred } from '../helpers/servers.js';

/** A server transport on in-process streams, with the bytes it writes collected. */
function rawServer(options: ConstructorParameters<typeof CodecServerTransport>[2] = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  const transport = new CodecServerTransport(input, output, options);
  const received: JsonRpcMessage[] = [];
  const errors: Error[] = [];
  let closed = false;
  transport.onmessage = (m) => received.push(m);
  transport.onerror = (e) => errors.push(e);
  transport.onclose = () => {
    closed = true;
  };
  const written: Buffer[] = [];
  output.on('data', (chunk: Buffer) => written.push(chunk));
  return { transport, input, output, received, errors, written, isClosed: () => closed };
}

const line = (m: unknown) => `${JSON.stringify(m)}\n`;
/** A handshake line as a codec transport writes it for its direct peer. */
const marked = (m: unknown) => `\t${JSON.stringify(m)}\n`;
const offerInit = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: { experimental: { [CODEC_CAPABILITY]: { formats: ['msgpack'] } } },
    clientInfo: { name: 'c', version: '1' },
  },
};

function frame(message: unknown): Buffer {
  const payload = createPackr().pack(message);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
}

const codeOf = (error: unknown) => (error as { code?: string } | undefined)?.code;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('codec transports: the switch point and failures', () => {
  it('server: JSON sent after the offer but before the switch byte is read as JSON; frames after it as binary', async () => {
    const s = rawServer();
    await s.transport.start();
    s.input.write(marked(offerInit));
    s.input.write(line({ jsonrpc: '2.0', id: 1, method: 'ping' }));
    await tick();
    await s.transport.send({
      jsonrpc: '2.0',
      id: 0,
      result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } },
    });
    const text = Buffer.concat(s.written).toString('utf8');
    assert.equal(text[0], '\t', 'the acceptance is marked for the direct peer');
    const accepted = JSON.parse(text);
    assert.deepEqual(accepted.result.capabilities.experimental[CODEC_CAPABILITY], { format: 'msgpack' });
    assert.equal(s.transport.format, 'msgpack');
    // A JSON line the client wrote before it saw the acceptance, then the switch.
    s.input.write(line({ jsonrpc: '2.0', id: 2, method: 'ping' }));
    s.input.write(
      Buffer.concat([
        Buffer.from([SWITCH_BYTE]),
        frame({ jsonrpc: '2.0', method: 'notifications/initialized' }),
      ]),
    );
    await tick();
    assert.deepEqual(
      s.received.map((m) => ('method' in m ? m.method : '')),
      ['initialize', 'ping', 'ping', 'notifications/initialized'],
    );
    assert.deepEqual(s.errors, []);
  });

  it('server: a switch byte before any acceptance closes the connection with a CodecError', async () => {
    const s = rawServer();
    await s.transport.start();
    s.input.write(Buffer.from([SWITCH_BYTE]));
    await tick();
    assert.equal(s.isClosed(), true);
    assert.equal(isCodecError(s.errors[0]), true);
    assert.equal(codeOf(s.errors[0]), 'unexpected_switch');
  });

  it('server: with codec: false the offer is ignored and no acceptance is sent', async () => {
    const s = rawServer({ codec: false });
    await s.transport.start();
    s.input.write(marked(offerInit));
    await tick();
    await s.transport.send({ jsonrpc: '2.0', id: 0, result: { capabilities: {} } });
    assert.deepEqual(JSON.parse(Buffer.concat(s.written).toString('utf8')).result, { capabilities: {} });
    assert.equal(s.transport.format, 'json');
  });

  it('server: an unmarked offer (as a relay that re-serializes JSON forwards it) is not taken up', async () => {
    const s = rawServer();
    await s.transport.start();
    s.input.write(line(offerInit));
    await tick();
    await s.transport.send({ jsonrpc: '2.0', id: 0, result: { capabilities: {} } });
    assert.deepEqual(JSON.parse(Buffer.concat(s.written).toString('utf8')).result, { capabilities: {} });
    assert.equal(s.transport.format, 'json');
  });

  it('client: an acceptance in an unmarked line (forwarded by a relay) does not switch', async () => {
    const fromServer = new PassThrough();
    const toServer = new PassThrough();
    const client = new CodecClientTransport({ readable: fromServer, writable: toServer });
    client.onmessage = () => {};
    await client.start();
    await client.send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { capabilities: {} } });
    toServer.read();
    fromServer.write(
      line({
        jsonrpc: '2.0',
        id: 0,
        result: { capabilities: { experimental: { [CODEC_CAPABILITY]: { format: 'msgpack' } } } },
      }),
    );
    await tick();
    assert.equal(client.format, 'json');
  });

  it('server: an error answer to the offering initialize does not switch', async () => {
    const s = rawServer();
    await s.transport.start();
    s.input.write(marked(offerInit));
    await tick();
    await s.transport.send({
      jsonrpc: '2.0',
      id: 0,
      error: { code: -32602, message: 'unsupported version' },
    });
    assert.equal(s.transport.format, 'json');
  });

  it('client: a stream split into single bytes switches exactly after the accepting result', async () => {
    const fromServer = new PassThrough();
    const toServer = new PassThrough();
    const client = new CodecClientTransport({ readable: fromServer, writable: toServer });
    const got: JsonRpcMessage[] = [];
    const allFour = deferred();
    client.onmessage = (m) => {
      if (got.push(m) === 4) allFour.resolve();
    };
    await client.start();
    await client.send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { capabilities: {} } });
    const sentText: string = toServer.read().toString('utf8');
    assert.equal(sentText[0], '\t', 'the offer is marked for the direct peer');
    const sent = JSON.parse(sentText);
    assert.deepEqual(sent.params.capabilities.experimental[CODEC_CAPABILITY], { formats: ['msgpack'] });
    const bytes = Buffer.concat([
      Buffer.from(
        line({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'before' } }),
      ),
      Buffer.from(
        marked({
          jsonrpc: '2.0',
          id: 0,
          result: { capabilities: { experimental: { [CODEC_CAPABILITY]: { format: 'msgpack' } } } },
        }),
      ),
      frame({ jsonrpc: '2.0', id: 7, method: 'ping' }),
      frame({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'after' } }),
    ]);
    for (const byte of bytes) fromServer.write(Buffer.from([byte]));
    await allFour.promise;
    assert.equal(got.length, 4);
    assert.deepEqual(got[3], {
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { level: 'info', data: 'after' },
    });
    assert.equal(client.format, 'msgpack');
    await client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const out: Buffer = toServer.read();
    assert.equal(out[0], SWITCH_BYTE);
    assert.deepEqual(createPackr().unpack(out.subarray(5)), {
      jsonrpc: '2.0',
      method: 'notifications/initialized',
    });
  });

  it('client: a result without the acceptance keeps JSON for good', async () => {
    const fromServer = new PassThrough();
    const toServer = new PassThrough();
    const client = new CodecClientTransport({ readable: fromServer, writable: toServer });
    client.onmessage = () => {};
    await client.start();
    await client.send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { capabilities: {} } });
    toServer.read();
    fromServer.write(line({ jsonrpc: '2.0', id: 0, result: { capabilities: {} } }));
    await tick();
    await client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    assert.equal(
      toServer.read().toString('utf8'),
      line({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    );
    assert.equal(client.format, 'json');
  });

  it('a corrupt frame closes the connection with an error: the pending call rejects, nothing hangs', async () => {
    const fromServer = new PassThrough();
    const toServer = new PassThrough();
    const transport = new CodecClientTransport({ readable: fromServer, writable: toServer });
    const errors: Error[] = [];
    const client = new Client({ name: 'c', version: '1' });
    client.onerror = (e) => errors.push(e);
    const requested = deferred();
    toServer.on('data', (chunk: Buffer) => {
      if (chunk.includes('"initialize"')) {
        const id = JSON.parse(chunk.toString('utf8')).id;
        fromServer.write(
          marked({
            jsonrpc: '2.0',
            id,
            result: {
              protocolVersion: '2025-11-25',
              capabilities: { tools: {}, experimental: { [CODEC_CAPABILITY]: { format: 'msgpack' } } },
              serverInfo: { name: 's', version: '1' },
            },
          }),
        );
      } else if (chunk.length > 40) requested.resolve();
    });
    await client.connect(transport);
    const call = client.callTool({ name: 'echo', arguments: { text: 'x' } });
    await requested.promise;
    fromServer.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
    await assert.rejects(call, /Connection closed/);
    assert.ok(
      errors.some((e) => isCodecError(e) && e.code === 'corrupt_frame'),
      'a corrupt_frame error was reported',
    );
  });

  it('a frame that decodes to something other than JSON-RPC is corrupt too', async () => {
    const s = rawServer();
    await s.transport.start();
    s.input.write(marked(offerInit));
    await tick();
    await s.transport.send({ jsonrpc: '2.0', id: 0, result: { capabilities: {} } });
    s.input.write(Buffer.concat([Buffer.from([SWITCH_BYTE]), frame([1, 2, 3])]));
    await tick();
    assert.equal(s.isClosed(), true);
    assert.equal(codeOf(s.errors[0]), 'corrupt_frame');
  });

  it('frame limit: an oversized incoming frame closes with frame_too_large; an oversized send rejects and the connection stays up', async () => {
    const s = rawServer({ maxMessageBytes: 1024 });
    await s.transport.start();
    s.input.write(marked(offerInit));
    await tick();
    await s.transport.send({ jsonrpc: '2.0', id: 0, result: { capabilities: {} } });
    await assert.rejects(
      s.transport.send({ jsonrpc: '2.0', id: 1, result: { text: 'x'.repeat(2000) } }),
      (e: unknown) => isCodecError(e) && e.code === 'frame_too_large' && /2\d{3} > 1024/.test(e.message),
    );
    await s.transport.send({ jsonrpc: '2.0', id: 2, result: {} });
    assert.equal(s.isClosed(), false);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(5000);
    s.input.write(Buffer.concat([Buffer.from([SWITCH_BYTE]), header]));
    await tick();
    assert.equal(s.isClosed(), true);
    assert.match(s.errors[0]?.message ?? '', /5000 > 1024/);
  });

  it('frame limit in JSON mode: a line over the limit closes the connection', async () => {
    const s = rawServer({ maxMessageBytes: 1024 });
    await s.transport.start();
    s.input.write('x'.repeat(1500));
    await tick();
    assert.equal(s.isClosed(), true);
    assert.equal(codeOf(s.errors[0]), 'frame_too_large');
  });

  it('a bad JSON line is reported and skipped, as the SDK does', async () => {
    const s = rawServer();
    await s.transport.start();
    s.input.write('not json\n');
    s.input.write(line({ jsonrpc: '2.0', id: 1, method: 'ping' }));
    await tick();
    assert.equal(s.errors.length, 1);
    assert.equal(s.received.length, 1);
    assert.equal(s.isClosed(), false);
  });

  it('an in-process pair: an SDK client and server agree and answer through msgpack', async () => {
    const a = new PassThrough();
    const b = new PassThrough();
    const serverTransport = new CodecServerTransport(a, b);
    const clientTransport = new CodecClientTransport({ readable: b, writable: a });
    const { server, counts } = createCountingServer();
    await server.connect(serverTransport);
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(clientTransport);
    const result = await client.callTool({ name: 'echo', arguments: { text: 'ünïcødé' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'ünïcødé' }]);
    assert.equal(counts.echo, 1);
    assert.equal(serverTransport.format, 'msgpack');
    assert.equal(clientTransport.stats().messagesIn, serverTransport.stats().messagesOut);
    await client.close();
  });

  it('options are validated and name the option', () => {
    assert.throws(
      () => new CodecServerTransport(new PassThrough(), new PassThrough(), { maxMessageBytes: 0 }),
      (e: unknown) => isInvalidOptionError(e) && /maxMessageBytes/.test((e as Error).message),
    );
    assert.throws(() => new CodecClientTransport({ command: '' }), isInvalidOptionError);
    assert.throws(
      () => new CodecServerTransport(new PassThrough(), new PassThrough(), { codec: 'yes' as never }),
      isInvalidOptionError,
    );
  });
});
