/**
 * Comparing what a client saw from a bare server with what it saw through a middleware
 * stack: canonical JSON (member order carries no meaning), masking of what differs
 * between two servers of the same kind (UUIDs, loopback ports), the first difference
 * in a readable form, and a probe proving the stack was really in the path.
 */

import type { Middleware } from '../core/types.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const LOOPBACK_PORT = /(127\.0\.0\.1|localhost|\[::1\]):\d+/g;

/**
 * A JSON value with object keys sorted, also inside strings that hold JSON (raw SSE
 * `data`): member order carries no meaning, and the pipeline may build a response
 * envelope in another order than the SDK does.
 */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) {
    try {
      return { json: canonical(JSON.parse(value)) };
    } catch {
      return value;
    }
  }
  return value;
}

/** `value` as canonical JSON text with UUIDs and loopback ports masked (`<uuid>`, `127.0.0.1:<port>`). */
export function evidence(value: unknown): string {
  return (JSON.stringify(canonical(value ?? null)) ?? 'undefined')
    .replace(UUID, '<uuid>')
    .replace(LOOPBACK_PORT, '$1:<port>');
}

/** Where two strings first differ, with some context from each (`bare …x… vs …y…`). */
export function firstDifference(
  a: string,
  b: string,
  labels: [string, string] = ['bare', 'wrapped'],
): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 60);
  return `${labels[0]} …${a.slice(from, i + 120)}… vs ${labels[1]} …${b.slice(from, i + 120)}…`;
}

/** What a {@link trafficProbe} has seen. */
export interface TrafficCount {
  /** Connections the probe joined. */
  connections: number;
  /** Requests that entered the stack, by method. */
  requests: Map<string, number>;
  /** Notifications that crossed the stack. */
  notifications: number;
}

/**
 * A transparent middleware that counts the traffic crossing the stack, so a comparison
 * can tell that the pipeline really was in the path (a wrapped mode in which it never
 * ran would compare equal to the bare server and prove nothing).
 */
export function trafficProbe(): {
  /** The probe, to put in a stack. */
  middleware: Middleware;
  /** What it has counted so far (live). */
  count: TrafficCount;
} {
  const count: TrafficCount = { connections: 0, requests: new Map(), notifications: 0 };
  const middleware: Middleware = {
    name: 'traffic-probe',
    request: (ctx, next) => {
      count.requests.set(ctx.method, (count.requests.get(ctx.method) ?? 0) + 1);
      return next();
    },
    notification: () => {
      count.notifications++;
      return undefined;
    },
    attach: () => {
      count.connections++;
      return undefined;
    },
  };
  return { middleware, count };
}
