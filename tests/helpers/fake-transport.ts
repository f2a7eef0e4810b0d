import type { JsonRpcMessage, McpTransport } from '../../src/index.js';

/** A transport that records what is sent through it and lets a test inject messages. */
export class FakeTransport implements McpTransport {
  readonly sent: { message: JsonRpcMessage; options: unknown }[] = [];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage, extra?: unknown) => void;
  sessionId?: string;
  started = false;
  closed = false;

  async start(): Promise<void> {
    this.started = true;
  }

  async send(message: JsonRpcMessage, options?: unknown): Promise<void> {
    this.sent.push({ message, options });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.onclose?.();
  }

  /** Delivers a message as if it came from the wire. */
  receive(message: unknown, extra?: unknown): void {
    this.onmessage?.(message as JsonRpcMessage, extra);
  }
}

/** Waits for queued microtasks and one macrotask. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
