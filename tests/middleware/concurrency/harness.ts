import type { Reply } from '../../../src/index.js';
import type { ConcurrencyLimiter } from '../../../src/middleware/concurrency/index.js';
import { type FakeContext, fakeContext } from '../../helpers/request-context.js';
import { type Deferred, deferred } from '../../helpers/servers.js';

/** What became of one request driven through the limiter. */
export type Outcome = { reply: Reply; error?: undefined } | { error: unknown; reply?: undefined };

/** One request driven through the limiter by {@link drive}. */
export interface Call {
  label: string;
  ctx: FakeContext;
  outcome: Promise<Outcome>;
  settled: Outcome | undefined;
}

/**
 * Drives a limiter's request function directly: each started request waits on a
 * deferred until `finish(label)`; `started` records the start order, and `check` runs at
 * every start (assert invariants there).
 */
export function drive(limiter: ConcurrencyLimiter, check: (label: string) => void = () => {}) {
  const started: string[] = [];
  const handlers = new Map<string, Deferred<Reply>>();
  const calls = new Map<string, Call>();
  return {
    started,
    calls,
    call(label: string, options: Parameters<typeof fakeContext>[0] = {}): Call {
      const ctx = fakeContext(options);
      const call: Call = {
        label,
        ctx,
        outcome: undefined as unknown as Promise<Outcome>,
        settled: undefined,
      };
      call.outcome = limiter.request!(ctx, () => {
        started.push(label);
        check(label);
        const d = deferred<Reply>();
        handlers.set(label, d);
        return d.promise;
      }).then(
        (reply) => (call.settled = { reply }),
        (error: unknown) => (call.settled = { error }),
      );
      calls.set(label, call);
      return call;
    },
    /** Lets a started request's handler answer. */
    finish(label: string): void {
      const d = handlers.get(label);
      if (d === undefined) throw new Error(`${label} has not started`);
      d.resolve({ result: { content: [{ type: 'text', text: label }] } });
    },
  };
}

/** Lets queued microtasks and one macrotask run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
