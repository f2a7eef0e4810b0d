import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { switchableStack } from '../../src/config/index.js';
import type { Connection, Middleware, MiddlewareObject } from '../../src/index.js';
import { cache } from '../../src/index.js';
import { connectPair, deferred } from '../helpers/servers.js';

function tagging(label: string, log: string[]): MiddlewareObject {
  return {
    name: label,
    request(ctx, next) {
      if (ctx.method === 'tools/call') log.push(`${label}:${String(ctx.params?.name)}`);
      return next();
    },
    notification(ctx) {
      log.push(`${label}:${ctx.from}:${ctx.message.method}`);
      return undefined;
    },
    attach() {
      log.push(`${label}:attach`);
      return () => log.push(`${label}:detach`);
    },
  };
}

describe('switchableStack', () => {
  it('runs new requests through the new stack and lets requests in flight finish in the old one', async () => {
    const log: string[] = [];
    const gate = deferred();
    const entered = deferred();
    const watch: Middleware = function watch(ctx, next) {
      if (ctx.params?.name === 'gate') entered.resolve();
      return next();
    };
    const live = switchableStack([tagging('a', log), watch]);
    const pair = await connectPair({ server: [live], counting: { gate: () => gate.promise } });
    try {
      assert.deepEqual(log, ['a:attach', 'a:caller:notifications/initialized']);
      const held = pair.client.callTool({ name: 'gate', arguments: {} });
      await entered.promise;
      const old = live.swap([tagging('b', log), cache({ tools: { include: ['echo'] } })]);
      assert.equal(old.length, 2);
      assert.deepEqual(
        log.slice(-2),
        ['b:attach', 'a:detach'],
        'the new layers join the connection, the old leave',
      );
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      gate.resolve();
      await held;
      assert.deepEqual(
        log.filter((l) => /:(gate|echo)$/.test(l)),
        ['a:gate', 'b:echo', 'b:echo'],
      );
      assert.equal(pair.counts.echo, 1, 'the new stack cached the repeat');
      assert.equal(pair.counts.gate, 1);
      assert.equal(live.current.length, 2);
    } finally {
      await pair.close();
    }
    assert.equal(log.at(-1), 'b:detach', 'closing the connection detaches the current layers');
  });

  it('tells when the requests of swapped-out stacks have finished', async () => {
    const gate = deferred();
    // A stack none of whose layers handles a request never holds it: each has one that does.
    const pass: Middleware = function pass(_ctx, next) {
      return next();
    };
    const live = switchableStack([pass]);
    const pair = await connectPair({ server: [live], counting: { gate: () => gate.promise } });
    try {
      await live.drained();
      const held = pair.client.callTool({ name: 'gate', arguments: {} });
      for (let i = 0; pair.counts.gate === undefined; i++) {
        assert.ok(i < 2_000, 'the call reaches the server');
        await new Promise((r) => setTimeout(r, 5));
      }
      live.swap([pass]);
      let drained = false;
      const waiting = live.drained().then(() => {
        drained = true;
      });
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      assert.equal(drained, false, 'a request of the new stack does not count, the old one runs');
      gate.resolve();
      await held;
      await waiting;
      assert.equal(drained, true);
    } finally {
      await pair.close();
    }
  });

  it('passes notifications through the current hooks, and drops what a hook drops', async () => {
    const log: string[] = [];
    const drop: MiddlewareObject = {
      name: 'drop',
      notification: (ctx) => (ctx.message.method === 'notifications/message' ? null : undefined),
    };
    const live = switchableStack([tagging('a', log)]);
    const pair = await connectPair({ server: [live] });
    const received: string[] = [];
    pair.client.fallbackNotificationHandler = async (n) => void received.push(n.method);
    try {
      assert.ok(log.includes('a:caller:notifications/initialized'));
      await pair.server.server.sendLoggingMessage({ level: 'info', data: 'one' });
      await pair.client.ping();
      live.swap([drop, tagging('b', log)]);
      await pair.server.server.sendLoggingMessage({ level: 'info', data: 'two' });
      await pair.client.ping();
      assert.ok(log.includes('a:handler:notifications/message'));
      assert.ok(log.includes('b:handler:notifications/message'), 'b runs first on the way back, before drop');
    } finally {
      await pair.close();
    }
  });

  it('skips the layers of its stack that do not handle a method, and follows a swap and a restack', async () => {
    const log: string[] = [];
    const counting = (label: string): MiddlewareObject => ({
      name: label,
      request(ctx, next) {
        log.push(`${label}:${ctx.method}`);
        return next();
      },
    });
    let callsToo = false;
    let attachedTo: Connection | undefined;
    const picky: MiddlewareObject = {
      ...counting('picky'),
      handles: (method) => method === 'tools/list' || (callsToo && method === 'tools/call'),
      attach(connection) {
        attachedTo = connection;
        return undefined;
      },
    };
    const live = switchableStack([counting('all'), picky]);
    const pair = await connectPair({ server: [live] });
    try {
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      await pair.client.listTools();
      assert.deepEqual(
        log.filter((l) => !l.endsWith('initialize')),
        ['all:tools/call', 'all:tools/list', 'picky:tools/list'],
      );
      log.length = 0;
      callsToo = true;
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      assert.deepEqual(log, ['all:tools/call'], 'the answer is kept until a restack');
      // A layer inside asks the connection to restack: the nested stacks follow.
      attachedTo?.restack?.();
      log.length = 0;
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      assert.deepEqual(log, ['all:tools/call', 'picky:tools/call']);
      callsToo = false;
      live.swap([picky]);
      log.length = 0;
      await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
      assert.deepEqual(log, [], 'a swap composes again: the new stack has nothing for calls');
    } finally {
      await pair.close();
    }
  });
});
