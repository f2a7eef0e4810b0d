import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Packr } from 'msgpackr';
import type { McpTransport } from '../adapters/transport.js';
import { malformation } from '../core/messages.js';
import type { JsonObject, JsonRpcMessage, JsonRpcRequest } from '../core/types.js';
import { InvalidOptionError, isMcpPerfError, McpPerfError } from '../errors/index.js';
import { asError } from '../internal/as-error.js';
import { createPackr, fromWire, toWire } from './format.js';
import {
  acceptsCodec,
  idKey,
  isHandshakeRequest,
  offersCodec,
  withAcceptance,
  withOffer,
} from './negotiation.js';

/**
 * The byte a client writes once, at a message boundary, right before its first binary
 * frame. `0xC1` is the one byte MessagePack never uses and can never start a JSON text
 * or a UTF-8 character, so a reader can tell it from a JSON line with one comparison.
 */
export const SWITCH_BYTE = 0xc1;

/**
 * The byte a codec transport writes before the JSON text of a handshake line it means
 * for its direct peer: the offer, and the acceptance. Every JSON reader skips leading
 * whitespace, so a plain peer reads the line as usual; a relay that parses and
 * re-serializes messages drops it, so an offer or acceptance that crossed such a relay
 * is not taken up. This binds the agreement to one hop: binary frames are never written
 * to a peer that cannot read them.
 */
export const HOP_MARK = 0x09;

/** Options shared by the codec transports. */
export interface CodecTransportOptions {
  /**
   * Offer (client) or accept (server) the binary codec. `false` makes the transport speak
   * exactly what the SDK's stdio transport speaks, always. Default: `true`.
   */
  codec?: boolean;
  /**
   * Largest message read or written, in bytes: a JSON line or a binary frame's payload.
   * A larger one read closes the connection with a {@link CodecError}; a larger one sent
   * rejects that `send()` with one and leaves the connection open. Default: 10 MiB (the
   * SDK's own stdio read buffer bound).
   */
  maxMessageBytes?: number;
  /**
   * Gather the messages written in one turn of the event loop into one write of the
   * output stream (corked until the end of the turn, then handed to the kernel in one
   * `writev`). A lone message still leaves in the turn it was sent. Default: false.
   */
  coalesceWrites?: boolean;
}

/** Defaults of the codec transports' options. */
export const CODEC_DEFAULTS: Readonly<Required<CodecTransportOptions>> = Object.freeze({
  codec: true,
  maxMessageBytes: 10 * 1024 * 1024,
  coalesceWrites: false,
});

/** What a codec transport has done, for metrics. */
export interface CodecStats {
  /** The wire format now written: `json` until the switch, then `msgpack`. */
  format: 'json' | 'msgpack';
  /** Messages written. */
  messagesOut: number;
  /** Messages read. */
  messagesIn: number;
  /** Bytes written (framing included). */
  bytesOut: number;
  /** Bytes read (framing included). */
  bytesIn: number;
}

/** A stream codec failure: a frame over the size limit, a corrupt frame, a stray switch byte. */
export class CodecError extends McpPerfError {
  /**
   * @param code - `frame_too_large`, `corrupt_frame` or `unexpected_switch`
   * @param message - what was wrong, with the numbers
   */
  constructor(code: 'frame_too_large' | 'corrupt_frame' | 'unexpected_switch', message: string) {
    super(code, message);
    this.name = 'CodecError';
  }
}

/** True for a {@link CodecError}. */
export function isCodecError(error: unknown): error is CodecError {
  return isMcpPerfError(error) && error.name === 'CodecError';
}

type Mode = 'json' | 'binary';

/** A JSON message about to be written, as negotiation leaves it. */
interface Outgoing {
  message: JsonRpcMessage;
  /** Write {@link HOP_MARK} before it: it is an offer or an acceptance for the direct peer. */
  marked?: boolean;
  /** Called after serializing, before writing: the writer switches after this line. */
  switching?: () => void;
}

function validateOptions(where: string, options: CodecTransportOptions): Required<CodecTransportOptions> {
  const codec = options.codec ?? CODEC_DEFAULTS.codec;
  if (typeof codec !== 'boolean') throw new InvalidOptionError(where, 'codec', 'a boolean', codec);
  const max = options.maxMessageBytes ?? CODEC_DEFAULTS.maxMessageBytes;
  if (!Number.isSafeInteger(max) || max < 64 || max > 0xffffffff) {
    throw new InvalidOptionError(where, 'maxMessageBytes', 'an integer from 64 to 4294967295', max);
  }
  const coalesceWrites = options.coalesceWrites ?? CODEC_DEFAULTS.coalesceWrites;
  if (typeof coalesceWrites !== 'boolean') {
    throw new InvalidOptionError(where, 'coalesceWrites', 'a boolean', coalesceWrites);
  }
  return { codec, maxMessageBytes: max, coalesceWrites };
}

/**
 * The shared machinery of {@link CodecServerTransport} and {@link CodecClientTransport}:
 * newline-delimited JSON exactly as the SDK's stdio transports write and read it, and,
 * once both sides have agreed, length-prefixed msgpackr frames (a 4-byte big-endian
 * payload length, then the payload). The state machine is in docs/compression.md.
 */
abstract class CodecStreamTransport implements McpTransport {
  /** Called when the transport closes. */
  onclose?: (() => void) | undefined;
  /** Called on a transport or codec error. */
  onerror?: ((error: Error) => void) | undefined;
  /** Called for every message read. */
  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own message types
  onmessage?: ((message: any, extra?: any) => void) | undefined;

  /** @internal */
  protected readonly options: Required<CodecTransportOptions>;
  /** @internal */
  protected input: Readable | undefined;
  /** @internal */
  protected output: Writable | undefined;
  /** @internal */
  protected closed = false;
  private readMode: Mode = 'json';
  private writeMode: Mode = 'json';
  /** Server: the acceptance has been written, so a switch byte may now arrive. */
  protected switchArmed = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private packr: Packr | undefined;
  private readonly counters = { messagesOut: 0, messagesIn: 0, bytesOut: 0, bytesIn: 0 };
  /** The name its figures appear under in `metrics({ sources: [transport] })`. */
  readonly name: string = 'codec';

  protected constructor(where: string, options: CodecTransportOptions) {
    this.options = validateOptions(where, options);
  }

  /** What this transport has done so far. */
  stats(): CodecStats {
    return { format: this.writeMode === 'binary' ? 'msgpack' : 'json', ...this.counters };
  }

  /** The wire format now read and written. */
  get format(): 'json' | 'msgpack' {
    return this.writeMode === 'binary' ? 'msgpack' : 'json';
  }

  /** @internal */
  protected readonly ondata = (chunk: Buffer): void => {
    if (this.closed) return;
    this.counters.bytesIn += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      this.drainInput();
    } catch (error) {
      this.fail(asError(error));
    }
  };

  /** @internal */
  protected readonly onstreamerror = (error: Error): void => {
    this.onerror?.(error);
  };

  /** Closes after a fatal read error: the error first, then `onclose`. */
  protected fail(error: Error): void {
    if (this.closed) return;
    this.onerror?.(error);
    this.close().catch((e: unknown) => this.onerror?.(asError(e)));
  }

  /** The first `n` buffered bytes as one buffer (they stay buffered). */
  private peek(n: number): Buffer {
    let first = this.chunks[0] as Buffer;
    if (first.length < n) {
      first = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [first];
    }
    return first;
  }

  private consume(n: number): void {
    this.buffered -= n;
    if (this.buffered === 0) {
      this.chunks = [];
      return;
    }
    let first = this.chunks[0] as Buffer;
    while (first.length <= n) {
      n -= first.length;
      this.chunks.shift();
      first = this.chunks[0] as Buffer;
    }
    this.chunks[0] = first.subarray(n);
  }

  private drainInput(): void {
    while (this.buffered > 0 && !this.closed) {
      if (this.readMode === 'binary') {
        if (!this.readFrame()) return;
      } else if (!this.readLine()) return;
    }
  }

  /** Reads one JSON line; false when no complete line is buffered. */
  private readLine(): boolean {
    const first = this.chunks[0] as Buffer;
    if (first[0] === SWITCH_BYTE) {
      if (!this.switchArmed) {
        throw new CodecError(
          'unexpected_switch',
          'codec: a binary switch byte arrived before the codec was agreed; closing the connection',
        );
      }
      this.consume(1);
      this.readMode = 'binary';
      return true;
    }
    let index = -1;
    let offset = 0;
    for (const chunk of this.chunks) {
      const at = chunk.indexOf(10);
      if (at !== -1) {
        index = offset + at;
        break;
      }
      offset += chunk.length;
    }
    if (index === -1) {
      if (this.buffered > this.options.maxMessageBytes) {
        throw new CodecError(
          'frame_too_large',
          `codec: a JSON message exceeded maxMessageBytes (${this.buffered} > ${this.options.maxMessageBytes} bytes buffered without a line end)`,
        );
      }
      return false;
    }
    if (index > this.options.maxMessageBytes) {
      throw new CodecError(
        'frame_too_large',
        `codec: a JSON message exceeded maxMessageBytes (${index} > ${this.options.maxMessageBytes} bytes); closing the connection`,
      );
    }
    const line = this.peek(index + 1).toString('utf8', 0, index);
    this.consume(index + 1);
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(line.endsWith('\r') ? line.slice(0, -1) : line) as JsonRpcMessage;
      const wrong =
        (message as { jsonrpc?: unknown })?.jsonrpc !== '2.0'
          ? 'jsonrpc is not "2.0"'
          : malformation(message);
      if (wrong !== undefined) throw new Error(wrong);
    } catch (error) {
      // As the SDK's stdio transports do: a bad JSON line is reported and skipped.
      this.onerror?.(new Error(`codec: invalid JSON-RPC line dropped: ${asError(error).message}`));
      return true;
    }
    this.received(message, line.charCodeAt(0) === HOP_MARK);
    return true;
  }

  /** Reads one binary frame; false when it is not complete yet. */
  private readFrame(): boolean {
    if (this.buffered < 4) return false;
    const length = this.peek(4).readUInt32BE(0);
    if (length === 0)
      throw new CodecError('corrupt_frame', 'codec: a binary frame has length 0; closing the connection');
    if (length > this.options.maxMessageBytes) {
      throw new CodecError(
        'frame_too_large',
        `codec: a binary frame exceeded maxMessageBytes (${length} > ${this.options.maxMessageBytes} bytes); closing the connection`,
      );
    }
    if (this.buffered < 4 + length) return false;
    const payload = this.peek(4 + length).subarray(4, 4 + length);
    let message: JsonRpcMessage;
    try {
      message = fromWire(this.codec().unpack(payload)) as JsonRpcMessage;
    } catch (error) {
      throw new CodecError(
        'corrupt_frame',
        `codec: a binary frame could not be decoded (${asError(error).message}); closing the connection`,
      );
    }
    const wrong = malformation(message);
    if (wrong !== undefined || (message as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      throw new CodecError(
        'corrupt_frame',
        `codec: a binary frame is not a JSON-RPC message (${wrong ?? 'jsonrpc is not "2.0"'}); closing the connection`,
      );
    }
    this.consume(4 + length);
    this.counters.messagesIn++;
    this.onmessage?.(message);
    return true;
  }

  private received(message: JsonRpcMessage, marked: boolean): void {
    this.counters.messagesIn++;
    this.inspectJson(message, marked);
    this.onmessage?.(message);
  }

  /** Switches the reader to binary at the current position of the input. */
  protected switchReader(): void {
    this.readMode = 'binary';
  }

  /** Switches the writer: every later message is a binary frame. */
  protected switchWriter(prefix: boolean): void {
    this.writeMode = 'binary';
    if (prefix) this.write(Buffer.from([SWITCH_BYTE]));
  }

  /**
   * Looks at a message read as JSON, before the SDK sees it (negotiation). `marked`: its
   * line began with {@link HOP_MARK}, so the direct peer is a codec transport.
   * @internal
   */
  protected abstract inspectJson(message: JsonRpcMessage, marked: boolean): void;
  /**
   * Rewrites a message about to be written as JSON (negotiation). `switching` is called
   * once the line is serialized and before it is written: with an in-process peer the
   * answer to the line can arrive within the write itself.
   * @internal
   */
  protected abstract outgoingJson(message: JsonRpcMessage): Outgoing;

  private codec(): Packr {
    this.packr ??= createPackr();
    return this.packr;
  }

  /** Writes one message in the current format. */
  // biome-ignore lint/suspicious/noExplicitAny: the SDKs declare their own message and option types
  send(message: any, _options?: any): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const output = this.output;
      if (output === undefined || this.closed) {
        reject(new Error('codec: not connected'));
        return;
      }
      let flushed: boolean;
      try {
        if (this.writeMode === 'binary') {
          const payload = this.codec().pack(toWire(message));
          if (payload.length > this.options.maxMessageBytes) {
            throw new CodecError(
              'frame_too_large',
              `codec: message not sent: its frame exceeds maxMessageBytes (${payload.length} > ${this.options.maxMessageBytes} bytes)`,
            );
          }
          const header = Buffer.allocUnsafe(4);
          header.writeUInt32BE(payload.length, 0);
          output.cork();
          this.write(header);
          flushed = this.write(payload);
          output.uncork();
        } else {
          const { message: out, marked, switching } = this.outgoingJson(message);
          const line = marked ? `\t${JSON.stringify(out)}\n` : `${JSON.stringify(out)}\n`;
          if (
            line.length > this.options.maxMessageBytes &&
            Buffer.byteLength(line) > this.options.maxMessageBytes
          ) {
            throw new CodecError(
              'frame_too_large',
              `codec: message not sent: its JSON line exceeds maxMessageBytes (${Buffer.byteLength(line)} > ${this.options.maxMessageBytes} bytes)`,
            );
          }
          switching?.();
          flushed = this.write(line);
        }
        this.counters.messagesOut++;
      } catch (error) {
        reject(asError(error));
        return;
      }
      if (flushed) resolve();
      else output.once('drain', resolve);
    });
  }

  private write(data: Buffer | string): boolean {
    this.counters.bytesOut += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    const output = this.output as Writable;
    if (this.options.coalesceWrites && !this.corked) {
      this.corked = true;
      output.cork();
      process.nextTick(this.uncork);
    }
    return output.write(data);
  }

  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.output?.uncork();
  };

  /** Clears the read state and reports the close once. */
  protected closed_(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks = [];
    this.buffered = 0;
    this.onclose?.();
  }

  /** Starts the transport. */
  abstract start(): Promise<void>;
  /** Closes the transport. */
  abstract close(): Promise<void>;
}

/** Options of {@link CodecServerTransport}. */
export type CodecServerTransportOptions = CodecTransportOptions;

/**
 * A server transport over a pair of streams (stdin/stdout by default) that speaks what
 * the SDK's `StdioServerTransport` speaks and, with a client that offers it in its
 * handshake, switches to msgpackr frames. A drop-in for `StdioServerTransport`.
 *
 * @example
 * ```ts
 * import { CodecServerTransport } from 'mcp-perf/codec';
 * await server.connect(new CodecServerTransport());
 * ```
 */
export class CodecServerTransport extends CodecStreamTransport {
  private started = false;
  /** Handshake requests that carried the offer, by id, with their method. */
  private readonly offers = new Map<string | number, string>();

  /**
   * @param stdin - where requests are read; default `process.stdin`
   * @param stdout - where responses are written; default `process.stdout`
   * @param options - see {@link CodecTransportOptions}
   */
  constructor(
    stdin: Readable = process.stdin,
    stdout: Writable = process.stdout,
    options: CodecServerTransportOptions = {},
  ) {
    super('CodecServerTransport', options);
    this.input = stdin;
    this.output = stdout;
  }

  /** Starts reading. */
  async start(): Promise<void> {
    if (this.started) throw new Error('CodecServerTransport already started');
    this.started = true;
    const input = this.input as Readable;
    input.on('data', this.ondata);
    input.on('error', this.onstreamerror);
  }

  /** @internal */
  protected inspectJson(message: JsonRpcMessage, marked: boolean): void {
    if (
      marked &&
      this.options.codec &&
      this.format === 'json' &&
      isHandshakeRequest(message) &&
      offersCodec(message)
    ) {
      this.offers.set(idKey(message.id), message.method);
    }
  }

  /** @internal */
  protected outgoingJson(message: JsonRpcMessage): Outgoing {
    if (this.offers.size === 0 || !('id' in message) || 'method' in message) return { message };
    const key = idKey(message.id);
    const method = this.offers.get(key);
    if (method === undefined) return { message };
    this.offers.delete(key);
    if (!('result' in message)) return { message };
    return {
      message: { ...message, result: withAcceptance(method, message.result as JsonObject) },
      marked: true,
      switching: () => {
        this.offers.clear();
        this.switchWriter(false);
        this.switchArmed = true;
      },
    };
  }

  /** Stops reading and reports the close. */
  async close(): Promise<void> {
    const input = this.input as Readable;
    input.off('data', this.ondata);
    input.off('error', this.onstreamerror);
    if (input.listenerCount('data') === 0) input.pause();
    this.closed_();
  }
}

/** How {@link CodecClientTransport} starts the server, as the SDK's `StdioServerParameters`. */
export interface CodecServerParameters {
  /** The executable. */
  command: string;
  /** Its arguments. */
  args?: string[];
  /** Its environment. Default: the SDK's safe default set (HOME, LOGNAME, PATH, SHELL, TERM, USER). */
  env?: Record<string, string>;
  /** Its working directory. */
  cwd?: string;
  /** Its stderr: `inherit` (default), `pipe` or `ignore`. */
  stderr?: 'inherit' | 'pipe' | 'ignore';
}

/** An already-open pair of streams for {@link CodecClientTransport}, e.g. a socket's two halves. */
export interface CodecStreams {
  /** Where the server's messages are read. */
  readable: Readable;
  /** Where the client's messages are written. */
  writable: Writable;
}

const INHERITED_ENV = ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'];

function defaultEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const value = process.env[key];
    if (value !== undefined && !value.startsWith('()')) env[key] = value;
  }
  return env;
}

/**
 * A client transport that spawns a server process, speaks what the SDK's
 * `StdioClientTransport` speaks, offers the binary codec in its handshake and switches to
 * msgpackr frames when the server accepts. A drop-in for `StdioClientTransport`; with a
 * server that does not accept, it stays plain JSON for the whole connection.
 *
 * @example
 * ```ts
 * import { CodecClientTransport } from 'mcp-perf/codec';
 * await client.connect(new CodecClientTransport({ command: 'node', args: ['server.js'] }));
 * ```
 */
export class CodecClientTransport extends CodecStreamTransport {
  private child: ChildProcess | undefined;
  private readonly params: CodecServerParameters | CodecStreams;
  private started = false;
  /** The handshake request that carried the offer: its id and method. */
  private offered: { id: string | number; method: string } | undefined;

  /**
   * @param params - the server command to spawn, or an open pair of streams
   * @param options - see {@link CodecTransportOptions}
   */
  constructor(params: CodecServerParameters | CodecStreams, options: CodecTransportOptions = {}) {
    super('CodecClientTransport', options);
    if ('readable' in params || 'writable' in params) {
      const streams = params as Partial<CodecStreams>;
      if (typeof streams.readable?.on !== 'function' || typeof streams.writable?.write !== 'function') {
        throw new InvalidOptionError(
          'CodecClientTransport',
          'readable/writable',
          'a readable and a writable stream',
          params,
        );
      }
    } else if (typeof params?.command !== 'string' || params.command === '') {
      throw new InvalidOptionError('CodecClientTransport', 'command', 'a non-empty string', params?.command);
    }
    this.params = params;
  }

  /** The child's stderr when `stderr: 'pipe'`. */
  get stderr(): Readable | null {
    return this.child?.stderr ?? null;
  }

  /** The child's process id once started. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Spawns the server, or starts reading the given stream. */
  start(): Promise<void> {
    if (this.started) return Promise.reject(new Error('CodecClientTransport already started'));
    this.started = true;
    const params = this.params;
    if ('readable' in params) {
      this.input = params.readable;
      this.output = params.writable;
      params.readable.on('data', this.ondata);
      params.readable.on('error', this.onstreamerror);
      params.readable.on('end', () => this.closed_());
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const child = spawn(params.command, params.args ?? [], {
        env: { ...defaultEnvironment(), ...params.env },
        stdio: ['pipe', 'pipe', params.stderr ?? 'inherit'],
        shell: false,
        cwd: params.cwd,
      });
      this.child = child;
      this.input = child.stdout as Readable;
      this.output = child.stdin as Writable;
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on('spawn', () => resolve());
      child.on('close', () => {
        this.child = undefined;
        this.closed_();
      });
      child.stdin?.on('error', this.onstreamerror);
      child.stdout?.on('data', this.ondata);
      child.stdout?.on('error', this.onstreamerror);
    });
  }

  /** @internal */
  protected outgoingJson(message: JsonRpcMessage): Outgoing {
    if (!this.options.codec || this.offered !== undefined || !isHandshakeRequest(message)) return { message };
    this.offered = { id: idKey(message.id), method: message.method };
    return { message: withOffer(message as JsonRpcRequest), marked: true };
  }

  /** @internal */
  protected inspectJson(message: JsonRpcMessage, marked: boolean): void {
    const offered = this.offered;
    if (offered === undefined || this.format !== 'json' || !('id' in message) || 'method' in message) return;
    if (idKey(message.id) !== offered.id) return;
    if (marked && 'result' in message && acceptsCodec(offered.method, message.result)) {
      // The server's writer switched right after this line; ours switches now, before
      // the SDK sees the result and answers it (with notifications/initialized).
      this.switchReader();
      this.switchWriter(true);
    } else {
      this.offered = undefined;
    }
  }

  /** Ends the child's stdin, then escalates to SIGTERM and SIGKILL as the SDK does. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined) {
      if ('readable' in this.params) this.params.readable.off('data', this.ondata);
      this.closed_();
      return;
    }
    this.child = undefined;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const wait = () =>
      Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
    child.stdin?.end();
    await wait();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await wait();
    }
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.closed_();
  }
}
