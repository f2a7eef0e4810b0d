// The waiting line of one concurrency gate: two FIFO lists (one per priority class),
// intrusive and doubly linked so that a cancelled waiter leaves in O(1) without a
// search, and bounded by the gate's `maxQueue`.

import type { RequestContext } from '../../core/types.js';
import { noop } from '../../internal/noop.js';

/**
 * A request's priority class. `interactive` requests are served first and may evict
 * queued `background` ones when the queue is full; `background` ones are shed first.
 */
export type Priority = 'interactive' | 'background';

/** A request waiting for a slot in gate `G`. Linked into exactly one {@link WaiterList} while queued. */
export class Waiter<G> {
  prev: Waiter<G> | undefined = undefined;
  next: Waiter<G> | undefined = undefined;
  list: WaiterList<G> | undefined = undefined;
  /** Settles the wait: granted. Set by the promise executor. */
  resolve: () => void = noop;
  /** Settles the wait: refused (shed or cancelled). Set by the promise executor. */
  reject: (error: unknown) => void = noop;

  constructor(
    readonly gate: G,
    readonly ctx: RequestContext,
    readonly priority: Priority,
    /** Clock reading when it joined the queue. */
    readonly enqueuedAt: number,
    /** Clock reading after which it is shed. */
    readonly deadline: number,
    private readonly onAbort: (waiter: Waiter<G>) => void,
  ) {}

  /** EventListener protocol: the waiter listens to its request's AbortSignal without a closure. */
  handleEvent(): void {
    this.onAbort(this);
  }
}

/** A FIFO of waiters with O(1) push, shift, pop and removal of any member. */
export class WaiterList<G> {
  head: Waiter<G> | undefined = undefined;
  tail: Waiter<G> | undefined = undefined;
  size = 0;

  push(w: Waiter<G>): void {
    w.list = this;
    w.prev = this.tail;
    w.next = undefined;
    if (this.tail) this.tail.next = w;
    else this.head = w;
    this.tail = w;
    this.size++;
  }

  /** Removes and returns the oldest waiter. */
  shift(): Waiter<G> | undefined {
    const w = this.head;
    if (w) this.remove(w);
    return w;
  }

  /** Removes and returns the newest waiter. */
  pop(): Waiter<G> | undefined {
    const w = this.tail;
    if (w) this.remove(w);
    return w;
  }

  /** Unlinks `w`, which must be a member of this list. */
  remove(w: Waiter<G>): void {
    if (w.prev) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = w.list = undefined;
    this.size--;
  }
}
