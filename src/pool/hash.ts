/**
 * Rendezvous (highest random weight) hashing: each key goes to the member whose
 * `score(key, member)` is highest. Removing a member moves only the keys it held; adding
 * one moves only the keys it now wins, about 1/N of them. No ring and no virtual nodes
 * to tune, and the cost is one multiply-mix per member, which for a pool of a few
 * upstreams is less than a ring lookup.
 */

import { fmix32 } from '../internal/fmix.js';

/** 32-bit FNV-1a of a string (UTF-16 code units). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combines two hashes through MurmurHash3's 32-bit finalizer, which spreads every input bit over the output. */
export function mix(a: number, b: number): number {
  return fmix32((a ^ Math.imul(b, 0x9e3779b1)) >>> 0);
}

/**
 * The index of the member a key hashes to among `seeds` (one stable seed per member,
 * e.g. the hash of its name), skipping members for which `usable(i)` is false; -1 when
 * none is usable.
 */
export function rendezvous(
  keyHash: number,
  seeds: readonly number[],
  usable: (i: number) => boolean,
): number {
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < seeds.length; i++) {
    if (!usable(i)) continue;
    const score = mix(keyHash, seeds[i]!);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}
