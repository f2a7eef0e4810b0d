/**
 * The timeout and circuit breaker every Redis store puts between itself and its client:
 * each command is bounded by `timeoutMs`, and after `failureThreshold` consecutive
 * failures commands are refused at once for `cooldownMs`, then one probe is let through.
 * Failures become `StoreError`s naming the store and the operation.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { createClient, ErrorReply } from 'redis';
import { StoreError } from '../../errors/index.js';
import { noop } from '../../internal/noop.js';
import type { RedisArgument, RedisClientLike, RedisCommandOptions, ResolvedConnection } from './options.js';

/** State of the circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** A Lua script and its SHA-1, sent with `EVALSHA` and, if Redis lacks it, `EVAL`. */
export interface Script {
  readonly source: string;
  readonly sha: string;
}

/** Wraps Lua source as a {@link Script}. */
export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Counters of a {@link GuardedClient}. */
export interface GuardCounters {
  /** Operations that rejected with a `StoreError`, including timeouts and short-circuits. */
  errors: number;
  /** Operations that ran out of `timeoutMs`. */
  timeouts: number;
  /** Operations refused at once because the circuit was open. */
  shortCircuited: number;
  /** Errors reported by the connection created here (none is counted for a client passed in). */
  connectionErrors: number;
}

/**
 * A Redis client behind a per-command timeout and a circuit breaker. `call` never waits
 * longer than `timeoutMs`, and rejects at once while the client is disconnected or the
 * circuit is open.
 */
export class GuardedClient {
  /** Counters, read by the owning store's `stats()`. */
  readonly counters: GuardCounters = { errors: 0, timeouts: 0, shortCircuited: 0, connectionErrors: 0 };
  /** True when the client was created here (from `url`), so {@link GuardedClient.close} closes it. */
  readonly owned: boolean;
  /** Set by the owner once it closes; refusals then say `store closed`. */
  closed = false;
  /** Called after each reply that shows Redis answering (a success or an error reply). */
  onSuccess: (() => void) | undefined;
  readonly #store: string;
  readonly #client: RedisClientLike;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  #failures = 0;
  #openUntil = 0;
  #probing = false;

  /**
   * @param store - the store's name, used in error messages (`redis` → `redis store: get failed: …`)
   * @param options - the client passed in, or the `url` of one to create and own; `timeoutMs`,
   *   `failureThreshold` (0 disables the circuit), `cooldownMs`, `now`
   */
  constructor(store: string, options: ResolvedConnection) {
    this.#store = store;
    this.owned = options.client === undefined;
    this.#client =
      options.client ??
      ownClient(options.url!, () => {
        this.counters.connectionErrors++;
      });
    this.#now = options.now;
    this.#timeoutMs = options.timeoutMs;
    this.#threshold = options.failureThreshold;
    this.#cooldownMs = options.cooldownMs;
  }

  /** The client commands go through. */
  get client(): RedisClientLike {
    return this.#client;
  }

  /** Opens the connection if it was created here; a client passed in is used as it is. */
  connect(): Promise<void> {
    return this.owned ? this.#client.connect().then(noop) : Promise.resolve();
  }

  /** Refuses every later command; closes the connection if it was created here. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.owned) await closeOwned(this.#client, this.#timeoutMs);
  }

  /** The circuit breaker's state now. */
  circuitState(): CircuitState {
    if (this.#openUntil === 0) return 'closed';
    return this.#now() < this.#openUntil || this.#probing ? 'open' : 'half-open';
  }

  /**
   * Runs `script` with `EVALSHA` on `keys`, loading it with `EVAL` if Redis does not know
   * it yet (after a restart or `SCRIPT FLUSH`).
   */
  eval<T>(operation: string, s: Script, keys: readonly string[], args: readonly RedisArgument[]): Promise<T> {
    const head = [String(keys.length), ...keys, ...args];
    return this.call<T>(operation, ['EVALSHA', s.sha, ...head], 'NOSCRIPT').catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return this.call<T>(operation, ['EVAL', s.source, ...head]);
    });
  }

  /**
   * Sends one command within the timeout and through the circuit. An error reply starting
   * with `expected` (e.g. `NOSCRIPT`) is handled by the caller and not counted as an error.
   * `options` go to the client as they are (e.g. a `typeMapping` for Buffer replies).
   */
  call<T>(
    operation: string,
    args: RedisArgument[],
    expected?: string,
    options?: RedisCommandOptions,
  ): Promise<T> {
    if (this.#openUntil !== 0) {
      const now = this.#now();
      if (now < this.#openUntil || this.#probing) {
        this.counters.shortCircuited++;
        return this.reject(
          operation,
          `circuit open after ${this.#failures} consecutive failures; next attempt in ${Math.max(0, this.#openUntil - now)} ms`,
        );
      }
      this.#probing = true;
    }
    if (!this.#client.isReady) {
      this.#probing = false;
      return this.reject(operation, this.closed ? 'store closed' : 'not connected');
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this.counters.timeouts++;
        this.#failed();
        this.counters.errors++;
        reject(new StoreError(this.#store, operation, new Error(`timed out after ${this.#timeoutMs} ms`)));
      }, this.#timeoutMs);
      (options === undefined ? this.#client.sendCommand(args) : this.#client.sendCommand(args, options)).then(
        (reply) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#succeeded();
          resolve(reply as T);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // An error reply means Redis is up and answering: not a failure of the connection.
          if (isErrorReply(error)) {
            this.#succeeded();
            if (expected === undefined || !error.message.startsWith(expected)) this.counters.errors++;
          } else {
            this.#failed();
            this.counters.errors++;
          }
          reject(new StoreError(this.#store, operation, error));
        },
      );
    });
  }

  /** A rejected promise with a `StoreError` for `operation`, counted as an error. */
  reject(operation: string, reason: string): Promise<never> {
    this.counters.errors++;
    return Promise.reject(new StoreError(this.#store, operation, new Error(reason)));
  }

  #succeeded(): void {
    this.#failures = 0;
    this.#openUntil = 0;
    this.#probing = false;
    this.onSuccess?.();
  }

  #failed(): void {
    this.#failures++;
    if (this.#threshold > 0 && (this.#probing || this.#failures >= this.#threshold)) {
      this.#openUntil = this.#now() + this.#cooldownMs;
    }
    this.#probing = false;
  }
}

/** An error reply from the server; checked by class name too, for a client from another copy of `redis`. */
export function isErrorReply(error: unknown): error is Error {
  return (
    error instanceof ErrorReply ||
    (error instanceof Error && /^(?:ErrorReply|SimpleError|BlobError)$/.test(error.constructor.name))
  );
}

/** True when `error` is a `StoreError` caused by an error reply starting with `code` (e.g. `WRONGTYPE`). */
export function replyStartsWith(error: unknown, code: string): boolean {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return isErrorReply(cause) && cause.message.startsWith(code);
}

function isNoScript(error: unknown): boolean {
  return replyStartsWith(error, 'NOSCRIPT');
}

/** Escapes `*`, `?`, `[`, `]`, `\` and `^` so `text` matches itself in a `SCAN … MATCH` pattern. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\^]/g, '\\$&');
}

/** Every key matching `pattern`, a `SCAN` page (up to ~1,000 keys) at a time, each page through the guard. */
export async function* scanKeys(
  guarded: GuardedClient,
  operation: string,
  pattern: string,
): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const reply = await guarded.call<[unknown, unknown[]]>(operation, [
      'SCAN',
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      '1000',
    ]);
    cursor = String(reply[0]);
    yield reply[1].map(String);
  } while (cursor !== '0');
}

/**
 * A client the store creates from `url` and owns: the offline queue is disabled, so
 * commands fail at once while disconnected instead of piling up; connection errors go to
 * `onError` (node-redis throws `error` events nobody listens to).
 */
function ownClient(url: string, onError: () => void): RedisClientLike {
  const client = createClient({ url, disableOfflineQueue: true });
  client.on('error', onError);
  return client as unknown as RedisClientLike;
}

/** Closes a client the store owns: gracefully, or at once if that takes longer than `timeoutMs`. */
async function closeOwned(client: RedisClientLike, timeoutMs: number): Promise<void> {
  if (!client.isReady) {
    client.destroy();
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = client.close().catch(noop);
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'late');
  });
  if ((await Promise.race([closed, late])) === 'late') client.destroy();
  clearTimeout(timer);
}
