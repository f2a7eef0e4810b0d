/**
 * A Streamable HTTP endpoint on a loopback port for tests: reads each request's JSON body
 * and hands it to `handle`; a handler that throws answers 500 with the error's text.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Reads a request's body as JSON (`undefined` when empty). */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

/** A listening endpoint: its `/mcp` URL, and `close()`, which drops open connections. */
export interface LoopbackEndpoint {
  url: URL;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (a free port) and calls `handle` with each request and its parsed
 * body. `onError` sees what a handler threw, before the 500 goes out.
 */
export async function listenOnLoopback(
  handle: (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>,
  onError?: (error: unknown) => void,
): Promise<LoopbackEndpoint> {
  const http = createServer((req, res) => {
    readJsonBody(req)
      .then((body) => handle(req, res, body))
      .catch((error: unknown) => {
        onError?.(error);
        res.statusCode = 500;
        res.end(String(error));
      });
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return {
    url: new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`),
    async close() {
      http.closeAllConnections();
      http.close();
      await once(http, 'close');
    },
  };
}

/** A raw POST with node:http, which adds no Accept-Encoding of its own and decodes nothing: every byte as sent. */
export function rawPost(url: URL, body: Buffer | string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
    (resolve, reject) => {
      const req = request(url, { method: 'POST', headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
        );
      });
      req.on('error', reject);
      req.end(body);
    },
  );
}
