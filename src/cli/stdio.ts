/**
 * Newline-delimited JSON-RPC over a pair of streams: the host's stdin/stdout on one side
 * of the proxy, a child's stdio on the other. JSON.parse only: both MCP peers validate
 * what they receive, so the proxy does not pay for a schema check per message.
 */

import type { Readable, Writable } from 'node:stream';
import type { McpTransport } from '../adapters/transport.js';
import type { JsonRpcMessage } from '../core/types.js';

/** The largest line accepted before the buffer is dropped (a peer that never sends a newline). */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** An MCP transport over a readable and a writable stream, one JSON message per line. */
export class LineTransport implements McpTransport {
  onmessage?: (message: JsonRpcMessage, extra?: unknown) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly label: string,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.ondata);
    this.input.on('end', this.onend);
    this.input.on('error', this.onstreamerror);
    this.output.on('error', this.onstreamerror);
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.label}: closed`));
    return new Promise((resolve, reject) => {
      const line = `${JSON.stringify(message)}\n`;
      if (this.output.write(line, (error) => (error ? reject(error) : undefined))) resolve();
      else this.output.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.ondata);
    this.input.off('end', this.onend);
    this.onclose?.();
  }

  private readonly ondata = (chunk: Buffer) => {
    let start = 0;
    let newline = chunk.indexOf(10);
    while (newline !== -1) {
      const piece = chunk.subarray(start, newline);
      let line: Buffer = piece;
      if (this.pendingBytes !== 0) {
        this.pending.push(piece);
        line = Buffer.concat(this.pending);
        this.pending = [];
        this.pendingBytes = 0;
      }
      this.deliver(line);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > MAX_LINE_BYTES) {
        this.pending = [];
        this.pendingBytes = 0;
        this.onerror?.(new Error(`${this.label}: a message longer than ${MAX_LINE_BYTES} bytes was dropped`));
      }
    }
  };

  private deliver(line: Buffer): void {
    const text = line.toString('utf8').trim();
    if (text === '') return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.onerror?.(new Error(`${this.label}: not a JSON-RPC message: ${text.slice(0, 120)}`));
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.onerror?.(new Error(`${this.label}: not a JSON-RPC message: ${text.slice(0, 120)}`));
      return;
    }
    this.onmessage?.(message as JsonRpcMessage);
  }

  private readonly onend = () => {
    void this.close();
  };

  private readonly onstreamerror = (error: Error) => {
    this.onerror?.(error);
  };
}
