/**
 * Keeps a local bloom filter of the keys present in Redis in step with every replica:
 * each write adds its key here and is announced to peers as the key's two hashes; a new
 * or reconnected store reloads the filter with `SCAN` before trusting it; a filter that
 * fills past its size is rebuilt from Redis. A key missed through a lost announcement
 * costs one cache miss, never a wrong answer.
 *
 * @module
 */

import { noop } from '../../internal/noop.js';
import { BloomFilter, bloomHashes } from '../bloom.js';
import { escapeGlob, type GuardedClient, scanKeys } from './guarded.js';

/** After a failed reload, lookups retry it at most this often, milliseconds. */
const WARM_RETRY_MS = 1_000;

/** Bloom filter counters in the Redis store's `stats()`. */
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

/** A bloom filter of the keys under `entryPrefix`, shared with peers through announcements. */
export class BloomSync {
  /** True once a scan has loaded the filter and pub/sub has been up since: only then is it consulted. */
  ready = false;
  /** Lookups answered "miss" without a round trip. */
  skipped = 0;
  /** Lookups let through that found nothing. */
  falsePositives = 0;
  readonly #filter: BloomFilter;
  readonly #expectedItems: number;
  readonly #guarded: GuardedClient;
  readonly #entryPrefix: string;
  readonly #now: () => number;
  #generation = 0;
  #rebuildAt = 0;
  #failedAt = -1;
  #closed = false;

  /**
   * @param sizing - keys the filter is sized for, and the false-positive rate wanted there
   * @param guarded - the client scans go through
   * @param entryPrefix - the prefix of entry keys; the filter holds the keys without it
   * @param now - the store's clock (paces reload retries)
   */
  constructor(
    sizing: { readonly expectedItems: number; readonly falsePositiveRate: number },
    guarded: GuardedClient,
    entryPrefix: string,
    now: () => number,
  ) {
    this.#filter = new BloomFilter(sizing.expectedItems, sizing.falsePositiveRate);
    this.#expectedItems = sizing.expectedItems;
    this.#guarded = guarded;
    this.#entryPrefix = entryPrefix;
    this.#now = now;
  }

  /**
   * False when the filter is ready and has never seen `key` (the lookup is counted as
   * skipped). While warming after a failed reload, drives a retry at most once a second.
   */
  mayHave(key: string): boolean {
    if (this.ready) {
      if (this.#filter.has(key)) return true;
      this.skipped++;
      return false;
    }
    if (this.#failedAt >= 0 && this.#now() - this.#failedAt >= WARM_RETRY_MS) this.reload().catch(noop);
    return true;
  }

  /** Adds `key` (about to be written) and answers its announcement for peers, `h1:h2` in base 36. */
  add(key: string): string {
    const [h1, h2] = bloomHashes(key);
    this.#addHashes(h1, h2);
    return `${h1.toString(36)}:${h2.toString(36)}`;
  }

  /** Applies a peer's announcement made by {@link BloomSync.add}; ignores a malformed one. */
  heard(announcement: string): void {
    const colon = announcement.indexOf(':');
    const h1 = Number.parseInt(announcement.slice(0, colon), 36);
    const h2 = Number.parseInt(announcement.slice(colon + 1), 36);
    if (colon > 0 && h1 >= 0 && h2 >= 0) this.#addHashes(h1, h2);
  }

  /** Announcements may be lost from now on (pub/sub went down): stop trusting the filter. */
  suspend(): void {
    this.#generation++;
    this.ready = false;
  }

  /** Loads the keys in Redis into the filter with `SCAN`, then trusts it; a later suspend or reload wins. */
  async reload(): Promise<void> {
    const generation = ++this.#generation;
    this.ready = false;
    this.#failedAt = -1;
    const filter = this.#filter;
    const prefixLength = this.#entryPrefix.length;
    let found = 0;
    try {
      for await (const keys of scanKeys(
        this.#guarded,
        'bloom warm-up',
        `${escapeGlob(this.#entryPrefix)}*`,
      )) {
        if (generation !== this.#generation) return;
        for (const key of keys) filter.add(key.slice(prefixLength));
        found += keys.length;
      }
    } catch (error) {
      if (generation === this.#generation && !this.#closed) this.#failedAt = this.#now();
      throw error;
    }
    if (generation !== this.#generation) return;
    this.#rebuildAt = Math.max(this.#expectedItems, 2 * found);
    this.ready = true;
  }

  /** Stops trusting the filter for good. */
  close(): void {
    this.#closed = true;
    this.suspend();
  }

  /** The counters for `stats()`. */
  stats(): BloomStats {
    const filter = this.#filter;
    return {
      state: this.ready ? 'ready' : 'warming',
      skipped: this.skipped,
      falsePositives: this.falsePositives,
      items: filter.count,
      bits: filter.bits,
      hashes: filter.hashes,
      estimatedFalsePositiveRate: filter.estimatedFalsePositiveRate(),
    };
  }

  #addHashes(h1: number, h2: number): void {
    const filter = this.#filter;
    filter.addHashes(h1, h2);
    if (this.ready && filter.count > this.#rebuildAt) {
      filter.clear();
      // Kept across the rebuild: the scan may run before this key's write reaches Redis.
      filter.addHashes(h1, h2);
      this.reload().catch(noop);
    }
  }
}
