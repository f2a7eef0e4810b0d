/**
 * Compression: the msgpackr stream codec against the SDK's newline-delimited JSON over
 * stdio (calls/s on a ~100 KB tool result and on a 50-tool `tools/list`, and the bytes
 * each puts on the wire), msgpackr records measured against plain MessagePack on the same
 * messages, and msgpackr against JSON for Redis cache entries.
 */

import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CodecClientTransport } from 'mcp-perf/codec';
import { Packr } from 'msgpackr';
import { recordsResult, toolList } from '../fixtures/payloads.js';
import type { Variant } from '../harness/compare.js';
import type { ExperimentResult, ScenarioSet } from '../harness/types.js';

const SCRIPT = fileURLToPath(new URL('../fixtures/codec-server.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));

interface Connected {
  client: Client;
  bytes(): number;
  close(): Promise<void>;
}

type Wire = 'sdk' | 'codec' | 'codec-off';

/** A client to the codec benchmark server: the SDK's stdio pair, or the codec pair (on or off). */
async function connect(wire: Wire): Promise<Connected> {
  const params = {
    command: process.execPath,
    args: ['--import', 'tsx', SCRIPT, ...(wire === 'sdk' ? [] : ['--codec'])],
    env: { ...getDefaultEnvironment(), TSX_TSCONFIG_PATH: TSCONFIG },
    stderr: 'inherit' as const,
  };
  const transport =
    wire === 'sdk'
      ? new StdioClientTransport(params)
      : new CodecClientTransport(params, { codec: wire === 'codec' });
  const client = new Client({ name: 'codec-bench', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    bytes: () => (transport instanceof CodecClientTransport ? transport.stats().bytesIn : 0),
    close: () => client.close(),
  };
}

function variant(wire: Wire, run: (c: Connected) => Promise<unknown>): Variant<Connected> {
  return { setup: () => connect(wire), run: async (c) => void (await run(c)), teardown: (c) => c.close() };
}

const callPayload = (c: Connected) => c.client.callTool({ name: 'payload', arguments: {} });
const listTools = (c: Connected) => c.client.listTools();

/** Median nanoseconds per call of `fn`, over `batches` timed batches of `n` calls. */
function nsPerOp(fn: () => unknown, n = 200, batches = 9): number {
  for (let i = 0; i < n; i++) fn();
  const times: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    times.push(Number(process.hrtime.bigint() - start) / n);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** The same options as the codec's own encoder (`src/codec/format.ts`), records on or off. */
function packr(useRecords: boolean): Packr {
  return new Packr({
    useRecords,
    mapsAsObjects: true,
    int64AsType: 'number',
    moreTypes: false,
    bundleStrings: false,
  });
}

function messageFigures(prefix: string, message: unknown): Record<string, number> {
  const json = JSON.stringify(message);
  const plain = packr(false);
  const records = packr(true);
  const plainBytes = plain.pack(message);
  const recordBytes = records.pack(message);
  const jsonBuffer = Buffer.from(json);
  return {
    [`${prefix}JsonBytes`]: jsonBuffer.length,
    [`${prefix}MsgpackBytes`]: plainBytes.length,
    [`${prefix}RecordsBytes`]: recordBytes.length,
    [`${prefix}JsonEncodeUs`]: nsPerOp(() => Buffer.from(JSON.stringify(message))) / 1000,
    [`${prefix}MsgpackEncodeUs`]: nsPerOp(() => plain.pack(message)) / 1000,
    [`${prefix}RecordsEncodeUs`]: nsPerOp(() => records.pack(message)) / 1000,
    [`${prefix}JsonDecodeUs`]: nsPerOp(() => JSON.parse(jsonBuffer.toString('utf8'))) / 1000,
    [`${prefix}MsgpackDecodeUs`]: nsPerOp(() => plain.unpack(plainBytes)) / 1000,
    [`${prefix}RecordsDecodeUs`]: nsPerOp(() => records.unpack(recordBytes)) / 1000,
  };
}

const FORMAT_FIGURES: Record<string, string> = {};
for (const [prefix, what] of [
  ['result', 'the ~100 KB tool result message'],
  ['list', 'the 50-tool tools/list result message'],
] as const) {
  for (const [kind, label] of [
    ['Json', 'JSON'],
    ['Msgpack', 'plain MessagePack'],
    ['Records', 'MessagePack with msgpackr records (the codec)'],
  ] as const) {
    FORMAT_FIGURES[`${prefix}${kind}Bytes`] = `bytes of ${what} as ${label}`;
    FORMAT_FIGURES[`${prefix}${kind}EncodeUs`] = `µs to encode ${what} as ${label} (median)`;
    FORMAT_FIGURES[`${prefix}${kind}DecodeUs`] = `µs to decode ${what} from ${label} (median)`;
  }
}

async function formats(): Promise<ExperimentResult> {
  return {
    figures: {
      ...messageFigures('result', { jsonrpc: '2.0', id: 7, result: recordsResult() }),
      ...messageFigures('list', { jsonrpc: '2.0', id: 7, result: toolList() }),
    },
  };
}

/** Bytes the client read for one tools/list and one payload call, with and without the codec. */
async function wireBytes(): Promise<ExperimentResult> {
  const figures: Record<string, number> = {};
  for (const wire of ['codec-off', 'codec'] as const) {
    const c = await connect(wire);
    try {
      let before = c.bytes();
      await listTools(c);
      figures[`list_${wire}`] = c.bytes() - before;
      before = c.bytes();
      await callPayload(c);
      figures[`result_${wire}`] = c.bytes() - before;
    } finally {
      await c.close();
    }
  }
  return {
    figures: {
      listBytesJson: figures['list_codec-off'] as number,
      listBytesCodec: figures.list_codec as number,
      listBytesSaved: 1 - (figures.list_codec as number) / (figures['list_codec-off'] as number),
      resultBytesJson: figures['result_codec-off'] as number,
      resultBytesCodec: figures.result_codec as number,
      resultBytesSaved: 1 - (figures.result_codec as number) / (figures['result_codec-off'] as number),
    },
  };
}

/** The object the Redis store writes for a cache entry holding `value`. */
function cacheEntry(value: unknown) {
  return {
    value,
    size: JSON.stringify(value).length,
    storedAt: 1,
    freshUntil: 2,
    staleUntil: 3,
    tags: ['t'],
  };
}

/** A Redis cache entry as the Redis store wrote it before binary entries: the JSON of the entry object. */
function redisFigures(prefix: string, value: unknown): Record<string, number> {
  const entry = cacheEntry(value);
  const json = JSON.stringify(entry);
  const codec = packr(false);
  const packed = codec.pack(entry);
  // node-redis hands a string value back as a string, a buffer value back as a buffer.
  return {
    [`${prefix}JsonBytes`]: Buffer.byteLength(json),
    [`${prefix}MsgpackBytes`]: packed.length,
    [`${prefix}JsonSetUs`]: nsPerOp(() => JSON.stringify(entry)) / 1000,
    [`${prefix}MsgpackSetUs`]: nsPerOp(() => codec.pack(entry)) / 1000,
    [`${prefix}JsonGetUs`]: nsPerOp(() => JSON.parse(json)) / 1000,
    [`${prefix}MsgpackGetUs`]: nsPerOp(() => codec.unpack(packed)) / 1000,
  };
}

/**
 * One `get` plus one `set` of a cache entry holding `value`, as the Redis store does each
 * way: JSON travels as a string (node-redis writes it as UTF-8 and reads it back as a
 * string), msgpackr as bytes. Answers µs per get+set (median) and the bytes stored.
 */
function getSetFigures(prefix: string, value: unknown, n: number): Record<string, number> {
  const entry = cacheEntry(value);
  const figures: Record<string, number> = {};
  const json = Buffer.from(JSON.stringify(entry));
  figures[`${prefix}JsonBytes`] = json.length;
  figures[`${prefix}JsonUs`] =
    nsPerOp(() => {
      Buffer.from(JSON.stringify(entry));
      JSON.parse(json.toString('utf8'));
    }, n) / 1000;
  for (const [kind, codec] of [
    ['Msgpack', packr(false)],
    ['Records', packr(true)],
  ] as const) {
    const packed = Buffer.from(codec.pack(entry));
    figures[`${prefix}${kind}Bytes`] = packed.length;
    figures[`${prefix}${kind}Us`] =
      nsPerOp(() => {
        codec.pack(entry);
        codec.unpack(packed);
      }, n) / 1000;
  }
  return figures;
}

/** Entry sizes (bytes of the value's JSON, roughly) the get+set figures are taken at. */
const GET_SET_SIZES = [1, 4, 8, 16, 64, 256] as const;
/** One tool of {@link toolList} is about 0.93 KB of JSON. */
const TOOL_BYTES = 930;

function getSetSizes(): Record<string, number> {
  let figures: Record<string, number> = {};
  for (const kb of GET_SET_SIZES) {
    // About 2 ms of work per timed batch, so a batch is long next to the timer and short
    // enough to sit between two pauses of a loaded machine.
    const n = Math.max(10, Math.round(1000 / kb));
    const tools = Math.max(1, Math.round((kb * 1024) / TOOL_BYTES));
    figures = { ...figures, ...getSetFigures(`text${kb}k`, recordsResult(kb * 1024), n) };
    figures = { ...figures, ...getSetFigures(`list${kb}k`, toolList(tools), n) };
  }
  return figures;
}

const SMALL_RESULT = {
  content: [{ type: 'text', text: 'Weather in Paris: 18°C, light rain, wind 12 km/h from the south-west.' }],
};

const REDIS_FIGURES: Record<string, string> = {};
for (const [prefix, what] of [
  ['small', 'a small text tool result'],
  ['result', 'the ~100 KB records result'],
  ['list', 'the 50-tool list'],
] as const) {
  REDIS_FIGURES[`${prefix}JsonBytes`] =
    `bytes of a cache entry holding ${what}, JSON (the store's encoding up to 16 KiB)`;
  REDIS_FIGURES[`${prefix}MsgpackBytes`] = `bytes of the same entry, msgpackr`;
  REDIS_FIGURES[`${prefix}JsonSetUs`] = `µs to encode the entry as JSON (median)`;
  REDIS_FIGURES[`${prefix}MsgpackSetUs`] = `µs to encode it with msgpackr (median)`;
  REDIS_FIGURES[`${prefix}JsonGetUs`] = `µs to decode it from JSON (median)`;
  REDIS_FIGURES[`${prefix}MsgpackGetUs`] = `µs to decode it from msgpackr (median)`;
}
for (const kb of GET_SET_SIZES) {
  for (const [shape, what] of [
    ['text', 'a text result (JSON records)'],
    ['list', 'a tools/list'],
  ] as const) {
    const p = `${shape}${kb}k`;
    const entry = `an entry holding ${what} of ~${kb} KB`;
    REDIS_FIGURES[`${p}JsonBytes`] = `bytes of ${entry}, JSON`;
    REDIS_FIGURES[`${p}MsgpackBytes`] = `bytes of ${entry}, plain msgpackr`;
    REDIS_FIGURES[`${p}RecordsBytes`] = `bytes of ${entry}, msgpackr records`;
    REDIS_FIGURES[`${p}JsonUs`] = `µs for one set + one get of ${entry}, JSON (median)`;
    REDIS_FIGURES[`${p}MsgpackUs`] = `µs for one set + one get of ${entry}, plain msgpackr (median)`;
    REDIS_FIGURES[`${p}RecordsUs`] = `µs for one set + one get of ${entry}, msgpackr records (median)`;
  }
}

/** HTTP codings on the two payloads: bytes saved and CPU per response, per level. */
const HTTP_LEVELS = [
  ['gzip1', (b: Buffer) => gzipSync(b, { level: 1 })],
  ['gzip6', (b: Buffer) => gzipSync(b, { level: 6 })],
  ...[1, 3, 4, 5, 6, 11].map(
    (q) =>
      [
        `br${q}`,
        (b: Buffer) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: q } }),
      ] as const,
  ),
] as const;

const HTTP_FIGURES: Record<string, string> = {};
for (const [prefix, what] of [
  ['result', 'the ~100 KB tool result'],
  ['list', 'the 50-tool tools/list'],
] as const) {
  for (const [name] of HTTP_LEVELS) {
    HTTP_FIGURES[`${prefix}_${name}_saved`] = `fraction of the bytes of ${what} saved by ${name}`;
    HTTP_FIGURES[`${prefix}_${name}_us`] = `µs of CPU to compress ${what} with ${name} (median)`;
  }
}

function httpFigures(): ExperimentResult {
  const figures: Record<string, number> = {};
  for (const [prefix, message] of [
    ['result', { jsonrpc: '2.0', id: 7, result: recordsResult() }],
    ['list', { jsonrpc: '2.0', id: 7, result: toolList() }],
  ] as const) {
    const body = Buffer.from(JSON.stringify(message));
    for (const [name, compress] of HTTP_LEVELS) {
      figures[`${prefix}_${name}_saved`] = 1 - compress(body).length / body.length;
      figures[`${prefix}_${name}_us`] = nsPerOp(() => compress(body), name === 'br11' ? 3 : 20, 5) / 1000;
    }
  }
  return { figures };
}

/** Compression scenarios, keyed by the names budgets use. */
export const compressionScenarios: ScenarioSet = {
  'compression.codec.stdio.100kb': {
    kind: 'compare',
    description: 'stdio child process, a ~100 KB tool result: the SDK stdio pair vs the codec pair (msgpack)',
    baseline: variant('sdk', callPayload),
    candidate: variant('codec', callPayload),
    rounds: 12,
  },
  'compression.codec.stdio.tools-list': {
    kind: 'compare',
    description: 'stdio child process, a 50-tool tools/list: the SDK stdio pair vs the codec pair (msgpack)',
    baseline: variant('sdk', listTools),
    candidate: variant('codec', listTools),
    rounds: 12,
  },
  'compression.codec.bytes': {
    kind: 'experiment',
    description: 'bytes the client reads for one tools/list and one ~100 KB result, codec off (JSON) and on',
    figures: {
      listBytesJson: 'bytes of one 50-tool tools/list answer as JSON',
      listBytesCodec: 'bytes of the same answer as a codec frame',
      listBytesSaved: 'fraction of the list bytes saved by the codec',
      resultBytesJson: 'bytes of one ~100 KB tool result answer as JSON',
      resultBytesCodec: 'bytes of the same answer as a codec frame',
      resultBytesSaved: 'fraction of the result bytes saved by the codec',
    },
    run: wireBytes,
  },
  'compression.codec.formats': {
    kind: 'experiment',
    description:
      'JSON vs plain MessagePack vs msgpackr records on MCP messages: bytes, encode and decode time',
    figures: FORMAT_FIGURES,
    run: formats,
  },
  'compression.http': {
    kind: 'experiment',
    description:
      'HTTP codings (gzip 1/6, brotli 1–6 and 11) on the two payloads: bytes saved and CPU per response',
    figures: HTTP_FIGURES,
    run: async () => httpFigures(),
  },
  'compression.redis-values': {
    kind: 'experiment',
    description:
      'Redis cache entries: JSON vs msgpackr (plain and records), bytes and set + get CPU from 1 to 256 KB',
    figures: REDIS_FIGURES,
    run: async () => ({
      figures: {
        ...redisFigures('small', SMALL_RESULT),
        ...redisFigures('result', recordsResult()),
        ...redisFigures('list', toolList()),
        ...getSetSizes(),
      },
    }),
  },
};
