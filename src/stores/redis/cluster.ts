/**
 * Redis Cluster support: a node-redis cluster client (`createCluster()`) seen through the
 * same small {@link RedisClientLike} surface as a single-node client, so every store sends
 * its commands one way.
 *
 * Routing: a command goes to the primary owning its first key (the first of a script's
 * `KEYS`); a command without a key (`SCAN`) goes to the primary owning the store's own
 * routing key, which holds all of that store's keys (see {@link clusterPrefix}); `PUBLISH`
 * goes to any node, as classic pub/sub is broadcast to every node of a cluster.
 *
 * Why classic pub/sub rather than sharded (`SPUBLISH`): every replica must hear every
 * invalidation of a store, and a store's keys sit in one slot anyway, so sharding the
 * channel would spread nothing; a classic subscription may sit on any node and node-redis
 * moves it by itself when that node fails, with no `MOVED` handling when slots migrate.
 * The price (each message crosses the cluster bus to every node) is small for messages
 * as short and rare as invalidations.
 *
 * @module
 */

import type { RedisArgument, RedisClientLike, RedisCommandOptions } from './options.js';

/**
 * The part of a node-redis cluster client (`createCluster()` of the `redis` package, v5 or
 * v6) the stores use.
 */
export interface RedisClusterLike {
  /** True while the cluster's slot map is known and its connections are usable. */
  readonly isReady: boolean;
  /** The cluster's primaries; its presence tells a cluster client from a single-node one. */
  readonly masters: readonly unknown[];
  /** Sends one raw command to the node owning `firstKey` (any node when undefined). */
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: RedisArgument[],
    options?: RedisCommandOptions,
  ): Promise<unknown>;
  /** A new, unconnected cluster client with the same options. */
  duplicate(overrides?: { minimizeConnections?: boolean }): RedisClusterLike;
  /** Discovers the cluster and opens connections to it. */
  connect(): Promise<unknown>;
  /** Subscribes to a classic channel on one node of the cluster. */
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  /** Registers an event listener (`error`, `node-error`, `node-ready`, `node-reconnecting` …). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Closes every connection after pending replies arrive. */
  close(): Promise<unknown>;
  /** Closes every connection at once. */
  destroy(): void;
}

/** True when `client` is a node-redis cluster client rather than a single-node one. */
export function isRedisCluster(client: unknown): client is RedisClusterLike {
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof (client as { sendCommand?: unknown }).sendCommand === 'function' &&
    Array.isArray((client as { masters?: unknown }).masters)
  );
}

/**
 * `prefix` with a hash tag, so every key a store derives from it hashes to one slot and
 * each of its scripts touches one slot: `'mcp-perf:'` becomes `'{mcp-perf:}'`. A prefix
 * that already holds a hash tag (`'app:{cache}:'`) is kept as it is.
 */
export function clusterPrefix(prefix: string): string {
  const open = prefix.indexOf('{');
  if (open >= 0) {
    const close = prefix.indexOf('}', open + 1);
    if (close > open + 1) return prefix;
  }
  return `{${prefix}}`;
}

/** Node-level events of a cluster client, under the names a single-node client uses. */
const EVENTS: Readonly<Record<string, string>> = {
  ready: 'node-ready',
  reconnecting: 'node-reconnecting',
  end: 'node-disconnect',
};

/**
 * A cluster client as a {@link RedisClientLike}. `routingKey` picks the node for commands
 * that name no key (`SCAN`). On the subscriber connection (a `duplicate()`), a node going
 * away is reported as `reconnecting` and a node coming back as `ready`, but `ready` only
 * once the subscription is in place, so a store never trusts a channel it is not yet on.
 */
export function clusterClient(cluster: RedisClusterLike, routingKey: string): RedisClientLike {
  let subscribed = false;
  return {
    get isReady() {
      return cluster.isReady;
    },
    sendCommand(args, options) {
      const route = routeOf(args, routingKey);
      return options === undefined
        ? cluster.sendCommand(route, false, args as RedisArgument[])
        : cluster.sendCommand(route, false, args as RedisArgument[], options);
    },
    duplicate() {
      // The subscriber needs one node, not a connection to every primary.
      return clusterClient(cluster.duplicate({ minimizeConnections: true }), routingKey);
    },
    connect() {
      return cluster.connect();
    },
    subscribe(channel, listener) {
      return cluster.subscribe(channel, listener).then((reply) => {
        subscribed = true;
        return reply;
      });
    },
    on(event, listener) {
      if (event === 'error') {
        cluster.on('error', listener);
        cluster.on('node-error', listener);
      } else if (event === 'ready') {
        cluster.on(EVENTS.ready!, (...args) => {
          if (subscribed) listener(...args);
        });
      } else {
        cluster.on(EVENTS[event] ?? event, listener);
      }
      return this;
    },
    close() {
      return cluster.close();
    },
    destroy() {
      cluster.destroy();
    },
  };
}

/** The key whose slot a command must run on, or `undefined` for any node. */
function routeOf(args: ReadonlyArray<RedisArgument>, routingKey: string): string | undefined {
  const command = String(args[0]).toUpperCase();
  if (command === 'EVALSHA' || command === 'EVAL') return Number(args[2]) > 0 ? String(args[3]) : routingKey;
  if (command === 'PUBLISH') return undefined;
  if (command === 'SCAN' || args.length < 2) return routingKey;
  return String(args[1]);
}
