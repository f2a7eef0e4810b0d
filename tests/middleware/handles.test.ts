/**
 * What each built-in middleware declares it handles (`MiddlewareObject.handles`): the
 * methods whose requests reach its `request` function. A method it leaves out skips it;
 * the behaviour of every middleware on the methods it handles is tested where it lives,
 * and the conformance comparison checks the whole stack is invisible where it does not act.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  batching,
  type Connection,
  cache,
  concurrencyLimit,
  type MiddlewareObject,
  metrics,
  notModified,
  rateLimit,
  tokenBudget,
  toolFilter,
} from '../../src/index.js';

const METHODS = [
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/read',
  'resources/list',
  'prompts/get',
  'completion/complete',
] as const;

const connection = (side: 'server' | 'client'): Connection =>
  ({ side, closed: false, session: {}, reportError: () => undefined }) as unknown as Connection;

/** The methods of {@link METHODS} that `m` handles on a connection of `side`. */
function handled(m: MiddlewareObject, side: 'server' | 'client'): string[] {
  const c = connection(side);
  return METHODS.filter((method) => m.handles === undefined || m.handles(method, c));
}

describe('what each middleware handles', () => {
  it('metrics sees every request', () => {
    assert.equal(metrics().handles, undefined);
  });

  it('the limits leave the handshake and pings alone', () => {
    const expected = METHODS.filter((m) => m !== 'initialize' && m !== 'ping');
    assert.deepEqual(handled(concurrencyLimit(), 'server'), expected);
    assert.deepEqual(handled(rateLimit({ limit: 10, windowMs: 1_000 }), 'server'), expected);
  });

  it('a cache handles what it caches, and a client handshake', () => {
    const cached = ['tools/list', 'resources/read', 'resources/list', 'prompts/get'];
    assert.deepEqual(handled(cache(), 'server'), cached);
    assert.deepEqual(handled(cache(), 'client'), ['initialize', ...cached]);
    assert.deepEqual(handled(cache({ tools: { include: ['weather'] } }), 'server'), [
      'tools/list',
      'tools/call',
      'resources/read',
      'resources/list',
      'prompts/get',
    ]);
    assert.deepEqual(handled(cache({ lists: { enabled: false }, readOnlyTools: true }), 'server'), [
      'tools/list',
      'tools/call',
      'resources/read',
      'prompts/get',
    ]);
  });

  it('a tool filter handles calls only while it hides something, and restacks when that changes', () => {
    const filter = toolFilter();
    assert.deepEqual(handled(filter, 'server'), ['tools/list'], 'created empty, it advertises nothing');
    let restacked = 0;
    const c = {
      ...connection('server'),
      notify: () => undefined,
      restack: () => restacked++,
    } as unknown as Connection;
    const detach = filter.attach?.(c);
    filter.setRules({ deny: ['secret_*'] });
    assert.equal(restacked, 1);
    assert.deepEqual(handled(filter, 'server'), ['tools/list', 'tools/call']);
    filter.setRules({ deny: ['other_*'] });
    assert.equal(restacked, 1, 'still hiding something: the stacks stay');
    filter.setRules(undefined);
    assert.equal(restacked, 2);
    detach?.();
    assert.deepEqual(handled(toolFilter({ rules: { deny: ['x'] } }), 'server'), [
      'initialize',
      'tools/list',
      'tools/call',
    ]);
  });

  it('a token budget handles results it may cut, pages and the capability it adds', () => {
    assert.deepEqual(handled(tokenBudget(), 'server'), [
      'initialize',
      'tools/list',
      'tools/call',
      'resources/read',
      'resources/list',
    ]);
    assert.deepEqual(handled(tokenBudget({ addResourcesCapability: false }), 'server'), [
      'tools/list',
      'tools/call',
      'resources/read',
    ]);
  });

  it("batching handles the handshake it offers in, its batch tools, and a client's calls once the peer agreed", () => {
    assert.deepEqual(handled(batching(), 'server'), ['initialize']);
    assert.deepEqual(handled(batching(), 'client'), ['initialize'], 'nothing to batch before the handshake');
    assert.deepEqual(handled(batching({ requests: false }), 'client'), []);
    const run = async (items: readonly unknown[]) => items.map(() => ({ content: [] }));
    assert.deepEqual(handled(batching({ requests: false, tools: { get_user: { run } } }), 'server'), [
      'tools/call',
    ]);
  });

  it('notModified answers on servers only, never pings', () => {
    assert.deepEqual(
      handled(notModified(), 'server'),
      METHODS.filter((m) => m !== 'ping'),
    );
    assert.deepEqual(handled(notModified(), 'client'), []);
    assert.deepEqual(handled(notModified({ enabled: false }), 'server'), []);
  });
});
