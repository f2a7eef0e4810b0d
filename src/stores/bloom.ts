/**
 * A small bloom filter over a plain bitset with double hashing (Kirsch–Mitzenmacher):
 * bit `i` of `k` is `(h1 + i·h2) mod m`, with `h1`, `h2` two 32-bit hashes of the key
 * computed in one pass (FNV-1a style multiply-xor with two different multipliers, each
 * finished with murmur3's avalanche). No dependency: the `bloom-filters` package was
 * slower per operation by more than an order of magnitude when measured, and patches the
 * global `Reflect`; this is a few integer multiplications per character.
 *
 * Not exported from the public entry points: the Redis store uses it to skip lookups.
 *
 * @module
 */

import { fmix32 } from '../internal/fmix.js';

let outH1 = 0;
let outH2 = 0;

/** Computes both hashes of `key` into the module scratch slots (no allocation). */
function hashInto(key: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  outH1 = fmix32(a);
  // An odd step visits k distinct bits whenever m is a power of two, and rarely repeats otherwise.
  outH2 = (fmix32(b ^ key.length) | 1) >>> 0;
}

/** The two 32-bit hashes of `key`, as announced to other replicas. */
export function bloomHashes(key: string): [number, number] {
  hashInto(key);
  return [outH1, outH2];
}

/** Bit count and hash count for `expectedItems` at `falsePositiveRate`. */
export function bloomSize(
  expectedItems: number,
  falsePositiveRate: number,
): { bits: number; hashes: number } {
  const bits = Math.max(
    64,
    Math.ceil((-expectedItems * Math.log(falsePositiveRate)) / (Math.LN2 * Math.LN2)),
  );
  const hashes = Math.max(1, Math.min(32, Math.round((bits / expectedItems) * Math.LN2)));
  return { bits, hashes };
}

/** A fixed-size bloom filter: `has` may say yes for a key never added, never no for one that was. */
export class BloomFilter {
  readonly bits: number;
  readonly hashes: number;
  /** Adds that set at least one new bit: an estimate of the distinct keys added. */
  count = 0;
  readonly #words: Uint32Array;

  constructor(expectedItems: number, falsePositiveRate: number) {
    const { bits, hashes } = bloomSize(expectedItems, falsePositiveRate);
    this.bits = bits;
    this.hashes = hashes;
    this.#words = new Uint32Array(Math.ceil(bits / 32));
  }

  add(key: string): void {
    hashInto(key);
    this.addHashes(outH1, outH2);
  }

  has(key: string): boolean {
    hashInto(key);
    return this.hasHashes(outH1, outH2);
  }

  addHashes(h1: number, h2: number): void {
    const words = this.#words;
    const m = this.bits;
    let changed = false;
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + i * h2) % m;
      const w = bit >>> 5;
      const mask = 1 << (bit & 31);
      if ((words[w]! & mask) === 0) {
        words[w] = words[w]! | mask;
        changed = true;
      }
    }
    if (changed) this.count++;
  }

  hasHashes(h1: number, h2: number): boolean {
    const words = this.#words;
    const m = this.bits;
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + i * h2) % m;
      if ((words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  /** The false-positive rate to expect at the current fill, from the share of set bits. */
  estimatedFalsePositiveRate(): number {
    let set = 0;
    for (const word of this.#words) {
      let v = word - ((word >>> 1) & 0x55555555);
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      set += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
    }
    return (set / this.bits) ** this.hashes;
  }

  clear(): void {
    this.#words.fill(0);
    this.count = 0;
  }
}
