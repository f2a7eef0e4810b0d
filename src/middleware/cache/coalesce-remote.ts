/**
 * The cache's side of coalescing across replicas. The store does the work (a Redis store
 * with `coalesce` claims a key's fill on a miss, and makes other replicas wait for the
 * entry); the cache only tells it when a call it led ended without storing anything, so
 * the replicas waiting for that entry make their own calls at once instead of at the end
 * of their wait. With a store that does not coalesce, nothing happens.
 *
 * @module
 */

import type { CacheStore } from '../../stores/types.js';

/** Tells `store` that the fill of `key` this process led stored nothing. Never throws. */
export function fillAbandoned(store: CacheStore, key: string): void {
  if (store.abandonFill === undefined) return;
  try {
    store.abandonFill(key);
  } catch {
    // The waiting replicas fall back on their own once their wait runs out.
  }
}
