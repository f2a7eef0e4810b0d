/**
 * The shared Redis the store tests use (`REDIS_URL`, default 127.0.0.1:6379): a connected
 * admin client, or the reason it is unreachable. With CI set, an unreachable Redis is a
 * failing test; otherwise the tests that need it are skipped with the reason printed.
 * Keys are written under a prefix unique to this run and removed afterwards; the
 * database is never flushed.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient } from 'redis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const newAdmin = () =>
  createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 2_000, reconnectStrategy: false },
  });

/** A client of the shared Redis. */
export type Client = ReturnType<typeof newAdmin>;

/** Opens a client to the shared Redis, or answers why it cannot. */
async function connectOrReason(): Promise<{ client: Client } | { reason: string }> {
  const client = newAdmin();
  let lastError: unknown;
  client.on('error', (error) => {
    lastError = error;
  });
  try {
    await client.connect();
    return { client };
  } catch (error) {
    client.destroy();
    return { reason: `Redis unreachable at ${REDIS_URL}: ${String((error as Error)?.message ?? lastError)}` };
  }
}

/**
 * Connects to the shared Redis for one test file: `admin` (undefined when unreachable),
 * `skip` (the reason, for `{ skip }`), and `nextPrefix()` (a fresh key prefix under one
 * unique to this run, whose keys are deleted after the file's tests).
 */
export async function sharedRedis(what: string): Promise<{
  admin: Client | undefined;
  skip: string | undefined;
  nextPrefix: () => string;
}> {
  const run = `mcp-perf-test:${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}:`;
  let prefixes = 0;
  const probe = await connectOrReason();
  const admin = 'client' in probe ? probe.client : undefined;
  const skip = 'reason' in probe ? probe.reason : undefined;
  if (skip !== undefined) {
    if (process.env.CI) {
      test('Redis is reachable (required when CI is set)', () => {
        assert.fail(skip);
      });
    } else {
      console.log(`skipping the ${what} tests that need a server: ${skip}`);
    }
  }
  after(async () => {
    if (admin === undefined) return;
    let cursor = '0';
    do {
      const [next, keys] = (await admin.sendCommand([
        'SCAN',
        cursor,
        'MATCH',
        `${run}*`,
        'COUNT',
        '1000',
      ])) as [string, string[]];
      if (keys.length > 0) await admin.sendCommand(['UNLINK', ...keys]);
      cursor = String(next);
    } while (cursor !== '0');
    await admin.close();
  });
  return { admin, skip, nextPrefix: () => `${run}${++prefixes}:` };
}

/** Closes `store` after the file's tests; answers it. */
export function closeAfter<T extends { close(): unknown }>(store: T): T {
  after(() => store.close());
  return store;
}
