import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Context } from '../../src/core/context.js';
import type { JsonRpcRequest } from '../../src/core/types.js';

setFlagsFromString('--allow-natives-syntax');
setFlagsFromString('--expose-gc');
const natives = new Function(
  'f',
  'arg',
  `%PrepareFunctionForOptimization(f); f(arg); f(arg); %OptimizeFunctionOnNextCall(f); f(arg);
   return () => %GetOptimizationStatus(f);`,
) as (f: (ctx: Context) => unknown, arg: Context) => () => number;
const gc = runInNewContext('gc') as () => void;
/** V8's optimisation status bit for "runs TurboFan code". */
const TURBOFANNED = 1 << 6;

function makeContext(id: number): Context {
  const message: JsonRpcRequest = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo' } };
  return new Context({} as never, message, undefined, undefined, 0);
}

describe('hidden classes of per-request objects', () => {
  it('optimised code that reads a context survives a full GC with no context alive', () => {
    const read = (ctx: Context) => ctx.method.length + ctx.startedAt;
    const status = natives(read, makeContext(1));
    assert.ok((status() & TURBOFANNED) !== 0, `optimised at first (status ${status()})`);
    // No context is alive now: V8 holds a class's hidden class only weakly, so without an
    // instance kept alive a full GC collects it and deoptimises the code that checks for it.
    gc();
    gc();
    gc();
    assert.ok((status() & TURBOFANNED) !== 0, `still optimised after full GCs (status ${status()})`);
  });
});
