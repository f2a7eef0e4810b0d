/**
 * Cumulative token budgets: tokens delivered per key (a session, a principal) in fixed
 * windows, bounded in the number of keys held.
 */

import { LRUCache } from 'lru-cache';

/** One key's use in its current window. */
interface Use {
  used: number;
  windowStart: number;
}

/** What a budget says about the next request of a key. */
export interface Standing {
  /** Tokens used in the current window. */
  used: number;
  /** Tokens left (never below 0). */
  remaining: number;
  /** When the window resets (epoch ms), or `undefined` for a budget without a window. */
  resetsAt: number | undefined;
}

/** Tokens used per key against one limit, in fixed windows. */
export class Ledger {
  private readonly uses: LRUCache<string, Use>;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    maxKeys: number,
  ) {
    this.uses = new LRUCache({ max: maxKeys });
  }

  private current(key: string, now: number): Use | undefined {
    const use = this.uses.get(key);
    if (use !== undefined && Number.isFinite(this.windowMs) && now - use.windowStart >= this.windowMs) {
      use.used = 0;
      use.windowStart += Math.floor((now - use.windowStart) / this.windowMs) * this.windowMs;
    }
    return use;
  }

  /** The key's standing now. */
  standing(key: string, now: number): Standing {
    const use = this.current(key, now);
    const used = use?.used ?? 0;
    const finite = Number.isFinite(this.windowMs);
    return {
      used,
      remaining: Math.max(0, this.limit - used),
      resetsAt: finite ? (use?.windowStart ?? now) + this.windowMs : undefined,
    };
  }

  /** Adds `tokens` to the key's use. */
  spend(key: string, tokens: number, now: number): void {
    const use = this.current(key, now);
    if (use === undefined) this.uses.set(key, { used: tokens, windowStart: now });
    else use.used += tokens;
  }

  /** Keys held. */
  get size(): number {
    return this.uses.size;
  }
}
