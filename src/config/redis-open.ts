/**
 * The Redis connections of a stack built from a config: one client per distinct URL,
 * shared by every store the stack opens on it (the cache store, the rate-limit store, the
 * semaphore of a shared concurrency limit), and the stores themselves. Loaded only when a
 * config names Redis, so the optional `redis` package is needed only then.
 *
 * Start-up never fails on Redis: each URL is waited for once (at most the stack's
 * connect wait), and an owner whose Redis is not there is told what that means for it
 * (misses, its `onStoreError` choice) through the stack's warnings; the client keeps
 * reconnecting in the background. Closing the stack closes the stores first, then the
 * clients they shared.
 *
 * @module
 */

import { createClient, createCluster } from 'redis';
import { noop } from '../internal/noop.js';
import {
  REDIS_STORE_DEFAULTS,
  type RedisClientLike,
  type RedisClusterLike,
  type RedisRateLimitStore,
  type RedisSemaphore,
  type RedisStoreOptions,
  redisRateLimitStore,
  redisSemaphore,
  redisStore,
  type TieredStore,
  tieredStore,
} from '../stores/redis/index.js';
import type { RedisStore } from '../stores/redis/store.js';
import { placeOption } from './errors.js';
import type { RedisConnectionConfig } from './redis-schema.js';

/** What a stack gives its Redis connections: where closers and warnings go. */
export interface RedisStackContext {
  onClose(close: () => unknown): void;
  warn(message: string): void;
}

interface SharedClient {
  readonly client: RedisClientLike | RedisClusterLike;
  /** `undefined` once connected, or why it is not (yet) connected when the wait ended. */
  readonly waited: Promise<string | undefined>;
}

/** Longest graceful close of a shared client before it is cut, ms. */
const CLOSE_WAIT_MS = 1_000;
/** How often a cluster not reached yet is tried again, ms (a single-node client reconnects by itself). */
const CLUSTER_RETRY_MS = 1_000;

/** The Redis connections and stores of one stack. */
export class StackRedis {
  readonly #context: RedisStackContext;
  /** Longest wait for one URL to connect (and for a cache store's channel) while the stack is built, ms. */
  readonly #waitMs: number;
  readonly #clients = new Map<string, SharedClient>();
  readonly #stores: { close(): Promise<void> }[] = [];
  #closed: Promise<void> | undefined;
  /** The next attempt to reach a cluster not reached yet. */
  #retry: NodeJS.Timeout | undefined;

  constructor(context: RedisStackContext, waitMs: number) {
    this.#context = context;
    this.#waitMs = waitMs;
    context.onClose(() => this.close());
  }

  /** The cache (or page) store a config's `store.redis` names: a Redis store, tiered when `l1` is given. */
  async cacheStore(
    owner: string,
    config: RedisConnectionConfig & {
      maxEntrySize?: number;
      bloom?: boolean;
      encoding?: RedisStoreOptions['encoding'];
      coalesce?: RedisStoreOptions['coalesce'];
      l1?: boolean | { maxEntries?: number; maxBytes?: number; maxEntrySize?: number };
    },
  ): Promise<RedisStore | TieredStore> {
    const { url, cluster, l1, ...options } = config;
    const shared = await this.#client(owner, config, 'lookups miss until it connects');
    const l2 = redisStore({ ...options, client: shared.client });
    let store: RedisStore | TieredStore = l2;
    if (l1 !== undefined && l1 !== false) {
      try {
        store = tieredStore({ l2, l1: l1 === true ? {} : l1 });
      } catch (error) {
        await l2.close();
        throw placeOption(error, 'l1');
      }
    }
    // A tiered store closes its L2 with itself.
    this.#adopt(store);
    // Connected: wait (as long again at most) for the invalidation channel, so the stack
    // starts with the store listening (and, with the bloom filter, loaded).
    if ((await shared.waited) === undefined) await this.#within(l2.ready);
    return store;
  }

  /** The rate-limit store a config's `rateLimit.store.redis` names; buckets under `<prefix><name>:`. */
  async rateLimitStore(
    owner: string,
    name: string,
    onStoreError: string,
    config: RedisConnectionConfig,
  ): Promise<RedisRateLimitStore> {
    const { url, cluster, prefix = REDIS_STORE_DEFAULTS.prefix, ...options } = config;
    const then = onStoreError === 'deny' ? 'requests are refused' : 'requests are let through';
    const shared = await this.#client(owner, config, failing(then, onStoreError));
    return this.#adopt(
      redisRateLimitStore({ ...options, prefix: `${prefix}${name}:`, client: shared.client }),
    );
  }

  /** The semaphore a config's `concurrencyLimit.shared.redis` names. */
  async semaphore(
    owner: string,
    onStoreError: string,
    config: RedisConnectionConfig,
  ): Promise<RedisSemaphore> {
    const { url, cluster, ...options } = config;
    const then =
      onStoreError === 'reject'
        ? 'requests are shed'
        : 'requests run without a shared slot (local limits hold)';
    const shared = await this.#client(owner, config, failing(then, onStoreError));
    return this.#adopt(redisSemaphore({ ...options, client: shared.client }));
  }

  /** Closes the stores, then the clients they shared. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled(this.#stores.map((store) => store.close()));
      clearTimeout(this.#retry);
      await Promise.allSettled([...this.#clients.values()].map(({ client }) => closeClient(client)));
    })();
    return this.#closed;
  }

  #adopt<T extends { close(): Promise<void> }>(store: T): T {
    this.#stores.push(store);
    return store;
  }

  /**
   * The client for a Redis block's `url` or `cluster`, created and connected on first use;
   * warns `owner` when it is not connected, saying what happens `meanwhile`.
   */
  async #client(owner: string, config: RedisConnectionConfig, meanwhile: string): Promise<SharedClient> {
    const nodes = config.cluster?.rootNodes;
    const id = nodes === undefined ? config.url! : `cluster ${nodes.join(' ')}`;
    let shared = this.#clients.get(id);
    if (shared === undefined) {
      const opened = nodes === undefined ? openClient(config.url!) : this.#openCluster(nodes);
      shared = {
        client: opened.client,
        waited: this.#within(opened.connected, `not connected after ${this.#waitMs} ms`),
      };
      this.#clients.set(id, shared);
    }
    const problem = await shared.waited;
    if (problem !== undefined) {
      const at = nodes === undefined ? where(config.url!) : `cluster ${nodes.map(where).join(', ')}`;
      this.#context.warn(`${owner}: Redis at ${at} is ${problem}; ${meanwhile}`);
    }
    return shared;
  }

  /**
   * A cluster client, connecting until it succeeds or the stack closes: a cluster's
   * `connect()` gives up when no node answers, where a single-node client keeps trying.
   */
  #openCluster(nodes: readonly string[]): Opened {
    const cluster = createCluster({
      rootNodes: nodes.map((url) => ({ url })),
      defaults: { disableOfflineQueue: true },
    });
    cluster.on('error', noop);
    const connected = new Promise<undefined>((resolve) => {
      const attempt = () => {
        if (this.#closed !== undefined) return;
        cluster.connect().then(
          () => {
            // Connected while the stack was closing: nobody will close it later.
            if (this.#closed !== undefined) {
              cluster.destroy();
              return resolve(undefined);
            }
            // Nodes that answer but do not serve every slot yet are a cluster still forming:
            // the client would keep that partial map of slots for ever, so it starts again.
            if (!coversEverySlot(cluster.slots)) {
              cluster.destroy();
              this.#retry = setTimeout(attempt, CLUSTER_RETRY_MS);
              this.#retry.unref();
              return;
            }
            resolve(undefined);
          },
          () => {
            this.#retry = setTimeout(attempt, CLUSTER_RETRY_MS);
            this.#retry.unref();
          },
        );
      };
      attempt();
    });
    return { client: cluster as unknown as RedisClusterLike, connected };
  }

  /** `promise`'s value, or `late` once the connect wait has passed. */
  async #within<T>(promise: Promise<T>, late?: T): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      promise.catch(() => late),
      new Promise<T | undefined>((resolve) => {
        timer = setTimeout(resolve, this.#waitMs, late);
      }),
    ]);
    clearTimeout(timer);
    return result;
  }
}

/** The hash slots of a Redis Cluster. */
const CLUSTER_SLOTS = 16_384;

/** True when a cluster client's map of slots gives every slot a node. */
function coversEverySlot(slots: ArrayLike<unknown>): boolean {
  if (slots.length !== CLUSTER_SLOTS) return false;
  for (let i = 0; i < CLUSTER_SLOTS; i++) if (slots[i] === undefined) return false;
  return true;
}

interface Opened {
  readonly client: RedisClientLike | RedisClusterLike;
  /** Settles with `undefined` once connected, or why it never will. */
  readonly connected: Promise<string | undefined>;
}

/** A single-node client for `url`; it keeps reconnecting by itself. */
function openClient(url: string): Opened {
  const client = createClient({ url, disableOfflineQueue: true });
  // node-redis throws `error` events nobody listens to; each store counts its own failures.
  client.on('error', noop);
  const connected = client.connect().then(
    () => undefined,
    (error: unknown) => `cannot connect (${String((error as Error)?.message ?? error)})`,
  );
  return { client: client as unknown as RedisClientLike, connected };
}

/** Per stack context, its Redis connections (created with the first Redis entry). */
const STACKS = new WeakMap<object, StackRedis>();

/** The Redis connections of the stack `context` belongs to. */
export function stackRedis(context: RedisStackContext, waitMs: number): StackRedis {
  let redis = STACKS.get(context);
  if (redis === undefined) {
    redis = new StackRedis(context, waitMs);
    STACKS.set(context, redis);
  }
  return redis;
}

/** What an owner does until Redis connects, for its warning. */
function failing(then: string, onStoreError: string): string {
  return `${then} (onStoreError "${onStoreError}") until it connects`;
}

/** `redis://host:port` of `url`, without credentials, for messages. */
function where(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'an invalid URL';
  }
}

/** Closes a shared client: gracefully while it is up (cut after a while), at once otherwise. */
async function closeClient(client: RedisClientLike | RedisClusterLike): Promise<void> {
  if (!client.isReady) {
    client.destroy();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, CLOSE_WAIT_MS, 'late');
  });
  const closed = client.close().then(noop, noop);
  if ((await Promise.race([closed, late])) === 'late') client.destroy();
  clearTimeout(timer);
}
