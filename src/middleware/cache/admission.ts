/**
 * Admission: which answered requests earn a place in the store. With `admission:
 * 'repeat'`, a result is stored only when its key was answered before, recently: a bloom
 * filter of the keys answered lately, cleared once it has taken `window` keys (the
 * "doorkeeper" of TinyLFU, which Caffeine also clears periodically). A call made once
 * costs no store write, fills no slot and evicts nothing; a call made twice is cached
 * from its second answer on. A false positive of the filter (about 1%) only admits a
 * result one request early.
 *
 * A bloom filter rather than a set of recent keys: its bits are allocated once, where a
 * set holding every recent key kept them alive for the collector to copy, which measured
 * slower in place as well as larger.
 *
 * @module
 */

import { BloomFilter } from '../../stores/bloom.js';

/** False-positive rate of the doorkeeper's filter. */
const FALSE_POSITIVE_RATE = 0.01;

/** Remembers recently answered keys; see the module. */
export class Doorkeeper {
  private readonly filter: BloomFilter;
  private readonly window: number;
  private added = 0;

  constructor(window: number) {
    this.window = window;
    this.filter = new BloomFilter(window, FALSE_POSITIVE_RATE);
  }

  /** True when `key` was answered before within the window; remembers it either way. */
  admit(key: string): boolean {
    if (this.filter.has(key)) return true;
    if (this.added >= this.window) {
      this.filter.clear();
      this.added = 0;
    }
    this.filter.add(key);
    this.added++;
    return false;
  }
}
