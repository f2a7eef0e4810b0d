import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../benchmarks/load/workload.js';
import { createPackr, fromWire, toWire } from '../../src/codec/format.js';
import type { JsonRpcMessage } from '../../src/index.js';

const SAMPLES = [
  '',
  'a',
  'héllo',
  '😀🎉',
  '日本語テキスト',
  '\u0000\u001f',
  'line\nbreak',
  '"quoted"',
  '\\',
  'a\ud800b',
  '\udc00',
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  2 ** 60,
  1e300,
  5e-324,
  0.1,
];

function generator(seed: number) {
  const r = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;
  const text = (): string => {
    if (r() < 0.6) return pick(SAMPLES);
    let s = '';
    const n = Math.floor(r() * 40);
    for (let i = 0; i < n; i++)
      s += String.fromCodePoint(r() < 0.7 ? 32 + Math.floor(r() * 95) : Math.floor(r() * 0x10ffff));
    return s;
  };
  const blob = (): string =>
    Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256))).toString(
      'base64',
    );
  const value = (depth: number): unknown => {
    const k = r();
    if (depth > 3 || k < 0.3)
      return pick<unknown>([
        null,
        true,
        false,
        pick(NUMBERS),
        text(),
        undefined,
        Number.NaN,
        Number.POSITIVE_INFINITY,
      ]);
    if (k < 0.55) return Array.from({ length: Math.floor(r() * 5) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(r() * 5); i > 0; i--) {
      // defineProperty, so a `__proto__` key is an own property as JSON.parse makes it.
      const key = r() < 0.1 ? '__proto__' : text();
      Object.defineProperty(o, key, {
        value: value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (r() < 0.05) return new Date(Math.floor(r() * 2e12));
    return o;
  };
  const content = (): unknown =>
    pick([
      () => ({ type: 'text', text: text() }),
      () => ({ type: 'image', data: blob(), mimeType: 'image/png' }),
      () => ({ type: 'resource', resource: { uri: `file:///${text()}`, blob: blob(), mimeType: null } }),
      () => ({
        type: 'text',
        text: text(),
        annotations: { priority: r(), audience: ['user'] },
        _meta: value(1),
      }),
    ])();
  const id = () => (r() < 0.5 ? Math.floor(r() * 2 ** 53) : text());
  return (): JsonRpcMessage =>
    pick<() => JsonRpcMessage>([
      () => ({
        jsonrpc: '2.0',
        id: id(),
        method: 'tools/call',
        params: {
          name: text(),
          arguments: value(1) as Record<string, unknown>,
          _meta: { progressToken: id() },
        },
      }),
      () => ({
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: id(), progress: pick(NUMBERS), total: r() < 0.5 ? undefined : null },
      }),
      () => ({
        jsonrpc: '2.0',
        id: id(),
        result: {
          content: Array.from({ length: Math.floor(r() * 4) }, content),
          isError: r() < 0.2 ? true : undefined,
          structuredContent: value(1),
        },
      }),
      () => ({
        jsonrpc: '2.0',
        id: id(),
        result: {
          tools: [
            {
              name: text(),
              inputSchema: { type: 'object', properties: value(1) },
              annotations: { readOnlyHint: r() < 0.5 },
            },
          ],
          nextCursor: r() < 0.5 ? text() : undefined,
        },
      }),
      () => ({ jsonrpc: '2.0', id: id(), error: { code: -32602, message: text(), data: value(1) } }),
      () => ({ jsonrpc: '2.0', id: id(), method: 'resources/read', params: { uri: text() } }),
    ])();
}

function roundTrip(message: JsonRpcMessage): unknown {
  const packr = createPackr();
  return fromWire(packr.unpack(packr.pack(toWire(message))));
}

describe('codec format: JSON semantics kept exactly', () => {
  it('every generated MCP message decodes to what JSON.parse(JSON.stringify(m)) gives', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const message = generator(seed)();
      const expected = JSON.parse(JSON.stringify(message));
      const got = roundTrip(message);
      assert.deepStrictEqual(got, expected, `seed ${seed}`);
      // Key order matters to anything that hashes the text.
      assert.equal(JSON.stringify(got), JSON.stringify(expected), `seed ${seed}`);
    }
  });

  it('undefined vs null, -0, large integers, NaN, Date, Map, lone surrogates, __proto__', () => {
    const message = JSON.parse(
      '{"jsonrpc":"2.0","id":1,"result":{"__proto__":{"x":1}}}',
    ) as JsonRpcMessage & { result: Record<string, unknown> };
    Object.assign(message.result, {
      a: undefined,
      b: null,
      c: -0,
      d: 2 ** 64,
      e: -(2 ** 53) + 1,
      f: Number.NaN,
      g: new Date(0),
      h: new Map([['k', 1]]),
      i: [undefined, 1],
      j: 'a\ud800',
    });
    const got = roundTrip(message) as { result: Record<string, unknown> };
    assert.deepStrictEqual(got, JSON.parse(JSON.stringify(message)));
    assert.equal(Object.hasOwn(got.result, '__proto__'), true);
    assert.equal(Object.hasOwn(got.result, 'a'), false);
    assert.equal(Object.is(got.result.c, 0), true);
  });

  it('plain messages travel as MessagePack maps, others as their JSON text', () => {
    const plain: JsonRpcMessage = {
      jsonrpc: '2.0',
      id: 1,
      result: { content: [{ type: 'text', text: 'x' }] },
    };
    assert.equal(toWire(plain), plain);
    assert.equal(typeof toWire({ jsonrpc: '2.0', id: 1, result: { when: new Date(0) } }), 'string');
    assert.throws(() => toWire({ jsonrpc: '2.0', id: 1, result: { n: 1n } }), TypeError);
  });
});
