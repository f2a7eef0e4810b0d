/**
 * The DataLoader-style collector behind server-side batch handlers: concurrent calls
 * within a window become one call of the handler's `run`, identical inputs share one
 * item, and every caller is answered on its own.
 */

import type { JsonObject, Reply, RequestContext } from '../../core/types.js';
import { CancelledError, ErrorCodes } from '../../errors/index.js';
import { asError } from '../../internal/as-error.js';
import { now } from '../../internal/clock.js';

/** What `run` receives beside each input: the callers' signal and progress. */
export interface BatchItem {
  /** Aborts when every caller waiting on this item has cancelled. */
  readonly signal: AbortSignal;
  /** Sends progress to every caller waiting on this item, each under its own token. */
  progress(params: { progress: number; total?: number; message?: string }): void;
}

/** The figures a loader adds to. */
export interface LoaderCounters {
  batches: number;
  items: number;
  calls: number;
  dedupHits: number;
  cancelled: number;
  failedBatches: number;
}

/** Emitted after each batch. */
export interface BatchEvent {
  /** `tool` / `resource`: a batch handler ran; `requests`: a client sent a batch; `incoming`: a server answered one. */
  kind: 'tool' | 'resource' | 'requests' | 'incoming';
  /** The tool name, the resource handler's first pattern, or the batch method. */
  name: string;
  /** Items in the batch (distinct inputs for a handler, requests for a request batch). */
  size: number;
  /** Callers answered by it. */
  callers: number;
  /** Callers that shared another caller's item. */
  dedupHits: number;
  /** How long it took, in milliseconds. */
  durationMs: number;
  /** Why the whole batch failed, when it did. */
  error: string | undefined;
}

/** A loader's settled view of one handler. */
export interface LoaderSpec<I> {
  kind: 'tool' | 'resource';
  name: string;
  maxBatchSize: number;
  maxWaitMs: number;
  key: (input: I, ctx: RequestContext) => string;
  run: (inputs: I[], items: BatchItem[]) => unknown;
  /** Turns one item's outcome into the caller's reply. */
  reply: (outcome: unknown) => Reply;
}

interface Waiter {
  readonly ctx: RequestContext;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: unknown) => void;
  onAbort: (() => void) | undefined;
}

class Entry<I> implements BatchItem {
  readonly input: I;
  readonly waiters: Waiter[] = [];
  private controller: AbortController | undefined;

  constructor(input: I) {
    this.input = input;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  abort(): void {
    this.controller?.abort(new CancelledError('every caller of this batch item cancelled'));
  }

  progress(params: { progress: number; total?: number; message?: string }): void {
    for (const waiter of this.waiters) waiter.ctx.progress(params);
  }
}

interface Pending<I> {
  readonly entries: Map<string, Entry<I>>;
  timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  callers: number;
  dedupHits: number;
  flushed: boolean;
}

/** Collects the calls of one batch handler and hands them to its `run`. */
export class BatchLoader<I> {
  private pending: Pending<I> | undefined;

  constructor(
    private readonly spec: LoaderSpec<I>,
    private readonly counters: LoaderCounters,
    private readonly report: (batch: BatchEvent, ctx: RequestContext) => void,
  ) {}

  /** Queues one call; resolves with its own reply. */
  load(ctx: RequestContext, input: I): Promise<Reply> {
    if (ctx.cancelled) return Promise.reject(new CancelledError());
    const key = this.spec.key(input, ctx);
    let pending = this.pending;
    if (pending === undefined) {
      pending = {
        entries: new Map(),
        timer: undefined,
        callers: 0,
        dedupHits: 0,
        flushed: false,
      };
      this.pending = pending;
      const batch = pending;
      pending.timer =
        this.spec.maxWaitMs === 0
          ? setImmediate(() => this.flush(batch))
          : setTimeout(() => this.flush(batch), this.spec.maxWaitMs);
    }
    let entry = pending.entries.get(key);
    if (entry === undefined) {
      entry = new Entry(input);
      pending.entries.set(key, entry);
    } else pending.dedupHits++;
    pending.callers++;
    const batch = pending;
    const item = entry;
    const promise = new Promise<Reply>((resolve, reject) => {
      const waiter: Waiter = { ctx, resolve, reject, onAbort: undefined };
      item.waiters.push(waiter);
      const onAbort = () => this.leave(batch, key, item, waiter);
      waiter.onAbort = onAbort;
      ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    if (pending.entries.size >= this.spec.maxBatchSize) this.flush(pending);
    return promise;
  }

  /** A caller cancelled: it leaves its item, and the item leaves a batch not yet run when no caller is left. */
  private leave(batch: Pending<I>, key: string, entry: Entry<I>, waiter: Waiter): void {
    const at = entry.waiters.indexOf(waiter);
    if (at === -1) return;
    entry.waiters.splice(at, 1);
    this.counters.cancelled++;
    batch.callers--;
    waiter.reject(new CancelledError());
    if (entry.waiters.length !== 0) {
      if (!batch.flushed) batch.dedupHits--;
      return;
    }
    if (batch.flushed) entry.abort();
    else {
      batch.entries.delete(key);
      if (batch.entries.size === 0) this.cancelTimer(batch);
    }
  }

  private cancelTimer(batch: Pending<I>): void {
    if (batch.timer !== undefined) {
      if (this.spec.maxWaitMs === 0) clearImmediate(batch.timer as ReturnType<typeof setImmediate>);
      else clearTimeout(batch.timer as ReturnType<typeof setTimeout>);
      batch.timer = undefined;
    }
    if (this.pending === batch) this.pending = undefined;
  }

  private flush(batch: Pending<I>): void {
    if (batch.flushed) return;
    batch.flushed = true;
    this.cancelTimer(batch);
    const entries = [...batch.entries.values()];
    if (entries.length === 0) return;
    const counters = this.counters;
    counters.batches++;
    counters.items += entries.length;
    counters.calls += batch.callers;
    counters.dedupHits += batch.dedupHits;
    const started = now();
    const inputs = entries.map((e) => e.input);
    let outcome: unknown;
    try {
      outcome = this.spec.run(inputs, entries);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    Promise.resolve(outcome).then(
      (results) => this.settle(batch, entries, results, started),
      (error: unknown) => this.settle(batch, entries, undefined, started, asError(error)),
    );
  }

  private settle(
    batch: Pending<I>,
    entries: Entry<I>[],
    results: unknown,
    started: number,
    thrown?: Error,
  ): void {
    const { kind, name } = this.spec;
    let wrong: string | undefined;
    if (thrown === undefined && (!Array.isArray(results) || results.length !== entries.length)) {
      wrong = Array.isArray(results)
        ? `batching: run of ${kind} "${name}" returned ${results.length} results for ${entries.length} items`
        : `batching: run of ${kind} "${name}" returned ${describe(results)} instead of an array of ${entries.length} results`;
    }
    const error = thrown?.message ?? wrong;
    if (error !== undefined) this.counters.failedBatches++;
    let reporter: RequestContext | undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry<I>;
      let reply: Reply;
      if (wrong !== undefined) reply = { error: { code: ErrorCodes.InternalError, message: wrong } };
      else if (thrown !== undefined) reply = this.spec.reply(thrown);
      else {
        try {
          reply = this.spec.reply((results as unknown[])[i]);
        } catch (e) {
          reply = {
            error: {
              code: ErrorCodes.InternalError,
              message: asError(e).message,
            },
          };
        }
      }
      for (const waiter of entry.waiters) {
        reporter ??= waiter.ctx;
        if (waiter.onAbort) waiter.ctx.signal.removeEventListener('abort', waiter.onAbort);
        waiter.resolve(reply);
      }
      entry.waiters.length = 0;
    }
    if (reporter === undefined) return;
    if (wrong !== undefined) reporter.connection.reportError(new Error(wrong));
    this.report(
      {
        kind,
        name,
        size: entries.length,
        callers: batch.callers,
        dedupHits: batch.dedupHits,
        durationMs: now() - started,
        error,
      },
      reporter,
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** A tool item's outcome as a reply: a result object as it is, an Error as an `isError` result. */
export function toolReply(outcome: unknown): Reply {
  if (outcome instanceof Error) {
    return {
      result: {
        content: [{ type: 'text', text: outcome.message }],
        isError: true,
      },
    };
  }
  if (typeof outcome === 'object' && outcome !== null && !Array.isArray(outcome)) {
    return { result: outcome as JsonObject };
  }
  throw new Error(`batching: a tool batch result must be an object or an Error (got ${describe(outcome)})`);
}
