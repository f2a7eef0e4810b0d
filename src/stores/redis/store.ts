/**
 * The Redis cache store: entries shared by every replica, tag invalidation broadcast over
 * pub/sub, a per-operation timeout, a circuit breaker and an optional bloom filter that
 * skips lookups for keys nobody wrote.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { StoreError } from '../../errors/index.js';
import { noop } from '../../internal/noop.js';
import type { CacheEntry, CacheStore, CacheStoreStats } from '../types.js';
import { type BloomStats, BloomSync } from './bloom-sync.js';
import { KIND_ABANDONED, KIND_FILLED, type RedisCoalesceStats, RemoteFills } from './coalesce.js';
import { type CircuitState, escapeGlob, GuardedClient, replyStartsWith, scanKeys } from './guarded.js';
import { type RedisClientLike, type RedisStoreOptions, resolveStoreOptions } from './options.js';
import { BUMP_SCRIPT, CHECK_RUN_SCRIPT, EPOCH_SCRIPT, SET_SCRIPT, SWEEP_SCRIPT } from './scripts.js';
import {
  AS_BUFFERS,
  BINARY_FIELD,
  decodeEntry,
  type EncodedEntry,
  encodeEntry,
  JSON_FIELD,
} from './values.js';

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
  /** Cross-replica coalescing counters, when `coalesce` is enabled. */
  coalesce?: RedisCoalesceStats;
  /**
   * Tag invalidations that could not reach Redis, kept in this process and applied once it
   * answers again. Until then entries carrying those tags are neither served nor written here.
   */
  pendingInvalidations: number;
  /**
   * True when a `clear()` could not reach Redis, or more than 1,000 invalidations piled up:
   * once Redis answers, the store's epoch is bumped (nothing written before is served
   * again); until then nothing is served or written here.
   */
  pendingClear: boolean;
  /** Kept invalidations (and clears) applied after Redis came back. */
  replayed: number;
  /** Entries found whose tag generations or epoch were out of date (invalidated), served as misses. */
  outdated: number;
}

const KIND_KEY = 'k';
const KIND_TAG = 't';
const KIND_EPOCH = 'e';
const ID_LENGTH = 16;
/** Tag generations remembered from Redis and from invalidation messages. */
const MEMO_MAX = 10_000;
/** A remembered generation is read again after this long, ms: a bound on any drift of the memo. */
const MEMO_TTL_MS = 60_000;
/** A tag's generation lives at least this long after its last bump, ms: longer than any memo of it. */
const GENERATION_TTL_MS = 10 * MEMO_TTL_MS;
/** Invalidations kept while Redis is away; past it, the whole store is dropped once it is back. */
const PENDING_MAX = 1_000;
/** Tag-set members examined by one clean-up script, so no script blocks Redis for long. */
const SWEEP_BATCH = 100;
/** After a failed replay or start-up check, the next attempt comes this much later, ms. */
const RETRY_MS = 1_000;

type RemoteListener = (tag: string) => void;

/**
 * A cache store in Redis, shared by every process using the same prefix. Create it with
 * {@link redisStore}. Operations return promises (apart from bloom-filter misses, which
 * answer synchronously) and reject with a `StoreError` when Redis fails, times out or the
 * circuit is open; none waits longer than `timeoutMs`.
 *
 * Each entry is a hash at `<prefix>e:<key>` (`v` the entry's JSON, or `b` the entry packed
 * by msgpackr when it is larger than `encoding.binaryOverBytes`; `t` its tags, `s` its
 * `staleUntil`, `g` the store epoch and its tags' generations when written) expiring at
 * `staleUntil`; each tag is a set of keys at `<prefix>t:<tag>` and a generation at
 * `<prefix>g:<tag>`. An entry is served only while its recorded epoch and generations are
 * current, which this process checks against a memo kept up to date by the invalidation
 * messages (a tag not in the memo costs one `MGET`). Dropping a tag bumps its generation
 * (one `INCR`, whatever the number of entries), then deletes the entries left behind in
 * batches of 100; an invalidation that cannot reach Redis is kept here and applied once
 * it answers again. Scripts touch keys they compute, all under the prefix: on a Redis
 * Cluster the prefix becomes a hash tag (`'mcp-perf:'` → `'{mcp-perf:}'`), so every key
 * of one store lives in one slot and each script touches that slot only.
 */
export class RedisStore implements CacheStore {
  /** Always `redis`. */
  readonly name = 'redis';
  /**
   * Settles once the store is connected, subscribed to its channel and (with the bloom
   * filter) has made its first attempt to load the existing keys (`stats().bloom.state`
   * says whether it succeeded; a failed load is retried on later lookups, at most once a
   * second). Operations work before that: they fail fast while disconnected, and skip the
   * filter while it warms. A channel that cannot be opened yet (a cluster none of whose
   * nodes answers) is tried again every second. Rejects if the store is closed before its
   * client connected; resolves if it is closed later.
   */
  readonly ready: Promise<void>;
  /** This store's id on the channel; its own messages are ignored. */
  readonly instanceId: string;

  readonly #guarded: GuardedClient;
  readonly #client: RedisClientLike;
  readonly #now: () => number;
  readonly #maxEntrySize: number;
  readonly #binaryOverBytes: number | undefined;
  readonly #entryPrefix: string;
  readonly #tagPrefix: string;
  readonly #genPrefix: string;
  readonly #epochKey: string;
  readonly #runKey: string;
  readonly #channel: string;
  /** Tag generations known to be current; trusted only while the channel is up. */
  readonly #memo = new LRUCache<string, number>({ max: MEMO_MAX, ttl: MEMO_TTL_MS });
  /** The store epoch known to be current, while the channel is up. */
  #epoch: number | undefined;
  /** True while subscribed and checked since: every invalidation since then reached the memo. */
  #trusted = false;
  /** Bumped whenever trust is lost or regained, so a reply from before is not memoized. */
  #session = 0;
  readonly #pending = new Set<string>();
  #pendingAll = false;
  #replaying = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Ends the pause before the next attempt to open the invalidation channel. */
  #wake: (() => void) | undefined;
  #replayed = 0;
  #outdated = 0;
  readonly #bloom: BloomSync | undefined;
  readonly #fills: RemoteFills | undefined;
  readonly #remoteListeners = new Set<RemoteListener>();
  readonly #resyncListeners = new Set<() => void>();
  #subscriber: RedisClientLike | undefined;
  #closed = false;
  #hits = 0;
  #misses = 0;
  #corrupt = 0;
  #refused = 0;

  /**
   * @param options - connection, prefix, timeout, circuit and bloom filter; see {@link RedisStoreOptions}
   * @throws InvalidOptionError when an option is missing or out of range
   */
  constructor(options: RedisStoreOptions) {
    const o = resolveStoreOptions(options);
    this.#now = o.now;
    this.#maxEntrySize = o.maxEntrySize;
    this.#binaryOverBytes = o.binaryOverBytes;
    this.#entryPrefix = `${o.prefix}e:`;
    this.#tagPrefix = `${o.prefix}t:`;
    this.#genPrefix = `${o.prefix}g:`;
    this.#epochKey = `${o.prefix}epoch`;
    this.#runKey = `${o.prefix}run`;
    this.#channel = `${o.prefix}invalidate`;
    this.instanceId = randomBytes(ID_LENGTH / 2).toString('hex');
    this.#guarded = new GuardedClient(this.name, o);
    this.#client = this.#guarded.client;
    this.#guarded.onSuccess = () => {
      if (this.#pendingAll || this.#pending.size !== 0) queueMicrotask(() => this.#replay());
    };
    this.#bloom =
      o.bloom === undefined ? undefined : new BloomSync(o.bloom, this.#guarded, this.#entryPrefix, o.now);
    this.#fills =
      o.coalesce === undefined
        ? undefined
        : new RemoteFills(o.coalesce, this.#guarded, o.prefix, this.#channel, this.instanceId, o.now, (key) =>
            this.#read(key),
          );
    this.ready = this.#start();
    this.ready.catch(noop);
  }

  /**
   * The live entry under `key`, or `undefined`. With the bloom filter ready, a key it has
   * never seen answers `undefined` synchronously. An entry an invalidation or clear has
   * made out of date is a miss (counted in `outdated`). A value that is not a valid entry
   * is deleted and reported as a miss.
   *
   * With `coalesce`, a miss first claims the key's fill: answered `undefined` when this
   * store got it (the caller calls upstream and its `set` ends the fill), otherwise the
   * entry another replica stores meanwhile, waiting at most `coalesce.waitMs`.
   */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    return this.#fills === undefined ? this.#read(key) : this.#fills.get(key);
  }

  #read(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const bloom = this.#bloom;
    const consulted = bloom?.ready === true;
    if (bloom !== undefined && !bloom.mayHave(key)) {
      this.#misses++;
      return undefined;
    }
    const entryKey = this.#entryPrefix + key;
    const command = ['HMGET', entryKey, JSON_FIELD, 'g', BINARY_FIELD];
    return this.#guarded.call<unknown>('get', command, 'WRONGTYPE', AS_BUFFERS).then(
      (reply) => {
        const fields = Array.isArray(reply) ? reply : [];
        const entry = decodeEntry(fields[0], fields[2]);
        if (entry === null) {
          this.#misses++;
          if (consulted) bloom!.falsePositives++;
          return undefined;
        }
        if (entry === undefined) return this.#discardCorrupt(entryKey);
        if (entry.staleUntil < this.#now()) {
          this.#misses++;
          return undefined;
        }
        return this.#checkCurrent(entry, fields[1]);
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
    if (entry.size > this.#maxEntrySize || !(px > 0) || this.#blocked(entry.tags)) {
      if (entry.size > this.#maxEntrySize) this.#refused++;
      if (this.#fills?.claimed(key)) this.#fills.end(key, false);
      return this.#guarded.call('set', ['DEL', entryKey]).then(noop);
    }
    let encoded: EncodedEntry;
    let tagsJson: string;
    try {
      encoded = encodeEntry(entry, this.#binaryOverBytes);
      tagsJson = JSON.stringify(entry.tags);
    } catch (error) {
      this.#guarded.counters.errors++;
      return Promise.reject(new StoreError(this.name, 'set', error));
    }
    const announcement =
      this.#bloom === undefined ? '' : `${this.instanceId}${KIND_KEY}${this.#bloom.add(key)}`;
    const write = (generations: readonly number[]): Promise<void> =>
      this.#guarded
        .eval(
          'set',
          SET_SCRIPT,
          [entryKey],
          [
            encoded[1],
            tagsJson,
            String(px),
            this.#tagPrefix,
            key,
            this.#channel,
            announcement,
            String(entry.staleUntil),
            JSON.stringify(generations),
            this.#genPrefix,
            encoded[0],
            ...entry.tags,
          ],
        )
        .then(
          this.#fills === undefined || !this.#fills.claimed(key)
            ? noop
            : () => {
                this.#fills!.end(key, true);
              },
          (error: unknown) => {
            if (this.#fills?.claimed(key)) this.#fills.end(key, false);
            throw error;
          },
        );
    // The generations this process knows now: an invalidation it has not heard of yet makes
    // the entry out of date at once, so a fill that raced an invalidation is never served.
    const known = this.#known(entry.tags);
    return known === undefined ? this.#fetch('set', entry.tags).then(write) : write(known);
  }

  /**
   * With `coalesce`: the fill of `key` this store claimed ended without an entry (an error,
   * an uncacheable result), so replicas waiting for it make their own calls now. The cache
   * middleware calls it; a no-op otherwise.
   */
  abandonFill(key: string): void {
    if (this.#fills?.claimed(key)) this.#fills.end(key, false);
  }

  /** Deletes the entry under `key`; `true` if Redis held one. */
  delete(key: string): Promise<boolean> {
    return this.#guarded.call<number>('delete', ['DEL', this.#entryPrefix + key]).then((n) => Number(n) > 0);
  }

  /**
   * Drops every entry carrying `tag` on every replica: bumps the tag's generation (one
   * `INCR`; from then on no replica serves an entry written before) and publishes it so
   * other replicas' {@link RedisStore.onRemoteInvalidate} listeners hear it, then deletes
   * the entries left behind in batches of 100 members, each a short script. Answers how
   * many live entries were deleted (fewer if the clean-up is cut short: those left are never
   * served and expire on their own).
   *
   * If Redis cannot be reached the promise rejects, but the invalidation is kept in this
   * process (entries carrying the tag are neither served nor written here meanwhile) and
   * applied as soon as Redis answers again.
   */
  invalidateTag(tag: string): Promise<number> {
    return this.#bump(tag, 'invalidateTag').then(
      (generation) => this.#sweep(tag, generation),
      (error: unknown) => {
        this.#keep(tag);
        throw kept(this.name, 'invalidateTag', error);
      },
    );
  }

  /**
   * Drops every entry on every replica: bumps the store's epoch (one `INCR`; no replica
   * serves an entry written before), then deletes entries and tag sets under the prefix
   * with `SCAN` and `UNLINK`. If Redis cannot be reached the promise rejects, and the clear
   * is kept and applied as soon as Redis answers again (nothing is served here meanwhile).
   */
  async clear(): Promise<void> {
    try {
      await this.#bumpEpoch('clear');
    } catch (error) {
      this.#pendingAll = true;
      throw kept(this.name, 'clear', error);
    }
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
    const { errors, timeouts, shortCircuited, connectionErrors } = this.#guarded.counters;
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
      connectionErrors,
      circuit: this.#guarded.circuitState(),
      pendingInvalidations: this.#pending.size,
      pendingClear: this.#pendingAll,
      replayed: this.#replayed,
      outdated: this.#outdated,
    };
    if (this.#bloom !== undefined) stats.bloom = this.#bloom.stats();
    if (this.#fills !== undefined) stats.coalesce = { ...this.#fills.stats };
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
   * True while this store is subscribed to the invalidation channel (and has checked Redis
   * since it last connected): every invalidation made anywhere reaches
   * {@link RedisStore.onRemoteInvalidate} listeners. While false, copies of entries held
   * outside Redis cannot be kept current.
   */
  get listening(): boolean {
    return this.#trusted;
  }

  /**
   * Calls `listener()` whenever copies of entries held outside Redis (a local tier) must be
   * dropped: the invalidation channel went down (invalidations may be missed from now on
   * until it is back and {@link RedisStore.listening} is true again), or another replica
   * cleared the store. Answers an unregister function.
   */
  onResync(listener: () => void): () => void {
    this.#resyncListeners.add(listener);
    return () => {
      this.#resyncListeners.delete(listener);
    };
  }

  /**
   * Closes the pub/sub connection and, if the store created it, the main client (at once
   * if a graceful close takes longer than `timeoutMs`). A client passed in stays open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#untrust();
    clearTimeout(this.#retry);
    this.#wake?.();
    this.#bloom?.close();
    this.#subscriber?.destroy();
    await this.#guarded.close();
  }

  async #start(): Promise<void> {
    await this.#guarded.connect();
    // A single-node client keeps reconnecting until its connect() succeeds; a cluster's
    // connect() gives up when no node answers, so a channel that could not open is tried
    // again until it opens or the store closes.
    while (!this.#closed && !(await this.#listen())) await this.#pause(RETRY_MS);
  }

  /** Waits `ms`, or less if the store closes meanwhile. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      timer.unref?.();
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Opens the invalidation channel on a connection of its own. True once subscribed (or
   * closed meanwhile); false when the connection could not be opened, to be tried again.
   */
  async #listen(): Promise<boolean> {
    const subscriber = this.#client.duplicate();
    this.#subscriber = subscriber;
    let connectedOnce = false;
    subscriber.on('error', () => {
      this.#guarded.counters.connectionErrors++;
    });
    const deaf = () => {
      // Messages are lost while the channel is down: stop trusting what they kept current.
      this.#untrust();
      this.#bloom?.suspend();
    };
    subscriber.on('reconnecting', deaf);
    // A client made without reconnection ends instead of reconnecting.
    subscriber.on('end', deaf);
    subscriber.on('ready', () => {
      // node-redis resubscribes before it reports ready, so from here on nothing is missed.
      if (connectedOnce) this.#connected().catch(noop);
      connectedOnce = true;
    });
    try {
      await subscriber.connect();
      if (this.#closed) {
        subscriber.destroy();
        return true;
      }
      await subscriber.subscribe(this.#channel, (message) => this.#onMessage(message));
    } catch {
      this.#guarded.counters.connectionErrors++;
      if (this.#subscriber === subscriber) this.#subscriber = undefined;
      try {
        subscriber.destroy();
      } catch {
        // Never opened: nothing to close.
      }
      return this.#closed;
    }
    await this.#connected().catch(noop);
    return true;
  }

  /**
   * The channel is up (again): read the epoch (bumping it if Redis restarted), trust the
   * memo from here on, apply kept invalidations, reload the bloom filter.
   */
  async #connected(): Promise<void> {
    const session = ++this.#session;
    try {
      const epoch = await this.#guarded.eval<number>(
        'start-up check',
        CHECK_RUN_SCRIPT,
        [this.#epochKey, this.#runKey],
        [this.#channel, `${this.instanceId}${KIND_EPOCH}`],
      );
      if (session !== this.#session || this.#closed) return;
      this.#memo.clear();
      this.#epoch = Number(epoch) || 0;
      this.#trusted = true;
    } catch (error) {
      if (session === this.#session) this.#retryLater(() => this.#connected());
      throw error;
    }
    await this.#replay();
    await this.#bloom?.reload();
  }

  #untrust(): void {
    this.#trusted = false;
    this.#session++;
    this.#epoch = undefined;
    this.#memo.clear();
    this.#resync();
  }

  #resync(): void {
    for (const listener of this.#resyncListeners) {
      try {
        listener();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #retryLater(attempt: () => Promise<void>): void {
    if (this.#closed || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      attempt().catch(noop);
    }, RETRY_MS);
    this.#retry.unref?.();
  }

  #onMessage(message: string): void {
    if (message.length <= ID_LENGTH || message.startsWith(this.instanceId)) return;
    const kind = message[ID_LENGTH];
    const payload = message.slice(ID_LENGTH + 1);
    if (kind === KIND_TAG) {
      const colon = payload.indexOf(':');
      const generation = colon > 0 ? Number(payload.slice(0, colon)) : Number.NaN;
      let tag: string;
      if (Number.isSafeInteger(generation)) {
        tag = payload.slice(colon + 1);
        this.#learn(tag, generation);
      } else {
        // Sent by an older version of this store (no generation, the whole payload is the
        // tag), as during a rolling upgrade: read the generation from Redis next time.
        tag = payload;
        this.#memo.delete(tag);
      }
      for (const listener of this.#remoteListeners) {
        try {
          listener(tag);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    } else if (kind === KIND_EPOCH) {
      const epoch = Number(payload);
      if (Number.isSafeInteger(epoch)) this.#learnEpoch(epoch);
      this.#resync();
    } else if (kind === KIND_KEY) {
      this.#bloom?.heard(payload);
    } else if (kind === KIND_FILLED || kind === KIND_ABANDONED) {
      this.#fills?.heard(payload, kind === KIND_ABANDONED);
    }
  }

  /** Remembers that `tag` is at `generation` (or later), while the memo is trusted. */
  #learn(tag: string, generation: number): void {
    if (!this.#trusted) return;
    const known = this.#memo.get(tag);
    if (known === undefined || known < generation) this.#memo.set(tag, generation);
  }

  #learnEpoch(epoch: number): void {
    const e = Number(epoch);
    if (this.#trusted && (this.#epoch === undefined || this.#epoch < e)) this.#epoch = e;
  }

  /** `[epoch, generation of each tag]` from the memo, or `undefined` if any is unknown here. */
  #known(tags: readonly string[]): number[] | undefined {
    if (!this.#trusted || this.#epoch === undefined) return undefined;
    const out = [this.#epoch];
    for (let i = 0; i < tags.length; i++) {
      const g = this.#memo.get(tags[i]!);
      if (g === undefined) return undefined;
      out.push(g);
    }
    return out;
  }

  /** `[epoch, generation of each tag]` read from Redis (a missing one is 0), and memoized. */
  #fetch(operation: string, tags: readonly string[]): Promise<number[]> {
    const session = this.#session;
    const keys = [this.#epochKey];
    for (const tag of tags) keys.push(this.#genPrefix + tag);
    return this.#guarded.call<unknown>(operation, ['MGET', ...keys]).then((reply) => {
      const values = keys.map((_, i) => (Array.isArray(reply) ? Number(reply[i] ?? 0) || 0 : 0));
      if (session !== this.#session || !this.#trusted) return values;
      this.#learnEpoch(values[0]!);
      for (let i = 0; i < tags.length; i++) this.#learn(tags[i]!, values[i + 1]!);
      // A message may have brought something newer while the reply was on its way.
      values[0] = this.#epoch ?? values[0]!;
      for (let i = 0; i < tags.length; i++) values[i + 1] = this.#memo.get(tags[i]!) ?? values[i + 1]!;
      return values;
    });
  }

  /** Serves `entry` if its recorded epoch and generations are current, else counts it out of date. */
  #checkCurrent(
    entry: CacheEntry,
    recordedRaw: unknown,
  ): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const tags = entry.tags;
    const recorded = parseGenerations(recordedRaw, tags.length);
    if (recorded === undefined || this.#blocked(tags)) return this.#outdatedMiss();
    const known = this.#known(tags);
    if (known !== undefined) return sameNumbers(recorded, known) ? this.#hit(entry) : this.#outdatedMiss();
    return this.#fetch('get', tags).then((current) =>
      sameNumbers(recorded, current) ? this.#hit(entry) : this.#outdatedMiss(),
    );
  }

  #hit(entry: CacheEntry): CacheEntry {
    this.#hits++;
    return entry;
  }

  #outdatedMiss(): undefined {
    this.#outdated++;
    this.#misses++;
    return undefined;
  }

  /** True when a kept invalidation covers one of `tags`: such entries are neither served nor written. */
  #blocked(tags: readonly string[]): boolean {
    if (this.#pendingAll) return true;
    if (this.#pending.size === 0) return false;
    for (const tag of tags) if (this.#pending.has(tag)) return true;
    return false;
  }

  #bump(tag: string, operation: string): Promise<number> {
    return this.#guarded
      .eval<number>(
        operation,
        BUMP_SCRIPT,
        [this.#genPrefix + tag, this.#tagPrefix + tag],
        [this.#channel, `${this.instanceId}${KIND_TAG}`, tag, String(GENERATION_TTL_MS)],
      )
      .then((reply) => {
        const generation = Number(reply);
        this.#pending.delete(tag);
        this.#learn(tag, generation);
        return generation;
      });
  }

  /** Bumps the store's epoch: no replica serves an entry written before. */
  async #bumpEpoch(operation: string): Promise<void> {
    const epoch = await this.#guarded.eval<number>(
      operation,
      EPOCH_SCRIPT,
      [this.#epochKey],
      [this.#channel, `${this.instanceId}${KIND_EPOCH}`],
    );
    this.#learnEpoch(Number(epoch));
  }

  /** Deletes the entries `tag` left behind at `generation`, a batch per script; answers how many were live. */
  async #sweep(tag: string, generation: number): Promise<number> {
    let cursor = '0';
    let removed = 0;
    try {
      do {
        const [next, n] = await this.#guarded.eval<[unknown, unknown]>(
          'invalidateTag',
          SWEEP_SCRIPT,
          [this.#tagPrefix + tag],
          [this.#entryPrefix, tag, String(generation), String(this.#now()), cursor, String(SWEEP_BATCH)],
        );
        cursor = String(next);
        removed += Number(n);
      } while (cursor !== '0');
    } catch {
      // The generation is bumped: what is left is never served and expires on its own.
    }
    return removed;
  }

  #keep(tag: string): void {
    if (this.#pending.size < PENDING_MAX) this.#pending.add(tag);
    else this.#pendingAll = true;
  }

  /** Applies the invalidations kept while Redis was away; retried later if it still is. */
  async #replay(): Promise<void> {
    if (this.#replaying || this.#closed) return;
    this.#replaying = true;
    try {
      while (this.#pendingAll || this.#pending.size !== 0) {
        const tags = [...this.#pending];
        if (this.#pendingAll) {
          await this.#bumpEpoch('replay clear');
          this.#pendingAll = false;
          for (const tag of tags) this.#pending.delete(tag);
          this.#replayed++;
          continue;
        }
        for (const tag of tags) {
          const generation = await this.#bump(tag, 'replay invalidateTag');
          this.#replayed++;
          this.#sweep(tag, generation).catch(noop);
        }
      }
    } catch {
      this.#retryLater(() => this.#replay());
    } finally {
      this.#replaying = false;
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

/** `[epoch, generation of each of n tags]` as recorded in an entry, or `undefined` if malformed. */
function parseGenerations(raw: unknown, n: number): number[] | undefined {
  // A Buffer when read with the entry's fields as bytes.
  if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString());
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== n + 1) return undefined;
  for (const g of parsed) if (typeof g !== 'number') return undefined;
  return parsed as number[];
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The error of an invalidation that did not reach Redis but is kept and applied later. */
function kept(store: string, operation: string, error: unknown): StoreError {
  const cause = (error as { cause?: unknown } | null)?.cause ?? error;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StoreError(store, operation, new Error(`${reason}; kept, and applied once Redis answers again`));
}
