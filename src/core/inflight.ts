import type { RequestId } from './types.js';

/** Slots for integer ids; a power of two so that `id & MASK` picks one. */
const SLOTS = 256;
const MASK = SLOTS - 1;

/** The slot an id may sit in: its low bits for a 32-bit integer id, else -1 (the map). */
function slotOf(id: RequestId): number {
  return typeof id === 'number' && (id | 0) === id ? id & MASK : -1;
}

/**
 * The requests in flight on one connection, by request id.
 *
 * SDK peers number their requests 0, 1, 2 …, so an integer id goes into a fixed ring of
 * slots chosen by its low bits, and adding and removing one allocates nothing. A `Map`
 * keyed by a steadily rising id does: it rehashes its backing store every few inserts,
 * which profiling showed as the largest single cost of a request through the pipeline.
 * String ids, and integers whose slot is already taken (more than {@link SLOTS} in
 * flight, or ids far apart that share low bits), go to an ordinary `Map`.
 */
export class InflightTable<T extends { readonly id: RequestId }> {
  private readonly slots: (T | undefined)[] = new Array<T | undefined>(SLOTS).fill(undefined);
  private readonly overflow = new Map<RequestId, T>();
  private count = 0;

  /** How many requests are in flight. */
  get size(): number {
    return this.count;
  }

  /** The entry under `id`, if there is one. */
  get(id: RequestId): T | undefined {
    const index = slotOf(id);
    if (index >= 0) {
      const slot = this.slots[index];
      if (slot !== undefined && slot.id === id) return slot;
    }
    return this.overflow.size === 0 ? undefined : this.overflow.get(id);
  }

  /** Adds an entry. The caller has checked that its id is not in flight already. */
  add(entry: T): void {
    this.count++;
    const index = slotOf(entry.id);
    if (index >= 0 && this.slots[index] === undefined) {
      this.slots[index] = entry;
      return;
    }
    this.overflow.set(entry.id, entry);
  }

  /** Removes `entry` if it is the one in flight under its id; true if it was. */
  remove(entry: T): boolean {
    const id = entry.id;
    const index = slotOf(id);
    if (index >= 0 && this.slots[index] === entry) {
      this.slots[index] = undefined;
      this.count--;
      return true;
    }
    if (this.overflow.size === 0 || this.overflow.get(id) !== entry) return false;
    this.overflow.delete(id);
    this.count--;
    return true;
  }

  /** Every entry in flight (a copy: removing while iterating is safe). */
  values(): T[] {
    const out: T[] = [];
    for (const slot of this.slots) if (slot !== undefined) out.push(slot);
    for (const entry of this.overflow.values()) out.push(entry);
    return out;
  }

  /** Forgets every entry. */
  clear(): void {
    this.slots.fill(undefined);
    this.overflow.clear();
    this.count = 0;
  }
}
