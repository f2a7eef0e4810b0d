/**
 * The metrics middleware's state: one {@link OperationStats} per (side, method, tool),
 * found through two Map lookups (method, then tool name) without building a key string,
 * and created on first sight with its histograms preallocated, so recording a request
 * allocates nothing.
 *
 * A request is recorded once, as one increment in the current slot's
 * {@link PendingLatency} for its outcome. When the slot changes, or anything reads the
 * operation, the pending counts are folded into the cumulative histogram of their outcome
 * and into their slot of the recent window, so readers always see every request.
 * Recording straight into both HDR histograms cost two of their records, most of the
 * middleware's price (benchmark `metrics.record-cost`); folding costs one pass over the
 * buckets in use, per operation per slot.
 *
 * The recent window is a ring of `slots` sub-histograms of `slotMs` each, rotated lazily:
 * recording or reading an operation first clears the slots that went by since it was
 * last touched. No timer runs.
 *
 * @module
 */

import type { Side } from '../../core/types.js';
import { createHistogram, type Histogram, PendingLatency } from './histogram.js';

export {
  CANCELLED,
  OK,
  OUTCOMES,
  type Outcome,
  PROTOCOL_ERROR,
  SHED,
  TIMEOUT,
  TOOL_ERROR,
} from './outcomes.js';

/** What the cache middleware reports in `ctx.state.cache`. */
export type CacheStatus = 'hit' | 'miss' | 'stale' | 'coalesced' | 'bypass';

/** Every cache status, in the order of the per-operation counters. */
export const CACHE_STATUSES: readonly CacheStatus[] = ['hit', 'miss', 'stale', 'coalesced', 'bypass'];

/** The label used for methods and tools beyond the cardinality bounds. */
export const OTHER = 'other';

/** Error types kept per operation before further ones fold into `_OTHER`. */
const MAX_ERROR_TYPES = 16;

/** Sizes and bounds, fixed when the middleware is created. */
export interface StatsConfig {
  readonly highestUs: number;
  readonly digits: number;
  readonly windowDigits: number;
  readonly slotMs: number;
  readonly slots: number;
  readonly maxTools: number;
  readonly maxMethods: number;
}

/** Everything recorded for one (side, method, tool). */
export class OperationStats {
  readonly side: Side;
  readonly method: string;
  readonly tool: string | undefined;
  /** Requests per outcome, indexed like {@link OUTCOMES}. */
  readonly outcomes = new Float64Array(6);
  /** Cumulative latency per outcome; the `ok` one exists from the start, others on first use. */
  readonly latency: (Histogram | undefined)[];
  /** Latency per outcome recorded in the current slot and not yet folded (see the module). */
  readonly pending: (PendingLatency | undefined)[];
  /** The recent window's ring of sub-histograms (all outcomes). */
  readonly window: Histogram[];
  /** The absolute slot number (clock / slotMs) the ring was last advanced to. */
  slot: number;
  /** Failures by `error.type` (JSON-RPC code, `tool_error`, `timeout`, `cancelled`). */
  errorTypes: Map<string, number> | undefined = undefined;
  /** Requests per cache status, indexed like {@link CACHE_STATUSES}. */
  readonly cache = new Float64Array(5);
  /** Requests whose tokens were counted. */
  tokenSamples = 0;
  /** Tokens of the counted requests' model-written text. */
  tokensIn = 0;
  /** Tokens of the counted requests' model-visible results. */
  tokensOut = 0;
  /** Requests whose size was measured. */
  byteSamples = 0;
  /** UTF-8 bytes of the requests as JSON. */
  bytesIn = 0;
  /** UTF-8 bytes of the replies as JSON. */
  bytesOut = 0;

  constructor(side: Side, method: string, tool: string | undefined, config: StatsConfig, slot: number) {
    this.side = side;
    this.method = method;
    this.tool = tool;
    const ok = createHistogram(config.highestUs, config.digits);
    this.latency = [ok, undefined, undefined, undefined, undefined, undefined];
    this.pending = [
      new PendingLatency(config.highestUs, config.digits),
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ];
    this.window = [];
    for (let i = 0; i < config.slots; i++)
      this.window.push(createHistogram(config.highestUs, config.windowDigits));
    this.slot = slot;
  }

  /** Counts one failure of type `type`, folding types beyond the bound into `_OTHER`. */
  countError(type: string): void {
    if (this.errorTypes === undefined) this.errorTypes = new Map();
    const types = this.errorTypes;
    const seen = types.get(type);
    if (seen !== undefined) types.set(type, seen + 1);
    else if (types.size < MAX_ERROR_TYPES) types.set(type, 1);
    else types.set('_OTHER', (types.get('_OTHER') ?? 0) + 1);
  }
}

class MethodStats {
  self: OperationStats | undefined = undefined;
  readonly tools = new Map<string, OperationStats>();
  /** Tools with an entry of their own (`other` excluded). */
  tracked = 0;
}

/** The operations and in-flight count of one side. */
export class SideStats {
  readonly side: Side;
  readonly methods = new Map<string, MethodStats>();
  inFlight = 0;

  constructor(side: Side) {
    this.side = side;
  }
}

/** The state of one metrics middleware instance. */
export class StatsRegistry {
  readonly config: StatsConfig;
  readonly createdAt: number;
  private readonly sides = new Map<Side, SideStats>();
  /** Tool names seen in `tools/list` results (bounded by `maxTools`). */
  private readonly knownTools = new Set<string>();
  /** Requests per slot of the recent window, all operations together. */
  private readonly ring: Float64Array;
  private ringSlot: number;
  private scratch: Histogram | undefined = undefined;
  private cumulativeScratch: Histogram | undefined = undefined;

  constructor(config: StatsConfig, now: number) {
    this.config = config;
    this.createdAt = now;
    this.ring = new Float64Array(config.slots);
    this.ringSlot = Math.floor(now / config.slotMs);
  }

  /** The stats of one side, created on first use. */
  side(side: Side): SideStats {
    let s = this.sides.get(side);
    if (s === undefined) {
      s = new SideStats(side);
      this.sides.set(side, s);
    }
    return s;
  }

  /**
   * The operation a request is recorded under. A tool gets its own entry once it is
   * known (listed in a `tools/list` result, or it answered `ok`) and fewer than
   * `maxTools` are tracked; otherwise it folds into `other`, so that callers sending
   * arbitrary names cannot grow the registry. Methods fold likewise beyond `maxMethods`.
   */
  operation(s: SideStats, method: string, tool: unknown, answered: boolean, now: number): OperationStats {
    const side = s.side;
    let m = s.methods.get(method);
    if (m === undefined) {
      if (s.methods.size >= this.config.maxMethods) {
        method = OTHER;
        m = s.methods.get(OTHER);
      }
      if (m === undefined) {
        m = new MethodStats();
        s.methods.set(method, m);
      }
    }
    if (tool === undefined) {
      if (m.self === undefined)
        m.self = new OperationStats(side, method, undefined, this.config, this.slotOf(now));
      return m.self;
    }
    const name = typeof tool === 'string' ? tool : OTHER;
    const op = m.tools.get(name);
    if (op !== undefined) return op;
    if (name !== OTHER && m.tracked < this.config.maxTools && (answered || this.knownTools.has(name))) {
      const created = new OperationStats(side, method, name, this.config, this.slotOf(now));
      m.tools.set(name, created);
      m.tracked++;
      return created;
    }
    let other = m.tools.get(OTHER);
    if (other === undefined) {
      other = new OperationStats(side, method, OTHER, this.config, this.slotOf(now));
      m.tools.set(OTHER, other);
    }
    return other;
  }

  /** Remembers the tool names of a `tools/list` result, up to `maxTools`. */
  learnTools(result: unknown): void {
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!Array.isArray(tools)) return;
    for (const tool of tools) {
      if (this.knownTools.size >= this.config.maxTools) return;
      const name = (tool as { name?: unknown } | null)?.name;
      if (typeof name === 'string') this.knownTools.add(name);
    }
  }

  /** Records one request's latency (microseconds) and outcome: one histogram record. */
  record(op: OperationStats, outcome: number, us: number, now: number): void {
    // `us >= 0` is false for NaN too (an injected clock that misbehaves): record 0, not garbage.
    const clamped = us >= 0 ? (us > this.config.highestUs ? this.config.highestUs : Math.round(us)) : 0;
    op.outcomes[outcome]!++;
    const slot = Math.floor(now / this.config.slotMs);
    if (slot !== op.slot) this.advance(op, slot);
    let p = op.pending[outcome];
    if (p === undefined) {
      p = new PendingLatency(this.config.highestUs, this.config.digits);
      op.pending[outcome] = p;
    }
    p.record(clamped);
    if (slot !== this.ringSlot) this.advanceRing(slot);
    this.ring[slot % this.config.slots]!++;
  }

  /**
   * Folds the pending values of `op` into the cumulative histograms of their outcomes and
   * into the window slot they were recorded in. Every reader calls it first.
   */
  flush(op: OperationStats): void {
    const slot = op.window[op.slot % this.config.slots]!;
    for (let i = 0; i < op.pending.length; i++) {
      const p = op.pending[i];
      if (p === undefined || p.count === 0) continue;
      let h = op.latency[i];
      if (h === undefined) {
        h = createHistogram(this.config.highestUs, this.config.digits);
        op.latency[i] = h;
      }
      p.drainInto(h, slot);
    }
  }

  /** Folds what is pending, then clears the window slots that went by since `op` was last touched. */
  advance(op: OperationStats, slot: number): void {
    this.flush(op);
    const n = this.config.slots;
    const gap = slot - op.slot;
    if (gap <= 0) return;
    const steps = Math.min(gap, n);
    for (let i = 1; i <= steps; i++) op.window[(op.slot + i) % n]!.reset();
    op.slot = slot;
  }

  private advanceRing(slot: number): void {
    const n = this.config.slots;
    const gap = slot - this.ringSlot;
    if (gap <= 0) return;
    const steps = Math.min(gap, n);
    for (let i = 1; i <= steps; i++) this.ring[(this.ringSlot + i) % n] = 0;
    this.ringSlot = slot;
  }

  private slotOf(now: number): number {
    return Math.floor(now / this.config.slotMs);
  }

  /** How much time the recent window covers at `now`, in milliseconds. */
  windowCoverageMs(now: number): number {
    const { slotMs, slots } = this.config;
    const slot = Math.floor(now / slotMs);
    const covered = (slots - 1) * slotMs + (now - slot * slotMs);
    const alive = now - this.createdAt;
    return Math.min(alive, covered);
  }

  /** Requests completed within the recent window, all operations together. */
  recentCount(now: number): number {
    this.advanceRing(Math.floor(now / this.config.slotMs));
    let sum = 0;
    for (let i = 0; i < this.ring.length; i++) sum += this.ring[i]!;
    return sum;
  }

  /** The recent window of `op` merged into one (shared, reused) histogram. */
  recentHistogram(op: OperationStats, now: number): Histogram {
    this.advance(op, Math.floor(now / this.config.slotMs));
    if (this.scratch === undefined)
      this.scratch = createHistogram(this.config.highestUs, this.config.windowDigits);
    const merged = this.scratch;
    merged.reset();
    for (const h of op.window) if (h.totalCount !== 0) merged.add(h);
    return merged;
  }

  /**
   * The cumulative latency of `op` over every outcome: the `ok` histogram itself when no
   * other outcome was recorded, else all of them merged into a shared, reused histogram.
   */
  cumulativeHistogram(op: OperationStats): Histogram {
    this.flush(op);
    let only: Histogram | undefined;
    let several = false;
    for (const h of op.latency) {
      if (h === undefined || h.totalCount === 0) continue;
      if (only === undefined) only = h;
      else several = true;
    }
    if (!several) return only ?? op.latency[0]!;
    if (this.cumulativeScratch === undefined) {
      this.cumulativeScratch = createHistogram(this.config.highestUs, this.config.digits);
    }
    const merged = this.cumulativeScratch;
    merged.reset();
    for (const h of op.latency) if (h !== undefined && h.totalCount !== 0) merged.add(h);
    return merged;
  }

  /** Every operation, per side, in first-seen order, with its pending values folded. */
  *operations(): Generator<OperationStats> {
    for (const s of this.sides.values()) {
      for (const m of s.methods.values()) {
        if (m.self) {
          this.flush(m.self);
          yield m.self;
        }
        for (const op of m.tools.values()) {
          this.flush(op);
          yield op;
        }
      }
    }
  }

  /** Requests in flight per side. */
  inFlight(): Map<Side, number> {
    const out = new Map<Side, number>();
    for (const [side, s] of this.sides) out.set(side, s.inFlight);
    return out;
  }
}
