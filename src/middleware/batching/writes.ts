import type { Writable } from 'node:stream';

const COALESCED = Symbol.for('mcp-perf.coalesced-writes');

/** A stream whose writes {@link coalesceWrites} gathers per turn of the event loop. */
export type CoalescedWritable<W extends Writable = Writable> = W & {
  readonly [COALESCED]: true;
};

/**
 * Makes the small writes a stream receives in one turn of the event loop leave together:
 * the first write of a turn corks the stream and the end of the turn (`process.nextTick`)
 * uncorks it, so a pipe or socket hands the kernel every buffered message in one `writev`.
 * A lone message still leaves in the same turn it was written, so it waits for nothing.
 *
 * Hand the stream to a stream transport: the SDK's `StdioServerTransport` /
 * `StdioClientTransport`-style transports, or the codec transports (which have a
 * `coalesceWrites` option doing the same). Returns the same stream; calling it twice is
 * harmless.
 *
 * @example
 * ```ts
 * const transport = new StdioServerTransport(process.stdin, coalesceWrites(process.stdout));
 * ```
 */
export function coalesceWrites<W extends Writable>(stream: W): W {
  const target = stream as W & { [COALESCED]?: true };
  if (target[COALESCED]) return stream;
  const write = stream.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  Object.defineProperty(stream, 'write', {
    configurable: true,
    writable: true,
    value: function coalescedWrite(this: W, ...args: unknown[]): boolean {
      if (!corked && !stream.destroyed) {
        corked = true;
        stream.cork();
        process.nextTick(uncork);
      }
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    },
  });
  Object.defineProperty(stream, COALESCED, { value: true });
  return stream;
}
