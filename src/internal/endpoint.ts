/**
 * Who is on the other end of a connection, as far as the transport can say: the URL of an
 * HTTP (Streamable HTTP, SSE, WebSocket) client transport, the command, arguments,
 * working directory and environment of a stdio client transport. What a server claims
 * about itself (`serverInfo`) is not enough to tell two servers apart: two deployments of
 * one build answer with the same name and version.
 *
 * The SDK keeps these on private members (`_url`, `_serverParams`, the same names in SDK
 * v1 and v2), read here structurally. A transport whose endpoint cannot be read gets an
 * identity of its own connection (a random value): never one another connection shares.
 *
 * Internal: not exported from the public entry points.
 */

import * as crypto from 'node:crypto';
import { keyMaterial } from './key-material.js';
import { sha256 } from './principal.js';

const transports = new WeakMap<object, object>();
const connectionIds = new WeakMap<object, string>();
const endpointIds = new WeakMap<object, string>();

/** Records which transport a connection's handler end talks through (called by the adapters). */
export function bindTransport(connection: object, transport: object): void {
  transports.set(connection, transport);
}

/**
 * The endpoint material of a client transport: `url:<href>` or `stdio:<canonical JSON of
 * command, args, cwd, env>`, or `undefined` when the transport shows none.
 */
export function endpointOf(transport: unknown): string | undefined {
  if (typeof transport !== 'object' || transport === null) return undefined;
  const t = transport as { _url?: unknown; _serverParams?: unknown };
  const url = t._url;
  if (url instanceof URL) return `url:${url.href}`;
  if (typeof url === 'string' && url !== '') return `url:${url}`;
  const params = t._serverParams as
    | { command?: unknown; args?: unknown; cwd?: unknown; env?: unknown }
    | undefined;
  if (typeof params === 'object' && params !== null && typeof params.command === 'string') {
    return `stdio:${keyMaterial({
      command: params.command,
      args: Array.isArray(params.args) ? params.args : [],
      cwd: params.cwd ?? null,
      env: params.env ?? null,
    })}`;
  }
  return undefined;
}

/**
 * Identities are part of every cache key on a client, and a longer key costs every lookup
 * (benchmark `cache.client-hit.inmemory`): 96 bits keep them short and still collision-free
 * in practice, across every process sharing a store.
 */
const IDENTITY_BYTES = 12;

/** A random identity of one connection, made on first use (96 random bits, base64url). */
export function connectionIdentity(connection: object): string {
  let id = connectionIds.get(connection);
  if (id === undefined) {
    id = crypto.randomBytes(IDENTITY_BYTES).toString('base64url');
    connectionIds.set(connection, id);
  }
  return id;
}

/**
 * The identity of the endpoint a connection's handler end reaches: `e:` and a digest of
 * its transport's endpoint (SHA-256, its first 96 bits), or `c:` and the connection's own identity when the transport
 * was not bound or shows no endpoint.
 */
export function endpointIdentity(connection: object): string {
  let id = endpointIds.get(connection);
  if (id === undefined) {
    const endpoint = endpointOf(transports.get(connection));
    id =
      endpoint === undefined
        ? `c:${connectionIdentity(connection)}`
        : `e:${sha256(endpoint).slice(0, (IDENTITY_BYTES * 4) / 3)}`;
    endpointIds.set(connection, id);
  }
  return id;
}
