/**
 * Options of the Redis stores, their defaults and their validation. Everything is checked
 * when a store is created, so the per-operation path never validates.
 *
 * @module
 */

import { InvalidOptionError } from '../../errors/index.js';
import { clockOption, integerOption, positiveInteger } from '../../internal/validate.js';
import { clusterClient, clusterPrefix, isRedisCluster, type RedisClusterLike } from './cluster.js';
import type { RedisCoalesceOptions } from './coalesce.js';

/**
 * Defaults of {@link RedisStoreOptions}, in one place: `prefix` `'mcp-perf:'`, `timeoutMs`
 * 50, `maxEntrySize` 1 MiB, `encoding.binaryOverBytes` 16,384, circuit `failureThreshold` 5 and `cooldownMs` 5,000, bloom
 * filter (when enabled) `expectedItems` 100,000 at `falsePositiveRate` 0.01.
 */
export const REDIS_STORE_DEFAULTS = Object.freeze({
  /** Prefix of keys and of the channel. */
  prefix: 'mcp-perf:',
  /** Longest wait for one reply, milliseconds. */
  timeoutMs: 50,
  /** Largest entry stored, bytes. */
  maxEntrySize: 1024 * 1024,
  /** How entries are written. */
  encoding: Object.freeze({
    /** Entries whose value's JSON is longer than this many bytes are written packed by msgpackr. */
    binaryOverBytes: 16_384,
  }),
  /** Circuit breaker. */
  circuit: Object.freeze({
    /** Consecutive failures that open the circuit. */
    failureThreshold: 5,
    /** How long it stays open, milliseconds. */
    cooldownMs: 5_000,
  }),
  /** Cross-replica coalescing, when enabled. */
  coalesce: Object.freeze({
    /** Lifetime of a fill lock, ms. */
    lockMs: 10_000,
    /** Longest wait for another replica's fill, ms. */
    waitMs: 5_000,
    /** How often a waiting replica looks at the store, ms. */
    pollMs: 100,
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

/** {@link RedisStoreOptions.encoding}: which entries are written in binary. */
export interface RedisEncodingOptions {
  /**
   * Entries whose value's JSON is longer than this many bytes are written packed by
   * msgpackr rather than as JSON text. Default 16,384.
   */
  binaryOverBytes?: number;
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

/** One argument of a Redis command: text, or bytes sent as they are. */
export type RedisArgument = string | Buffer;

/**
 * Per-command options handed to node-redis's `sendCommand`: the cache store asks for
 * `typeMapping` `{ [RESP_TYPES.BLOB_STRING]: Buffer }` when reading entries, so binary
 * entries arrive as Buffers. A client that ignores it answers strings, and then reads
 * binary entries as corrupt (JSON entries are read either way).
 */
export interface RedisCommandOptions {
  /** node-redis's map from RESP types to JavaScript types, for this command's reply. */
  readonly typeMapping?: Readonly<Record<number, unknown>>;
}

/**
 * The part of a node-redis (v5 or v6) client the stores use. A client from
 * `createClient()` of the `redis` package fits; so does any object offering the same
 * members.
 */
export interface RedisClientLike {
  /** True while the connection is up and usable. */
  readonly isReady: boolean;
  /** Sends one raw command, e.g. `['HGET', key, 'v']`, with node-redis command options. */
  sendCommand(args: ReadonlyArray<RedisArgument>, options?: RedisCommandOptions): Promise<unknown>;
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

/**
 * How a Redis store reaches Redis and how long it waits: the options the cache store and
 * the rate-limit store share. Give exactly one of `client` or `url`.
 */
export interface RedisConnectionOptions {
  /**
   * A client you own, preferably connected: a single-node client (`createClient()`) or a
   * Redis Cluster client (`createCluster()`). The store never closes it (only connections
   * it duplicates from it). Attach your own `error` listener to it: node-redis throws
   * `error` events nobody listens to. On a cluster, the cache store puts all its keys in
   * one slot (its prefix becomes a hash tag, see `docs/fleet.md`); the rate-limit store and
   * the semaphore spread theirs, one slot per bucket or semaphore.
   */
  client?: RedisClientLike | RedisClusterLike;
  /**
   * A `redis://` or `rediss://` URL: the store creates, connects and owns the client (with
   * the offline queue disabled, so commands fail at once while disconnected) and closes it
   * in `close()`.
   */
  url?: string;
  /**
   * Prefix of every key (and, for the cache store, of the pub/sub channel). Stores sharing a
   * prefix share their data. Default `'mcp-perf:'`.
   */
  prefix?: string;
  /**
   * Longest wait for one Redis reply, in milliseconds; past it the operation rejects with a
   * `StoreError` and the late reply is ignored. Default 50.
   */
  timeoutMs?: number;
  /**
   * Circuit breaker: after `failureThreshold` consecutive failures (timeouts, lost
   * connections) every operation rejects at once for `cooldownMs`; then one operation is let
   * through as a probe, and its success closes the circuit. `false` disables it. Defaults
   * 5 failures, 5,000 ms.
   */
  circuit?: false | RedisCircuitOptions;
  /** Clock in epoch milliseconds for the circuit (and, in the cache store, TTLs). Default `Date.now`. */
  clock?: () => number;
  /** @deprecated The former name of {@link RedisConnectionOptions.clock}. */
  now?: () => number;
}

/** Options of `redisStore`. Give exactly one of `client` or `url`. */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /**
   * Prefix of every key and of the pub/sub channel: entries live at `<prefix>e:<key>`,
   * tag sets at `<prefix>t:<tag>`, tag generations at `<prefix>g:<tag>`, messages go to
   * `<prefix>invalidate`. Stores sharing a prefix share entries. Default `'mcp-perf:'`.
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
   * How entries are written. An entry whose value's JSON is longer than `binaryOverBytes`
   * (default 16 KiB) is written packed by msgpackr, cheaper to encode and
   * decode at that size than JSON (`docs/redis.md`); smaller ones, and any value msgpackr
   * cannot carry exactly (`NaN`, a `Date`, a class instance …), as JSON text. `false`
   * writes JSON only. Reading accepts both forms whatever this says, so replicas may differ.
   */
  encoding?: false | RedisEncodingOptions;
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
   * the same warm-up runs again once it reconnects, and with a fresh filter once it holds
   * more keys than `expectedItems`, so keys that expired stop occupying it. A key the filter
   * misses by a lost message costs one cache miss, never a wrong answer.
   */
  bloom?: boolean | RedisBloomOptions;
  /**
   * Coalescing across replicas: identical requests missing the cache on different replicas
   * at once make one upstream call. A miss claims the key's fill lock in Redis (`SET NX PX`);
   * the replica that gets it calls upstream, the others wait for its entry (told on the
   * channel, and polling the store in case a message is lost) and make their own call if
   * it stores nothing, dies (the lock expires) or takes longer than `waitMs`. `true` uses
   * the defaults (`lockMs` 10,000, `waitMs` 5,000, `pollMs` 100). Costs one more round trip
   * per miss. Off by default, and nothing changes while off.
   */
  coalesce?: boolean | RedisCoalesceOptions;
  /** Clock in epoch milliseconds for TTLs, expiry checks and the circuit. Default `Date.now`. */
  clock?: () => number;
}

/** {@link RedisConnectionOptions}, validated, with defaults applied. */
export interface ResolvedConnection {
  readonly url: string | undefined;
  /** The client passed in; a cluster client is already adapted to the single-node surface. */
  readonly client: RedisClientLike | undefined;
  /** True when the client passed in is a Redis Cluster client. */
  readonly cluster: boolean;
  /** On a cluster with `hashTag`, wrapped in a hash tag so every derived key shares one slot. */
  readonly prefix: string;
  readonly timeoutMs: number;
  /** 0 when the circuit is disabled. */
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  readonly now: () => number;
}

/** {@link RedisStoreOptions}, validated, with defaults applied. */
export interface ResolvedStoreOptions extends ResolvedConnection {
  readonly maxEntrySize: number;
  /** `undefined` when entries are written as JSON only. */
  readonly binaryOverBytes: number | undefined;
  readonly bloom: { readonly expectedItems: number; readonly falsePositiveRate: number } | undefined;
  readonly coalesce: Required<RedisCoalesceOptions> | undefined;
}

/**
 * Validates the connection options of a Redis store created by `where`. With `hashTag`
 * (a store whose scripts touch several of its keys), a cluster client makes the prefix a
 * hash tag, so all the store's keys share one slot.
 *
 * @throws InvalidOptionError naming the first option that is missing or out of range
 */
export function resolveConnection(
  where: string,
  options: RedisConnectionOptions,
  hashTag = false,
): ResolvedConnection {
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
  const given = options.prefix ?? REDIS_STORE_DEFAULTS.prefix;
  if (typeof given !== 'string' || given.length === 0) {
    throw new InvalidOptionError(where, 'prefix', 'a non-empty string', given);
  }
  const cluster = isRedisCluster(client);
  const prefix = cluster && hashTag ? clusterPrefix(given) : given;
  const timeoutMs = options.timeoutMs ?? REDIS_STORE_DEFAULTS.timeoutMs;
  positiveInteger(where, 'timeoutMs', timeoutMs);
  let failureThreshold = 0;
  let cooldownMs = 0;
  if (options.circuit !== false) {
    const circuit = options.circuit ?? {};
    if (typeof circuit !== 'object' || circuit === null) {
      throw new InvalidOptionError(where, 'circuit', 'false or an object', circuit);
    }
    failureThreshold = circuit.failureThreshold ?? REDIS_STORE_DEFAULTS.circuit.failureThreshold;
    cooldownMs = circuit.cooldownMs ?? REDIS_STORE_DEFAULTS.circuit.cooldownMs;
    positiveInteger(where, 'circuit.failureThreshold', failureThreshold);
    positiveInteger(where, 'circuit.cooldownMs', cooldownMs);
  }
  return {
    url,
    client: cluster ? clusterClient(client, prefix) : (client as RedisClientLike | undefined),
    cluster,
    prefix,
    timeoutMs,
    failureThreshold,
    cooldownMs,
    now: clockOption(where, options) ?? Date.now,
  };
}

/**
 * Validates the options of `redisStore`.
 *
 * @throws InvalidOptionError naming the first option that is missing or out of range
 */
export function resolveStoreOptions(options: RedisStoreOptions): ResolvedStoreOptions {
  const where = 'redisStore';
  const connection = resolveConnection(where, options, true);
  const maxEntrySize = options.maxEntrySize ?? REDIS_STORE_DEFAULTS.maxEntrySize;
  positiveInteger(where, 'maxEntrySize', maxEntrySize);
  let binaryOverBytes: number | undefined;
  if (options.encoding !== false) {
    const given = options.encoding ?? {};
    if (typeof given !== 'object' || given === null) {
      throw new InvalidOptionError(where, 'encoding', 'false or { binaryOverBytes }', given);
    }
    binaryOverBytes = integerOption(
      where,
      'encoding.binaryOverBytes',
      given.binaryOverBytes,
      REDIS_STORE_DEFAULTS.encoding.binaryOverBytes,
      0,
    );
  }
  let bloom: ResolvedStoreOptions['bloom'];
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
    positiveInteger(where, 'bloom.expectedItems', expectedItems);
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
  let coalesce: ResolvedStoreOptions['coalesce'];
  if (options.coalesce !== undefined && options.coalesce !== false) {
    const given = options.coalesce === true ? {} : options.coalesce;
    if (typeof given !== 'object' || given === null) {
      throw new InvalidOptionError(where, 'coalesce', 'a boolean or { lockMs, waitMs, pollMs }', given);
    }
    const d = REDIS_STORE_DEFAULTS.coalesce;
    coalesce = {
      lockMs: positiveInteger(where, 'coalesce.lockMs', given.lockMs ?? d.lockMs),
      waitMs: positiveInteger(where, 'coalesce.waitMs', given.waitMs ?? d.waitMs),
      pollMs: positiveInteger(where, 'coalesce.pollMs', given.pollMs ?? d.pollMs),
    };
  }
  return { ...connection, maxEntrySize, binaryOverBytes, bloom, coalesce };
}
