import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createSlowServer,
  type HostedHttp,
  SLOW_SERVER_SCRIPT,
  serveHttp,
} from '../../benchmarks/fixtures/servers.js';
import {
  compileWorkload,
  isLoopbackHost,
  type LoadResult,
  readLoadShape,
  runLoad,
  seededRandom,
  splitCommand,
  zipfSampler,
} from '../../benchmarks/load/index.js';
import { isInvalidOptionError } from '../../src/index.js';

const STDIO = { command: process.execPath, args: ['--import', 'tsx', SLOW_SERVER_SCRIPT] };

/** Invariants every result must satisfy, whatever the timing. */
function assertConsistent(r: LoadResult): void {
  assert.equal(r.succeeded + r.failed, r.sent, 'every request sent was answered');
  assert.equal(
    Object.values(r.errors).reduce((a, b) => a + b, 0),
    r.failed,
  );
  const sum = (k: 'sent' | 'succeeded' | 'errors'): number => r.timeline.reduce((a, t) => a + t[k], 0);
  assert.equal(sum('sent'), r.sent, 'timeline sent adds up');
  assert.equal(sum('succeeded'), r.succeeded, 'timeline succeeded adds up');
  assert.equal(sum('errors'), r.failed, 'timeline errors add up');
  assert.equal(
    Object.values(r.operations).reduce((a, o) => a + o.sent, 0),
    r.sent,
    'per-operation counts add up',
  );
  for (const l of [r.latencyMs, r.serviceTimeMs]) {
    if (l.count === 0) continue;
    assert.ok(
      l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max,
      'ordered',
    );
  }
  assert.equal(r.latencyMs.count, r.succeeded);
  assert.ok(r.maxInFlight >= 1 || r.sent === 0);
}

describe('workload', () => {
  it('draws zipf ranks within 1..n, hottest first', () => {
    const sample = zipfSampler(50, 1.2);
    const random = seededRandom(7);
    const counts = new Array<number>(51).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const k = sample(random);
      assert.ok(Number.isInteger(k) && k >= 1 && k <= 50);
      counts[k]!++;
    }
    // P(1)/P(2) = 2^1.2 ≈ 2.3; P(1) ≈ 1 / H(50, 1.2) ≈ 0.28
    assert.ok(counts[1]! > counts[2]! && counts[2]! > counts[5]! && counts[5]! > counts[40]!);
    assert.ok(counts[1]! / 20_000 > 0.24 && counts[1]! / 20_000 < 0.32, String(counts[1]));
  });

  it('compiles generators anywhere in the arguments, with weights', () => {
    const w = compileWorkload({
      operations: [
        {
          weight: 3,
          method: 'tools/call',
          name: 'echo',
          arguments: {
            text: { $zipf: { n: 10, s: 1, format: 'key-%d' } },
            nested: { n: { $uniform: { min: 5, max: 7, integer: true } }, list: [{ $oneOf: ['a', 'b'] }] },
            literal: { $const: { $zipf: 'not a generator' } },
          },
        },
        { weight: 1, method: 'resources/read', uri: { $uniform: { n: 3, format: 'fixture://doc/%d' } } },
        { weight: 1, method: 'tools/list' },
      ],
    });
    assert.deepEqual(w.labels, ['tools/call echo', 'resources/read', 'tools/list']);
    const random = seededRandom(1);
    const seen = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const { label, request } = w.next(random);
      seen.set(label, (seen.get(label) ?? 0) + 1);
      if (request.method === 'tools/call') {
        const a = request.arguments as {
          text: string;
          nested: { n: number; list: string[] };
          literal: unknown;
        };
        assert.match(a.text, /^key-([1-9]|10)$/);
        assert.ok([5, 6, 7].includes(a.nested.n));
        assert.ok(['a', 'b'].includes(a.nested.list[0]!));
        assert.deepEqual(a.literal, { $zipf: 'not a generator' });
      } else if (request.method === 'resources/read') {
        assert.match(request.uri, /^fixture:\/\/doc\/[123]$/);
      }
    }
    const share = (seen.get('tools/call echo') ?? 0) / 5000;
    assert.ok(share > 0.55 && share < 0.65, `weight 3 of 5 drew ${share}`);
  });

  it('names the path of an invalid generator', () => {
    const bad = (operations: unknown[], pattern: RegExp) =>
      assert.throws(
        () => compileWorkload({ operations }),
        (e: unknown) => isInvalidOptionError(e) && pattern.test((e as Error).message),
      );
    bad(
      [{ method: 'tools/call', name: 'echo', arguments: { text: { $zipf: { n: 10, s: -1 } } } }],
      /options\.workload\.operations\[0\]\.arguments\.text\.\$zipf\.s must be a positive number/,
    );
    bad([{ method: 'tools/call', name: 'echo', arguments: { x: { $normal: {} } } }], /\$normal/);
    bad([{ method: 'prompts/delete' }], /operations\[0\]\.method/);
    bad([{ method: 'prompts/get' }], /operations\[0\]\.name must be a prompt name/);
    bad([{ method: 'resources/read' }], /operations\[0\]\.uri/);
    bad([{ method: 'tools/list', weight: 0 }], /operations\[0\]\.weight must be a positive number/);
    assert.throws(
      () => compileWorkload({ operations: [] }),
      /workload\.operations must be a non-empty array/,
    );
  });
});

describe('workload files', () => {
  it('draw prompts and every list, and carry the load shape beside the operations', () => {
    const w = compileWorkload({
      concurrency: 3,
      duration: '2s',
      requests: 10,
      operations: [
        { method: 'prompts/get', name: 'greet', arguments: { n: { $uniform: { n: 3 } } } },
        { method: 'prompts/list' },
        { method: 'resources/list' },
        { method: 'resources/templates/list' },
      ],
    });
    assert.deepEqual(w.labels, [
      'prompts/get greet',
      'prompts/list',
      'resources/list',
      'resources/templates/list',
    ]);
    const random = seededRandom(3);
    const drawn = Array.from({ length: 50 }, () => w.next(random).request);
    const prompt = drawn.find((r) => r.method === 'prompts/get');
    assert.ok(prompt && typeof prompt.arguments.n === 'string', 'prompt arguments are strings');
    assert.deepEqual(readLoadShape({ concurrency: 3, duration: '2s', requests: 10 }), {
      concurrency: 3,
      durationMs: 2_000,
      maxRequests: 10,
    });
    assert.throws(
      () => readLoadShape({ rate: 5, concurrency: 2 }),
      /workload\.concurrency must be absent when rate is set/,
    );
    assert.throws(
      () => readLoadShape({ duration: 'soon' }),
      /workload\.duration must be a duration like 500ms/,
    );
  });
});

describe('targets', () => {
  it('splits command lines with quotes and escapes', () => {
    assert.deepEqual(splitCommand(`node "my server.js" --name 'a b' c\\ d`), [
      'node',
      'my server.js',
      '--name',
      'a b',
      'c d',
    ]);
    assert.throws(() => splitCommand('node "open'), /balanced quotes/);
  });

  it('recognizes loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['10.0.0.1', 'example.com', '128.0.0.1', '::2']) assert.ok(!isLoopbackHost(h), h);
  });

  it('refuses a remote URL unless allowRemote is set, before connecting', async () => {
    await assert.rejects(
      runLoad({ target: { url: 'http://192.0.2.1:3000/mcp' }, rate: 10, durationMs: 100 }),
      (e: unknown) =>
        isInvalidOptionError(e) && /target\.url must be a loopback address/.test((e as Error).message),
    );
  });

  it('validates the load shape', async () => {
    await assert.rejects(runLoad({ target: { url: 'http://127.0.0.1:1/mcp' } }), /exactly one of them/);
    await assert.rejects(
      runLoad({ target: { url: 'http://127.0.0.1:1/mcp' }, rate: 10, concurrency: 2 }),
      /exactly one of them/,
    );
    await assert.rejects(
      runLoad({ target: { url: 'http://127.0.0.1:1/mcp' }, concurrency: 1.5 }),
      /options\.concurrency must be a positive integer/,
    );
    await assert.rejects(
      runLoad({ target: { url: 'http://127.0.0.1:1/mcp' }, rate: 10, durationMs: -1 }),
      /options\.durationMs/,
    );
  });
});

describe('runLoad over stdio', () => {
  it('sends exactly the scheduled requests in open loop, with a mixed workload', async () => {
    const rate = 120;
    const durationMs = 1500;
    const r = await runLoad({
      target: { stdio: STDIO },
      rate,
      durationMs,
      workload: {
        operations: [
          {
            weight: 4,
            method: 'tools/call',
            name: 'echo',
            arguments: { text: { $zipf: { n: 100, s: 1.1, format: 'k%d' } } },
          },
          { weight: 1, method: 'tools/call', name: 'cpu', arguments: { ms: 1 } },
          { weight: 1, method: 'tools/list' },
          { weight: 1, method: 'resources/read', uri: { $uniform: { n: 5, format: 'fixture://doc/%d' } } },
        ],
      },
    });
    assert.equal(r.mode, 'open');
    assert.equal(r.scheduled, Math.ceil((rate * durationMs) / 1000));
    assert.equal(r.sent, r.scheduled);
    assert.deepEqual(r.errors, {});
    assert.equal(r.succeeded, r.sent);
    assertConsistent(r);
    assert.ok(r.operations['tools/call echo']!.sent > r.operations['tools/list']!.sent);
  });

  it('counts tool failures and protocol errors by kind', async () => {
    const r = await runLoad({
      target: { stdio: STDIO },
      concurrency: 2,
      maxRequests: 40,
      durationMs: 60_000,
      workload: {
        operations: [
          { method: 'tools/call', name: 'fail' },
          { method: 'tools/call', name: 'echo', arguments: { text: 42 } },
        ],
      },
    });
    assert.equal(r.sent, 40);
    assert.equal(r.failed, 40);
    assert.ok((r.errors.isError ?? 0) >= r.operations['tools/call fail']!.sent);
    assertConsistent(r);
  });
});

describe('runLoad over Streamable HTTP', () => {
  let hosted: HostedHttp;
  before(async () => {
    hosted = await serveHttp(() => createSlowServer());
  });
  after(async () => {
    await hosted.close();
  });

  it('keeps at most `concurrency` requests in flight and stops at maxRequests', async () => {
    const r = await runLoad({
      target: { url: hosted.url },
      concurrency: 4,
      maxRequests: 150,
      durationMs: 60_000,
      workload: { operations: [{ method: 'tools/call', name: 'sleep', arguments: { ms: 2 } }] },
    });
    assert.equal(r.mode, 'closed');
    assert.equal(r.sent, 150);
    assert.equal(r.succeeded, 150);
    assert.ok(r.maxInFlight <= 4 && r.maxInFlight >= 1, String(r.maxInFlight));
    for (const t of r.timeline) assert.ok(t.inFlightMax <= 4);
    assertConsistent(r);
    assert.ok(r.histogram.length > 0);
  });

  it('caps an open-loop schedule at maxRequests', async () => {
    const r = await runLoad({ target: { url: hosted.url }, rate: 200, durationMs: 1000, maxRequests: 50 });
    assert.equal(r.scheduled, 50);
    assert.equal(r.sent, 50);
    assert.equal(r.succeeded, 50);
    assertConsistent(r);
  });

  it('stops sending when aborted, and still collects the answers in flight', async () => {
    const abort = new AbortController();
    abort.abort();
    const r = await runLoad({
      target: { url: hosted.url },
      rate: 100,
      durationMs: 5000,
      signal: abort.signal,
    });
    assert.equal(r.sent, 0);
    assert.equal(r.scheduled, 500);
    assertConsistent(r);
  });
});
