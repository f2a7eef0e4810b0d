import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pipeline, type PipelineEnds } from '../../src/entries/core.js';
import type { Connection, JsonRpcMessage, JsonRpcNotification, Middleware } from '../../src/index.js';

/** A pipeline whose ends record what reaches them, and a layer that keeps its connection. */
function harness(hooks: Middleware[]) {
  const toCaller: JsonRpcMessage[] = [];
  const toHandler: JsonRpcMessage[] = [];
  const ends: PipelineEnds = {
    toCaller: (message) => {
      toCaller.push(message);
    },
    toHandler: (message) => {
      toHandler.push(message);
    },
    sessionId: () => undefined,
    reportError: () => {},
  };
  let connection: Connection | undefined;
  const keeper: Middleware = {
    name: 'keeper',
    attach: (c) => {
      connection = c;
      return undefined;
    },
  };
  new Pipeline('server', ends, [...hooks, keeper]);
  return { toCaller, toHandler, connection: connection! };
}

const LIST_CHANGED: JsonRpcNotification = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' };

describe('Connection.notify', () => {
  it('goes straight to the end by default, past every notification hook', () => {
    const seen: string[] = [];
    const h = harness([
      { name: 'watch', notification: (n) => void seen.push(`${n.from} ${n.message.method}`) },
    ]);
    h.connection.notify(LIST_CHANGED, 'caller');
    assert.deepEqual(h.toCaller, [LIST_CHANGED]);
    assert.deepEqual(seen, []);
  });

  it('with throughStack crosses every hook as if the other end had sent it, which may replace or drop it', () => {
    const seen: string[] = [];
    const watch: Middleware = {
      name: 'watch',
      notification: (n) => void seen.push(`${n.from} ${n.message.method}`),
    };
    const h = harness([watch]);
    h.connection.notify(LIST_CHANGED, 'caller', { throughStack: true });
    assert.deepEqual(seen, ['handler notifications/tools/list_changed']);
    assert.deepEqual(h.toCaller, [LIST_CHANGED]);
    h.connection.notify({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, 'handler', {
      throughStack: true,
    });
    assert.deepEqual(seen.at(-1), 'caller notifications/roots/list_changed');
    assert.equal(h.toHandler.length, 1);

    const dropper = harness([{ name: 'drop', notification: () => null }]);
    dropper.connection.notify(LIST_CHANGED, 'caller', { throughStack: true });
    assert.deepEqual(dropper.toCaller, []);
  });
});
