/**
 * Keeps the hidden classes of per-request objects alive across major GCs.
 *
 * V8 reaches the hidden class (map) of a class instance with fields only through a chain
 * of map transitions, which it holds weakly. When a full GC finds no instance alive — an
 * idle moment between bursts, exactly when a server's major GCs tend to run — the maps
 * die with the instances, and every optimised function that embedded them is
 * deoptimised ("weak objects" in `--trace-deopt`). The next requests then run in the
 * interpreter until the JIT optimises them again (the `stack.defaults-gc.inmemory`
 * scenario measures the calls right after a major GC). One instance kept for the life of
 * the process keeps its map, and with it the optimised code.
 */

const anchors: object[] = [];

/** Keeps `instance` (and so its hidden class) reachable for the life of the process. */
export function keepShape<T extends object>(instance: T): T {
  anchors.push(instance);
  return instance;
}
