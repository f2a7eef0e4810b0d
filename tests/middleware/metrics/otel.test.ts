import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { MCP_DURATION_BUCKETS, OTEL_DEFAULTS, otel } from '../../../src/entries/otel.js';
import {
  isInvalidOptionError,
  type JsonObject,
  type Middleware,
  OverloadedError,
} from '../../../src/index.js';
import { connectPair } from '../../helpers/servers.js';

class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** An SDK tracer and meter whose output the test reads back. */
function sdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    spans,
    tracer: tracerProvider.getTracer('test'),
    meter: meterProvider.getMeter('test'),
    async points(name: string) {
      const { resourceMetrics } = await reader.collect();
      const metric = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .find((m) => m.descriptor.name === name);
      return {
        unit: metric?.descriptor.unit,
        points: (metric?.dataPoints ?? []) as DataPoint<Histogram>[],
      };
    },
  };
}

describe('otel', () => {
  it('documents its defaults and validates its options', () => {
    assert.deepEqual(
      { ...OTEL_DEFAULTS },
      { instrumentationName: 'mcp-perf', traces: true, metrics: true, propagate: true, maxNames: 100 },
    );
    for (const [option, value] of [
      ['traces', { traces: 'yes' }],
      ['metrics', { metrics: 1 }],
      ['propagate', { propagate: null }],
      ['tracer', { tracer: {} }],
      ['meter', { meter: {} }],
      ['propagator', { propagator: {} }],
      ['maxNames', { maxNames: 0 }],
    ] as const) {
      assert.throws(
        () => otel(value as never),
        (e: unknown) => isInvalidOptionError(e) && e.option === option,
      );
    }
  });

  it('records the server duration histogram with the conventions’ attributes and buckets', async () => {
    const t = sdk();
    const shed: Middleware = async (ctx, next) => {
      if (ctx.params?.name === 'add') {
        throw new OverloadedError('limit reached', { retryAfterMs: 5, scope: 'global', limit: 1 });
      }
      return next();
    };
    const pair = await connectPair({ server: [otel({ tracer: t.tracer, meter: t.meter }), shed] });
    await pair.client.callTool({ name: 'echo', arguments: { text: 'a' } });
    await pair.client.callTool({ name: 'fail', arguments: {} });
    await assert.rejects(pair.client.callTool({ name: 'add', arguments: { a: 1, b: 1 } }));
    await assert.rejects(pair.client.getPrompt({ name: 'missing' }));
    const { unit, points } = await t.points('mcp.server.operation.duration');
    assert.equal(unit, 's');
    const find = (attrs: Record<string, string>) =>
      points.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
    const echo = find({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo' });
    assert.equal(echo?.value.count, 1);
    assert.equal(echo?.attributes['error.type'], undefined);
    assert.deepEqual(echo?.value.buckets.boundaries, MCP_DURATION_BUCKETS);
    assert.ok((echo?.value.sum ?? 1) < 1, 'seconds');
    assert.equal(find({ 'gen_ai.tool.name': 'fail' })?.attributes['error.type'], 'tool_error');
    const shedPoint = find({ 'gen_ai.tool.name': 'add' });
    assert.equal(shedPoint?.attributes['error.type'], '-31503');
    assert.equal(shedPoint?.attributes['rpc.response.status_code'], '-31503');
    const prompt = find({ 'mcp.method.name': 'prompts/get' });
    assert.equal(prompt?.attributes['gen_ai.prompt.name'], 'missing');
    assert.equal(prompt?.attributes['error.type'], '-32602');
    assert.ok(find({ 'mcp.method.name': 'initialize' }));
    assert.equal((await t.points('mcp.client.operation.duration')).points.length, 0);

    const spans = t.spans.getFinishedSpans();
    const echoSpan = spans.find((s) => s.name === 'tools/call echo');
    assert.equal(echoSpan?.kind, SpanKind.SERVER);
    assert.equal(echoSpan?.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(echoSpan?.attributes['mcp.protocol.version'], '2025-11-25');
    assert.equal(typeof echoSpan?.attributes['jsonrpc.request.id'], 'string');
    const addSpan = spans.find((s) => s.name === 'tools/call add');
    assert.equal(addSpan?.status.code, SpanStatusCode.ERROR);
    assert.equal(addSpan?.status.message, 'limit reached');
    assert.equal(spans.find((s) => s.name === 'tools/call fail')?.status.code, SpanStatusCode.ERROR);
    assert.ok(spans.find((s) => s.name === 'prompts/get missing'));
    await pair.close();
  });

  it('propagates trace context from the client span to the server span over a real transport', async () => {
    const t = sdk();
    const seen: JsonObject[] = [];
    const spy: Middleware = async (ctx, next) => {
      if (ctx.method === 'tools/call') seen.push(ctx.message.params?._meta as JsonObject);
      return next();
    };
    const pair = await connectPair({
      client: [otel({ tracer: t.tracer, meter: t.meter })],
      server: [spy, otel({ tracer: t.tracer, meter: t.meter })],
    });
    const args = { name: 'progress', arguments: { steps: 2 } };
    const progress: number[] = [];
    await pair.client.callTool(args, undefined, { onprogress: (p) => progress.push(p.progress) });
    assert.deepEqual(progress, [1, 2], 'the progress token survives the _meta copy');
    assert.deepEqual(
      args,
      { name: 'progress', arguments: { steps: 2 } },
      "the caller's params are untouched",
    );

    const spans = t.spans.getFinishedSpans().filter((s) => s.name === 'tools/call progress');
    const client = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    assert.ok(client && server);
    assert.equal(server.spanContext().traceId, client.spanContext().traceId);
    assert.equal(server.parentSpanContext?.spanId, client.spanContext().spanId);
    assert.equal(server.parentSpanContext?.isRemote, true);
    const traceparent = seen[0]?.traceparent as string;
    assert.equal(traceparent, `00-${client.spanContext().traceId}-${client.spanContext().spanId}-01`);
    assert.equal(typeof seen[0]?.progressToken, 'number');

    const { points } = await t.points('mcp.client.operation.duration');
    assert.ok(points.find((p) => p.attributes['gen_ai.tool.name'] === 'progress'));
    await pair.close();
  });

  it('carries tracestate, ignores malformed traceparents and links nothing without an ambient span', async () => {
    const t = sdk();
    const pair = await connectPair({ server: [otel({ tracer: t.tracer, meter: t.meter, metrics: false })] });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await pair.client.callTool({
      name: 'echo',
      arguments: { text: 'a' },
      _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'rojo=00f067aa0ba902b7' },
    });
    await pair.client.callTool({
      name: 'add',
      arguments: { a: 1, b: 2 },
      _meta: { traceparent: 'nonsense' },
    });
    const spans = t.spans.getFinishedSpans();
    const echo = spans.find((s) => s.name === 'tools/call echo')!;
    assert.equal(echo.spanContext().traceId, traceId);
    assert.equal(echo.parentSpanContext?.spanId, '00f067aa0ba902b7');
    assert.equal(echo.spanContext().traceState?.get('rojo'), '00f067aa0ba902b7');
    assert.deepEqual(echo.links, []);
    const add = spans.find((s) => s.name === 'tools/call add')!;
    assert.equal(add.parentSpanContext, undefined, 'a malformed traceparent starts a new trace');
    await pair.close();
  });

  it('is a no-op without an SDK', async () => {
    const pair = await connectPair({ server: [otel()], client: [otel()] });
    const result = await pair.client.callTool({ name: 'echo', arguments: { text: 'x' } });
    assert.deepEqual(result.content, [{ type: 'text', text: 'x' }]);
    assert.equal(trace.getActiveSpan(), undefined);
    await pair.close();
  });
});
