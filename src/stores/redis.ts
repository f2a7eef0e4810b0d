/**
 * The Redis cache store: entries shared by every replica, tag invalidation broadcast over
 * pub/sub, a per-operation timeout, a circuit breaker and an optional bloom filter that
 * skips lookups for keys nobody wrote. Reached through `mcp-perf/redis`, so the `redis`
 * package loads only when it is imported.
 *
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';
import { createClient, ErrorReply } from 'redis';
import { InvalidOptionError, StoreError } from '../errors/index.js';
import { noop } from '../internal/noop.js';
import { BloomFilter, bloomHashes } from './bloom.js';
import type { CacheEntry, CacheStore, CacheStoreStats } from './types.js';

/**
 * Defaults of {@link RedisStoreOptions}, in one place: `prefix` `'mcp-perf:'`, `timeoutMs`
 * 50, `maxEntrySize` 1 MiB, circuit `failureThreshold` 5 and `cooldownMs` 5,000, bloom
 * filter (when enabled) `expectedItems` 100,000 at `falsePositiveRate` 0.01.
 */
export const REDIS_STORE_DEFAULTS = Object.freeze({
  /** Prefix of keys and of the channel. */
  prefix: 'mcp-perf:',
  /** Longest wait for one reply, milliseconds. */
  timeoutMs: 50,
  /** Largest entry stored, bytes. */
  maxEntrySize: 1024 * 1024,
  /** Circuit breaker. */
  circuit: Object.freeze({
    /** Consecutive failures that open the circuit. */
    failureThreshold: 5,
    /** How long it stays open, milliseconds. */
    cooldownMs: 5_000,
  }),
  /** Bloom filter sizing, when the filter is enabled. */
  bloom: Object.freeze({
    /** Keys the filter is sized for. */
    expectedItems: 100_000,
    /** False-positive rate at that many keys. */
    falsePositiveRate: 0.01,
  }),
} as const);

/** {@link RedisStoreOptions.circuit}: when to stop calling a failing Redis, and for how long. */
export interface RedisCircuitOptions {
  /** Consecutive failures (timeouts, lost connections) that open the circuit. Default 5. */
  failureThreshold?: number;
  /** How long the circuit stays open before one probe is let through, in milliseconds. Default 5,000. */
  cooldownMs?: number;
}

/** {@link RedisStoreOptions.bloom}: the bloom filter's size. */
export interface RedisBloomOptions {
  /**
   * Keys the filter is sized for; once it holds more, it is rebuilt from the keys in Redis.
   * Default 100,000 (about 117 KiB at 1%).
   */
  expectedItems?: number;
  /** The false-positive rate wanted at `expectedItems` keys, between 0 and 1. Default 0.01. */
  falsePositiveRate?: number;
}

/**
 * The part of a node-redis (v5 or v6) client the store uses. A client from
 * `createClient()` of the `redis` package fits; so does any object offering the same
 * members.
 */
export interface RedisClientLike {
  /** True while the connection is up and usable. */
  readonly isReady: boolean;
  /** Sends one raw command, e.g. `['HGET', key, 'v']`. */
  sendCommand(args: ReadonlyArray<string>): Promise<unknown>;
  /** A new, unconnected client with the same options (used for the pub/sub connection). */
  duplicate(): RedisClientLike;
  /** Opens the connection. */
  connect(): Promise<unknown>;
  /** Subscribes to `channel`; the listener receives each message. */
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  /** Registers an event listener (`error`, `ready`, `reconnecting`). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Closes the connection after pending replies arrive. */
  close(): Promise<unknown>;
  /** Closes the connection at once. */
  destroy(): void;
}

/** Options of {@link redisStore}. Give exactly one of `client` or `url`. */
export interface RedisStoreOptions {
  /**
   * A client you own, preferably connected. The store never closes it, only the pub/sub
   * connection it duplicates from it. Attach your own `error` listener to it: node-redis
   * throws `error` events nobody listens to.
   */
  client?: RedisClientLike;
  /**
   * A `redis://` or `rediss://` URL: the store creates, connects and owns the client (with
   * the offline queue disabled, so commands fail at once while disconnected) and closes it
   * in {@link RedisStore.close}.
   */
  url?: string;
  /**
   * Prefix of every key and of the pub/sub channel: entries live at `<prefix>e:<key>`,
   * tag sets at `<prefix>t:<tag>`, messages go to `<prefix>invalidate`. Stores sharing a
   * prefix share entries. Default `'mcp-perf:'`.
   */
  prefix?: string;
  /**
   * Longest wait for one Redis reply, in milliseconds; past it the operation rejects with a
   * `StoreError` (the cache treats that as a miss) and the late reply is ignored. Default 50.
   */
  timeoutMs?: number;
  /** Entries larger than this many bytes are refused (not stored, counted). Default 1 MiB. */
  maxEntrySize?: number;
  /**
   * Circuit breaker: after `failureThreshold` consecutive failures (timeouts, lost
   * connections) every operation rejects at once for `cooldownMs`; then one operation is let
   * through as a probe, and its success closes the circuit. `false` disables it. Defaults
   * 5 failures, 5,000 ms.
   */
  circuit?: false | RedisCircuitOptions;
  /**
   * A bloom filter of the keys present in Redis, so a lookup for a key that no replica has
   * written answers "miss" without a round trip. `true` uses the defaults (100,000 keys at a
   * 1% false-positive rate, about 117 KiB); off by default.
   *
   * How it stays correct across replicas: every `set` adds the key locally and publishes
   * its two hashes on the channel, so peers add it too. A new store starts with the filter
   * *warming*: it subscribes first, then loads the keys already in Redis with `SCAN`, and
   * only consults the filter once the scan has finished; until then every lookup goes to
   * Redis. A scan was chosen over waiting out the longest TTL because the store cannot know
   * that TTL, and a scan makes a fresh replica useful within one pass over the keyspace.
   * The filter is set aside while the pub/sub connection is down (messages may be lost) and
   * the same warm-up runs again once it reconnects, and with a fresh filter once it holds more keys than `expectedItems`, so
   * keys that expired stop occupying it. A key the filter misses by a lost message costs
   * one cache miss, never a wrong answer.
   */
  bloom?: boolean | RedisBloomOptions;
  /** Clock in epoch milliseconds for TTLs, expiry checks and the circuit. Default `Date.now`. */
  now?: () => number;
}

/** State of the circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Bloom filter counters in {@link RedisStoreStats}. */
export interface BloomStats {
  /** `warming` until the key scan has finished; lookups skip nothing meanwhile. */
  state: 'warming' | 'ready';
  /** Lookups answered "miss" by the filter without asking Redis. */
  skipped: number;
  /** Lookups the filter let through that Redis answered with nothing (false positives, deleted or expired keys). */
  falsePositives: number;
  /** Distinct keys added, estimated. */
  items: number;
  /** Size of the filter in bits. */
  bits: number;
  /** Hash functions per key. */
  hashes: number;
  /** The false-positive rate to expect at the filter's current fill. */
  estimatedFalsePositiveRate: number;
}

/** {@link RedisStore.stats} counters, all local to this process. */
export interface RedisStoreStats extends CacheStoreStats {
  /** Lookups that found a live entry. */
  hits: number;
  /** Lookups that found nothing (or only an expired or corrupt entry). */
  misses: number;
  /** Operations that rejected with a `StoreError`, including timeouts and short-circuits. */
  errors: number;
  /** Operations that ran out of `timeoutMs`. */
  timeouts: number;
  /** Operations refused at once because the circuit was open. */
  shortCircuited: number;
  /** Values found in Redis that were not a valid entry; each was deleted. */
  corrupt: number;
  /** Entries refused because they were larger than `maxEntrySize`. */
  refused: number;
  /** Errors reported by connections the store created. */
  connectionErrors: number;
  /** The circuit breaker's state. */
  circuit: CircuitState;
  /** Bloom filter counters, when the filter is enabled. */
  bloom?: BloomStats;
}

interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// KEYS[1] entry key. ARGV: 1 entry JSON, 2 tags JSON, 3 PX, 4 tag-key prefix, 5 key,
// 6 channel, 7 announcement ('' for none), 8 staleUntil, 9.. tags.
// Tag sets live at least as long as their longest-lived member.
const SET_SCRIPT = script(`
local px = tonumber(ARGV[3])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 't', ARGV[2], 's', ARGV[8])
redis.call('PEXPIRE', KEYS[1], px)
for i = 9, #ARGV do
  local tk = ARGV[4] .. ARGV[i]
  redis.call('SADD', tk, ARGV[5])
  if redis.call('PTTL', tk) < px then redis.call('PEXPIRE', tk, px) end
end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return 1
`);

// KEYS[1] tag set. ARGV: 1 entry-key prefix, 2 tag, 3 channel, 4 message, 5 now.
// A member is deleted only if its entry still carries the tag: a tag set may name keys
// that were since rewritten with other tags. Expired members are removed but not counted.
const INVALIDATE_SCRIPT = script(`
local now = tonumber(ARGV[5])
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[1] .. m
  local f = redis.pcall('HMGET', k, 't', 's')
  if type(f) == 'table' and f[1] then
    local ok, tags = pcall(cjson.decode, f[1])
    if ok and type(tags) == 'table' then
      for _, x in ipairs(tags) do
        if x == ARGV[2] then
          local s = tonumber(f[2])
          if s ~= nil and s >= now then n = n + 1 end
          redis.call('DEL', k)
          break
        end
      end
    end
  end
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return n
`);

const KIND_KEY = 'k';
const KIND_TAG = 't';
const ID_LENGTH = 16;
const WARM_RETRY_MS = 1_000;

type RemoteListener = (tag: string) => void;

/**
 * A cache store in Redis, shared by every process using the same prefix. Create it with
 * {@link redisStore}. Operations return promises (apart from bloom-filter misses, which
 * answer synchronously) and reject with a `StoreError` when Redis fails, times out or the
 * circuit is open; none waits longer than `timeoutMs`.
 *
 * Each entry is a hash at `<prefix>e:<key>` (`v` the entry's JSON, `t` its tags, `s` its
 * `staleUntil`) expiring at `staleUntil`; each tag is a set of keys at `<prefix>t:<tag>`.
 * Writes and invalidations run as Lua scripts, so each is one atomic round trip. Scripts
 * touch keys they compute, so use a single Redis (or Valkey) node, not a cluster.
 */
export class RedisStore implements CacheStore {
  /** Always `redis`. */
  readonly name = 'redis';
  /**
   * Settles once the store is connected, subscribed to its channel and (with the bloom
   * filter) has made its first attempt to load the existing keys (`stats().bloom.state`
   * says whether it succeeded; a failed load is retried on later lookups, at most once a
   * second). Operations work before that: they fail fast while disconnected, and skip the
   * filter while it warms. Rejects only if the store is closed first.
   */
  readonly ready: Promise<void>;
  /** This store's id on the channel; its own messages are ignored. */
  readonly instanceId: string;

  readonly #client: RedisClientLike;
  readonly #owned: boolean;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #maxEntrySize: number;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #entryPrefix: string;
  readonly #tagPrefix: string;
  readonly #channel: string;
  readonly #filter: BloomFilter | undefined;
  readonly #bloomItems: number;
  readonly #remoteListeners = new Set<RemoteListener>();
  #subscriber: RedisClientLike | undefined;
  #bloomReady = false;
  #warmGeneration = 0;
  #rebuildAt = 0;
  #warmFailedAt = -1;
  #closed = false;
  #failures = 0;
  #openUntil = 0;
  #probing = false;
  #hits = 0;
  #misses = 0;
  #errors = 0;
  #timeouts = 0;
  #shortCircuited = 0;
  #corrupt = 0;
  #refused = 0;
  #connectionErrors = 0;
  #skipped = 0;
  #falsePositives = 0;

  /**
   * @param options - connection, prefix, timeout, circuit and bloom filter; see {@link RedisStoreOptions}
   * @throws InvalidOptionError when an option is missing or out of range
   */
  constructor(options: RedisStoreOptions) {
    const o = resolveOptions(options);
    this.#now = o.now;
    this.#timeoutMs = o.timeoutMs;
    this.#maxEntrySize = o.maxEntrySize;
    this.#threshold = o.failureThreshold;
    this.#cooldownMs = o.cooldownMs;
    this.#entryPrefix = `${o.prefix}e:`;
    this.#tagPrefix = `${o.prefix}t:`;
    this.#channel = `${o.prefix}invalidate`;
    this.instanceId = randomBytes(ID_LENGTH / 2).toString('hex');
    if (o.bloom !== undefined) {
      this.#filter = new BloomFilter(o.bloom.expectedItems, o.bloom.falsePositiveRate);
      this.#bloomItems = o.bloom.expectedItems;
    } else {
      this.#bloomItems = 0;
    }
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#owned = false;
    } else {
      const client = createClient({ url: o.url, disableOfflineQueue: true });
      client.on('error', () => {
        this.#connectionErrors++;
      });
      this.#client = client as unknown as RedisClientLike;
      this.#owned = true;
    }
    this.ready = this.#start();
    this.ready.catch(noop);
  }

  /**
   * The live entry under `key`, or `undefined`. With the bloom filter ready, a key it has
   * never seen answers `undefined` synchronously. A value that is not a valid entry is
   * deleted and reported as a miss.
   */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const consulted = this.#bloomReady;
    if (consulted) {
      if (!this.#filter!.has(key)) {
        this.#skipped++;
        this.#misses++;
        return undefined;
      }
    } else if (this.#warmFailedAt >= 0 && this.#now() - this.#warmFailedAt >= WARM_RETRY_MS) {
      // The last key scan failed (Redis was away): lookups drive the retries, at most one a second.
      this.#warm().catch(noop);
    }
    const entryKey = this.#entryPrefix + key;
    return this.#call<unknown>('get', ['HGET', entryKey, 'v'], 'WRONGTYPE').then(
      (raw) => {
        if (raw === null || raw === undefined) {
          this.#misses++;
          if (consulted) this.#falsePositives++;
          return undefined;
        }
        const entry = parseEntry(typeof raw === 'string' ? raw : String(raw));
        if (entry === undefined) return this.#discardCorrupt(entryKey);
        if (entry.staleUntil < this.#now()) {
          this.#misses++;
          return undefined;
        }
        this.#hits++;
        return entry;
      },
      (error: unknown) => {
        if (isWrongType(error)) return this.#discardCorrupt(entryKey);
        throw error;
      },
    );
  }

  /**
   * Stores `entry` with a Redis expiry at its `staleUntil`, indexes its tags and (with the
   * bloom filter) announces the key to other replicas. An entry over `maxEntrySize` or
   * already past `staleUntil` is not stored, and any previous entry under `key` is deleted.
   */
  set(key: string, entry: CacheEntry): Promise<void> {
    const entryKey = this.#entryPrefix + key;
    const px = Math.ceil(entry.staleUntil - this.#now());
    if (entry.size > this.#maxEntrySize || !(px > 0)) {
      if (entry.size > this.#maxEntrySize) this.#refused++;
      return this.#call('set', ['DEL', entryKey]).then(noop);
    }
    let json: string;
    let tagsJson: string;
    try {
      const { value, size, storedAt, freshUntil, staleUntil, tags } = entry;
      json = JSON.stringify({ value, size, storedAt, freshUntil, staleUntil, tags });
      tagsJson = JSON.stringify(tags);
    } catch (error) {
      this.#errors++;
      return Promise.reject(new StoreError(this.name, 'set', error));
    }
    let announcement = '';
    if (this.#filter !== undefined) {
      const [h1, h2] = bloomHashes(key);
      this.#addToFilter(h1, h2);
      announcement = `${this.instanceId}${KIND_KEY}${h1.toString(36)}:${h2.toString(36)}`;
    }
    return this.#eval('set', SET_SCRIPT, entryKey, [
      json,
      tagsJson,
      String(px),
      this.#tagPrefix,
      key,
      this.#channel,
      announcement,
      String(entry.staleUntil),
      ...entry.tags,
    ]).then(noop);
  }

  /** Deletes the entry under `key`; `true` if Redis held one. */
  delete(key: string): Promise<boolean> {
    return this.#call<number>('delete', ['DEL', this.#entryPrefix + key]).then((n) => Number(n) > 0);
  }

  /**
   * Deletes every entry carrying `tag`, atomically, and publishes the invalidation so other
   * replicas' {@link RedisStore.onRemoteInvalidate} listeners hear it. Answers how many live
   * entries were deleted.
   */
  invalidateTag(tag: string): Promise<number> {
    return this.#eval<number>('invalidateTag', INVALIDATE_SCRIPT, this.#tagPrefix + tag, [
      this.#entryPrefix,
      tag,
      this.#channel,
      `${this.instanceId}${KIND_TAG}${tag}`,
      String(this.#now()),
    ]).then(Number);
  }

  /** Deletes every key under the prefix (entries and tag sets), with `SCAN` and `UNLINK`. */
  async clear(): Promise<void> {
    const prefix = this.#entryPrefix.slice(0, -2);
    for await (const keys of this.#scan('clear', `${escapeGlob(prefix)}[et]:*`)) {
      if (keys.length > 0) await this.#call('clear', ['UNLINK', ...keys]);
    }
  }

  /**
   * Counters of this process. `entries` and `bytes` are `0`: nothing is held locally (ask
   * Redis for `DBSIZE` or `INFO memory`); `evictions` is `0` as Redis evicts on its own.
   */
  stats(): RedisStoreStats {
    const filter = this.#filter;
    return {
      entries: 0,
      bytes: 0,
      evictions: 0,
      hits: this.#hits,
      misses: this.#misses,
      errors: this.#errors,
      timeouts: this.#timeouts,
      shortCircuited: this.#shortCircuited,
      corrupt: this.#corrupt,
      refused: this.#refused,
      connectionErrors: this.#connectionErrors,
      circuit: this.#circuitState(),
      ...(filter === undefined
        ? {}
        : {
            bloom: {
              state: this.#bloomReady ? 'ready' : 'warming',
              skipped: this.#skipped,
              falsePositives: this.#falsePositives,
              items: filter.count,
              bits: filter.bits,
              hashes: filter.hashes,
              estimatedFalsePositiveRate: filter.estimatedFalsePositiveRate(),
            },
          }),
    };
  }

  /**
   * Calls `listener(tag)` for every tag invalidated by another store on the same prefix
   * (this store's own invalidations are not echoed). A listener that throws does not
   * disturb the store; its error is rethrown from a microtask. Answers an unregister function.
   */
  onRemoteInvalidate(listener: (tag: string) => void): () => void {
    this.#remoteListeners.add(listener);
    return () => {
      this.#remoteListeners.delete(listener);
    };
  }

  /**
   * Closes the pub/sub connection and, if the store created it, the main client (at once
   * if a graceful close takes longer than `timeoutMs`). A client passed in stays open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#warmGeneration++;
    this.#bloomReady = false;
    this.#subscriber?.destroy();
    if (!this.#owned) return;
    const client = this.#client;
    if (!client.isReady) {
      client.destroy();
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = client.close().catch(noop);
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, this.#timeoutMs, 'late');
    });
    if ((await Promise.race([closed, late])) === 'late') client.destroy();
    clearTimeout(timer);
  }

  async #start(): Promise<void> {
    if (this.#owned) await this.#client.connect();
    if (this.#closed) return;
    const subscriber = this.#client.duplicate();
    this.#subscriber = subscriber;
    let connectedOnce = false;
    subscriber.on('error', () => {
      this.#connectionErrors++;
    });
    subscriber.on('reconnecting', () => {
      // Announcements are lost while the channel is down: stop trusting the filter.
      if (this.#filter !== undefined) {
        this.#warmGeneration++;
        this.#bloomReady = false;
      }
    });
    subscriber.on('ready', () => {
      // A reconnect may have lost announcements: reload the filter from Redis.
      if (connectedOnce && this.#filter !== undefined) this.#warm().catch(noop);
      connectedOnce = true;
    });
    await subscriber.connect();
    if (this.#closed) {
      subscriber.destroy();
      return;
    }
    await subscriber.subscribe(this.#channel, (message) => this.#onMessage(message));
    if (this.#filter !== undefined) await this.#warm().catch(noop);
  }

  async #warm(): Promise<void> {
    const generation = ++this.#warmGeneration;
    this.#bloomReady = false;
    this.#warmFailedAt = -1;
    const filter = this.#filter!;
    const prefixLength = this.#entryPrefix.length;
    let found = 0;
    try {
      for await (const keys of this.#scan('bloom warm-up', `${escapeGlob(this.#entryPrefix)}*`)) {
        if (generation !== this.#warmGeneration) return;
        for (const key of keys) filter.add(key.slice(prefixLength));
        found += keys.length;
      }
    } catch (error) {
      if (generation === this.#warmGeneration && !this.#closed) this.#warmFailedAt = this.#now();
      throw error;
    }
    if (generation !== this.#warmGeneration) return;
    this.#rebuildAt = Math.max(this.#bloomItems, 2 * found);
    this.#bloomReady = true;
  }

  #addToFilter(h1: number, h2: number): void {
    const filter = this.#filter!;
    filter.addHashes(h1, h2);
    if (this.#bloomReady && filter.count > this.#rebuildAt) {
      filter.clear();
      // Kept across the rebuild: the scan may run before this key's write reaches Redis.
      filter.addHashes(h1, h2);
      this.#warm().catch(noop);
    }
  }

  async *#scan(operation: string, pattern: string): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const reply = await this.#call<[unknown, unknown[]]>(operation, [
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

  #onMessage(message: string): void {
    if (message.length <= ID_LENGTH || message.startsWith(this.instanceId)) return;
    const kind = message[ID_LENGTH];
    const payload = message.slice(ID_LENGTH + 1);
    if (kind === KIND_TAG) {
      for (const listener of this.#remoteListeners) {
        try {
          listener(payload);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    } else if (kind === KIND_KEY && this.#filter !== undefined) {
      const colon = payload.indexOf(':');
      const h1 = Number.parseInt(payload.slice(0, colon), 36);
      const h2 = Number.parseInt(payload.slice(colon + 1), 36);
      if (colon > 0 && h1 >= 0 && h2 >= 0) this.#addToFilter(h1, h2);
    }
  }

  #discardCorrupt(entryKey: string): undefined {
    this.#corrupt++;
    this.#misses++;
    this.#call('discard corrupt entry', ['DEL', entryKey]).catch(noop);
    return undefined;
  }

  #eval<T>(operation: string, s: Script, key: string, args: string[]): Promise<T> {
    return this.#call<T>(operation, ['EVALSHA', s.sha, '1', key, ...args], 'NOSCRIPT').catch(
      (error: unknown) => {
        if (!isNoScript(error)) throw error;
        return this.#call<T>(operation, ['EVAL', s.source, '1', key, ...args]);
      },
    );
  }

  #circuitState(): CircuitState {
    if (this.#openUntil === 0) return 'closed';
    return this.#now() < this.#openUntil || this.#probing ? 'open' : 'half-open';
  }

  /**
   * Sends one command within the timeout and through the circuit. An error reply starting
   * with `expected` (e.g. `NOSCRIPT`) is handled by the caller and not counted as an error.
   */
  #call<T>(operation: string, args: string[], expected?: string): Promise<T> {
    if (this.#openUntil !== 0) {
      const now = this.#now();
      if (now < this.#openUntil || this.#probing) {
        this.#shortCircuited++;
        return this.#reject(
          operation,
          `circuit open after ${this.#failures} consecutive failures; next attempt in ${Math.max(0, this.#openUntil - now)} ms`,
        );
      }
      this.#probing = true;
    }
    if (!this.#client.isReady) {
      this.#probing = false;
      return this.#reject(operation, this.#closed ? 'store closed' : 'not connected');
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        this.#timeouts++;
        this.#failed();
        this.#errors++;
        reject(new StoreError(this.name, operation, new Error(`timed out after ${this.#timeoutMs} ms`)));
      }, this.#timeoutMs);
      this.#client.sendCommand(args).then(
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
            if (expected === undefined || !error.message.startsWith(expected)) this.#errors++;
          } else {
            this.#failed();
            this.#errors++;
          }
          reject(new StoreError(this.name, operation, error));
        },
      );
    });
  }

  #reject(operation: string, reason: string): Promise<never> {
    this.#errors++;
    return Promise.reject(new StoreError(this.name, operation, new Error(reason)));
  }

  #succeeded(): void {
    this.#failures = 0;
    this.#openUntil = 0;
    this.#probing = false;
  }

  #failed(): void {
    this.#failures++;
    if (this.#threshold > 0 && (this.#probing || this.#failures >= this.#threshold)) {
      this.#openUntil = this.#now() + this.#cooldownMs;
    }
    this.#probing = false;
  }
}

/**
 * Creates a {@link RedisStore}: cache entries in Redis shared by every replica, tag
 * invalidations broadcast over pub/sub, operations bounded by `timeoutMs` behind a circuit
 * breaker, and an optional bloom filter in front (defaults in {@link REDIS_STORE_DEFAULTS}).
 *
 * @example With a URL (the store owns the connection)
 * ```ts
 * import { redisStore } from 'mcp-perf/redis';
 * const store = redisStore({ url: 'redis://127.0.0.1:6379', bloom: true });
 * await store.ready;
 * // …
 * await store.close();
 * ```
 * @example With your own client
 * ```ts
 * import { createClient } from 'redis';
 * const client = await createClient({ url }).on('error', report).connect();
 * const store = redisStore({ client, prefix: 'my-app:', timeoutMs: 20 });
 * ```
 * @throws InvalidOptionError when an option is missing or out of range
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\^]/g, '\\$&');
}

/** An error reply from the server; checked by class name too, for a client from another copy of `redis`. */
function isErrorReply(error: unknown): error is Error {
  return (
    error instanceof ErrorReply ||
    (error instanceof Error && /^(?:ErrorReply|SimpleError|BlobError)$/.test(error.constructor.name))
  );
}

function replyStartsWith(error: unknown, code: string): boolean {
  const cause = (error as { cause?: unknown } | null)?.cause;
  return isErrorReply(cause) && cause.message.startsWith(code);
}

function isWrongType(error: unknown): boolean {
  return replyStartsWith(error, 'WRONGTYPE');
}

function isNoScript(error: unknown): boolean {
  return replyStartsWith(error, 'NOSCRIPT');
}

function parseEntry(raw: string): CacheEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('value' in parsed)) return undefined;
  const e = parsed as Record<string, unknown>;
  if (
    typeof e.size !== 'number' ||
    typeof e.storedAt !== 'number' ||
    typeof e.freshUntil !== 'number' ||
    typeof e.staleUntil !== 'number' ||
    !Array.isArray(e.tags) ||
    !e.tags.every((tag) => typeof tag === 'string')
  ) {
    return undefined;
  }
  return parsed as CacheEntry;
}

interface Resolved {
  url: string | undefined;
  prefix: string;
  timeoutMs: number;
  maxEntrySize: number;
  failureThreshold: number;
  cooldownMs: number;
  bloom: { expectedItems: number; falsePositiveRate: number } | undefined;
  now: () => number;
}

function resolveOptions(options: RedisStoreOptions): Resolved {
  const where = 'redisStore';
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(
      where,
      'client',
      'a node-redis client, or options.url a redis:// URL',
      undefined,
    );
  }
  const { client, url } = options;
  if ((client === undefined) === (url === undefined)) {
    throw new InvalidOptionError(
      where,
      client === undefined ? 'url' : 'client',
      'given, but not together with the other of client / url',
      client === undefined ? url : 'both client and url',
    );
  }
  if (client !== undefined && (typeof client !== 'object' || typeof client.sendCommand !== 'function')) {
    throw new InvalidOptionError(where, 'client', 'a node-redis client (with sendCommand)', client);
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    throw new InvalidOptionError(where, 'url', 'a redis:// or rediss:// URL', url);
  }
  const prefix = options.prefix ?? REDIS_STORE_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidOptionError(where, 'prefix', 'a non-empty string', prefix);
  }
  const timeoutMs = options.timeoutMs ?? REDIS_STORE_DEFAULTS.timeoutMs;
  positive(where, 'timeoutMs', timeoutMs);
  const maxEntrySize = options.maxEntrySize ?? REDIS_STORE_DEFAULTS.maxEntrySize;
  positive(where, 'maxEntrySize', maxEntrySize);
  let failureThreshold = 0;
  let cooldownMs = 0;
  if (options.circuit !== false) {
    const circuit = options.circuit ?? {};
    if (typeof circuit !== 'object' || circuit === null) {
      throw new InvalidOptionError(where, 'circuit', 'false or an object', circuit);
    }
    failureThreshold = circuit.failureThreshold ?? REDIS_STORE_DEFAULTS.circuit.failureThreshold;
    cooldownMs = circuit.cooldownMs ?? REDIS_STORE_DEFAULTS.circuit.cooldownMs;
    positive(where, 'circuit.failureThreshold', failureThreshold);
    positive(where, 'circuit.cooldownMs', cooldownMs);
  }
  let bloom: Resolved['bloom'];
  if (options.bloom !== undefined && options.bloom !== false) {
    const given = options.bloom === true ? {} : options.bloom;
    if (typeof given !== 'object' || given === null) {
      throw new InvalidOptionError(
        where,
        'bloom',
        'a boolean or { expectedItems, falsePositiveRate }',
        given,
      );
    }
    const expectedItems = given.expectedItems ?? REDIS_STORE_DEFAULTS.bloom.expectedItems;
    const falsePositiveRate = given.falsePositiveRate ?? REDIS_STORE_DEFAULTS.bloom.falsePositiveRate;
    positive(where, 'bloom.expectedItems', expectedItems);
    if (typeof falsePositiveRate !== 'number' || !(falsePositiveRate > 0 && falsePositiveRate < 1)) {
      throw new InvalidOptionError(
        where,
        'bloom.falsePositiveRate',
        'a number between 0 and 1',
        falsePositiveRate,
      );
    }
    bloom = { expectedItems, falsePositiveRate };
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new InvalidOptionError(where, 'now', 'a function returning epoch milliseconds', options.now);
  }
  return {
    url,
    prefix,
    timeoutMs,
    maxEntrySize,
    failureThreshold,
    cooldownMs,
    bloom,
    now: options.now ?? Date.now,
  };
}

function positive(where: string, option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionError(where, option, 'a positive integer', value);
  }
}
