/**
 * The Redis cache store: entries shared by every replica, tag invalidation broadcast over
 * pub/sub, a per-operation timeout, a circuit breaker and an optional bloom filter that
 * skips lookups for keys nobody wrote.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { StoreError } from '../../errors/index.js';
import { noop } from '../../internal/noop.js';
import type { CacheEntry, CacheStore, CacheStoreStats } from '../types.js';
import { type BloomStats, BloomSync } from './bloom-sync.js';
import {
  type CircuitState,
  closeOwned,
  escapeGlob,
  GuardedClient,
  ownClient,
  replyStartsWith,
  scanKeys,
} from './guarded.js';
import { type RedisClientLike, type RedisStoreOptions, resolveStoreOptions } from './options.js';
import { INVALIDATE_SCRIPT, SET_SCRIPT } from './scripts.js';

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

const KIND_KEY = 'k';
const KIND_TAG = 't';
const ID_LENGTH = 16;

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

  readonly #guarded: GuardedClient;
  readonly #client: RedisClientLike;
  readonly #owned: boolean;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #maxEntrySize: number;
  readonly #entryPrefix: string;
  readonly #tagPrefix: string;
  readonly #channel: string;
  readonly #bloom: BloomSync | undefined;
  readonly #remoteListeners = new Set<RemoteListener>();
  #subscriber: RedisClientLike | undefined;
  #closed = false;
  #hits = 0;
  #misses = 0;
  #corrupt = 0;
  #refused = 0;
  #connectionErrors = 0;

  /**
   * @param options - connection, prefix, timeout, circuit and bloom filter; see {@link RedisStoreOptions}
   * @throws InvalidOptionError when an option is missing or out of range
   */
  constructor(options: RedisStoreOptions) {
    const o = resolveStoreOptions(options);
    this.#now = o.now;
    this.#timeoutMs = o.timeoutMs;
    this.#maxEntrySize = o.maxEntrySize;
    this.#entryPrefix = `${o.prefix}e:`;
    this.#tagPrefix = `${o.prefix}t:`;
    this.#channel = `${o.prefix}invalidate`;
    this.instanceId = randomBytes(ID_LENGTH / 2).toString('hex');
    this.#owned = o.client === undefined;
    this.#client =
      o.client ??
      ownClient(o.url!, () => {
        this.#connectionErrors++;
      });
    this.#guarded = new GuardedClient(this.name, this.#client, o);
    this.#bloom =
      o.bloom === undefined ? undefined : new BloomSync(o.bloom, this.#guarded, this.#entryPrefix, o.now);
    this.ready = this.#start();
    this.ready.catch(noop);
  }

  /**
   * The live entry under `key`, or `undefined`. With the bloom filter ready, a key it has
   * never seen answers `undefined` synchronously. A value that is not a valid entry is
   * deleted and reported as a miss.
   */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const bloom = this.#bloom;
    const consulted = bloom?.ready === true;
    if (bloom !== undefined && !bloom.mayHave(key)) {
      this.#misses++;
      return undefined;
    }
    const entryKey = this.#entryPrefix + key;
    return this.#guarded.call<unknown>('get', ['HGET', entryKey, 'v'], 'WRONGTYPE').then(
      (raw) => {
        if (raw === null || raw === undefined) {
          this.#misses++;
          if (consulted) bloom!.falsePositives++;
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
        if (replyStartsWith(error, 'WRONGTYPE')) return this.#discardCorrupt(entryKey);
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
      return this.#guarded.call('set', ['DEL', entryKey]).then(noop);
    }
    let json: string;
    let tagsJson: string;
    try {
      const { value, size, storedAt, freshUntil, staleUntil, tags } = entry;
      json = JSON.stringify({ value, size, storedAt, freshUntil, staleUntil, tags });
      tagsJson = JSON.stringify(tags);
    } catch (error) {
      this.#guarded.counters.errors++;
      return Promise.reject(new StoreError(this.name, 'set', error));
    }
    const announcement =
      this.#bloom === undefined ? '' : `${this.instanceId}${KIND_KEY}${this.#bloom.add(key)}`;
    return this.#guarded
      .eval(
        'set',
        SET_SCRIPT,
        [entryKey],
        [
          json,
          tagsJson,
          String(px),
          this.#tagPrefix,
          key,
          this.#channel,
          announcement,
          String(entry.staleUntil),
          ...entry.tags,
        ],
      )
      .then(noop);
  }

  /** Deletes the entry under `key`; `true` if Redis held one. */
  delete(key: string): Promise<boolean> {
    return this.#guarded.call<number>('delete', ['DEL', this.#entryPrefix + key]).then((n) => Number(n) > 0);
  }

  /**
   * Deletes every entry carrying `tag`, atomically, and publishes the invalidation so other
   * replicas' {@link RedisStore.onRemoteInvalidate} listeners hear it. Answers how many live
   * entries were deleted.
   */
  invalidateTag(tag: string): Promise<number> {
    return this.#guarded
      .eval<number>(
        'invalidateTag',
        INVALIDATE_SCRIPT,
        [this.#tagPrefix + tag],
        [this.#entryPrefix, tag, this.#channel, `${this.instanceId}${KIND_TAG}${tag}`, String(this.#now())],
      )
      .then(Number);
  }

  /** Deletes every key under the prefix (entries and tag sets), with `SCAN` and `UNLINK`. */
  async clear(): Promise<void> {
    const prefix = this.#entryPrefix.slice(0, -2);
    for await (const keys of scanKeys(this.#guarded, 'clear', `${escapeGlob(prefix)}[et]:*`)) {
      if (keys.length > 0) await this.#guarded.call('clear', ['UNLINK', ...keys]);
    }
  }

  /**
   * Counters of this process. `entries` and `bytes` are `0`: nothing is held locally (ask
   * Redis for `DBSIZE` or `INFO memory`); `evictions` is `0` as Redis evicts on its own.
   */
  stats(): RedisStoreStats {
    const { errors, timeouts, shortCircuited } = this.#guarded.counters;
    const stats: RedisStoreStats = {
      entries: 0,
      bytes: 0,
      evictions: 0,
      hits: this.#hits,
      misses: this.#misses,
      errors,
      timeouts,
      shortCircuited,
      corrupt: this.#corrupt,
      refused: this.#refused,
      connectionErrors: this.#connectionErrors,
      circuit: this.#guarded.circuitState(),
    };
    if (this.#bloom !== undefined) stats.bloom = this.#bloom.stats();
    return stats;
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
    this.#guarded.closed = true;
    this.#bloom?.close();
    this.#subscriber?.destroy();
    if (this.#owned) await closeOwned(this.#client, this.#timeoutMs);
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
      this.#bloom?.suspend();
    });
    subscriber.on('ready', () => {
      // A reconnect may have lost announcements: reload the filter from Redis.
      if (connectedOnce) this.#bloom?.reload().catch(noop);
      connectedOnce = true;
    });
    await subscriber.connect();
    if (this.#closed) {
      subscriber.destroy();
      return;
    }
    await subscriber.subscribe(this.#channel, (message) => this.#onMessage(message));
    if (this.#bloom !== undefined) await this.#bloom.reload().catch(noop);
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
    } else if (kind === KIND_KEY) {
      this.#bloom?.heard(payload);
    }
  }

  #discardCorrupt(entryKey: string): undefined {
    this.#corrupt++;
    this.#misses++;
    this.#guarded.call('discard corrupt entry', ['DEL', entryKey]).catch(noop);
    return undefined;
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
