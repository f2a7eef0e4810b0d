/**
 * OpenTelemetry instrumentation following the MCP semantic conventions: duration
 * histograms, a span per request, and W3C trace context carried in `params._meta`.
 * Reached only from the `mcp-perf/otel` entry; depends on `@opentelemetry/api` alone.
 *
 * @module
 */

import {
  type Attributes,
  type Context,
  context,
  createTraceState,
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Histogram,
  isSpanContextValid,
  type Link,
  type Meter,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { JsonObject, MiddlewareObject, Reply, RequestContext } from '../../core/types.js';
import { ErrorCodes, InvalidOptionError, isMcpPerfError } from '../../errors/index.js';
import { now } from '../../internal/clock.js';
import { positiveInteger } from '../../internal/validate.js';
import { type Classified, classifyReply, classifyThrown } from './classify.js';
import { CANCELLED, TIMEOUT } from './outcomes.js';

/** Options of {@link otel}. Defaults in {@link OTEL_DEFAULTS}. */
export interface OtelOptions {
  /** The tracer for spans. Default: `trace.getTracer('mcp-perf')` (the global provider). */
  tracer?: Tracer;
  /**
   * The meter for the duration histograms. Default: `metrics.getMeter('mcp-perf')` from the
   * global provider, looked up on the first request so that an SDK registered after this
   * middleware was created is still used.
   */
  meter?: Meter;
  /** Create a span per request. Default true. */
  traces?: boolean;
  /** Record `mcp.{server,client}.operation.duration`. Default true. */
  metrics?: boolean;
  /**
   * Carry trace context in `params._meta`: a client injects it (into a copy of the
   * params), a server extracts it and makes its span a child of the client's. Default true.
   */
  propagate?: boolean;
  /**
   * The propagator that reads and writes `params._meta`. Default: a built-in W3C Trace
   * Context codec (`traceparent`, `tracestate`), independent of the global propagator.
   * Pass `propagation` from `@opentelemetry/api` to use the globally configured one
   * (e.g. to carry `baggage` as well).
   */
  propagator?: TextMapPropagator;
  /**
   * Distinct tool and prompt names used in span names and metric attributes; further
   * names become `_OTHER`. Default 100.
   */
  maxNames?: number;
}

/** The defaults of {@link OtelOptions}. */
export const OTEL_DEFAULTS = Object.freeze({
  /** The name the default tracer and meter are obtained under. */
  instrumentationName: 'mcp-perf',
  /** {@link OtelOptions.traces}. */
  traces: true,
  /** {@link OtelOptions.metrics}. */
  metrics: true,
  /** {@link OtelOptions.propagate}. */
  propagate: true,
  /** {@link OtelOptions.maxNames}. */
  maxNames: 100,
});

/**
 * The bucket boundaries (seconds) the MCP conventions advise for the duration histograms.
 */
export const MCP_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300,
]);

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** W3C Trace Context in `params._meta`, as the MCP conventions (SEP-414) specify. */
const w3cPropagator: TextMapPropagator<Record<string, unknown>> = {
  inject(ctx, carrier, setter) {
    const sc = trace.getSpanContext(ctx);
    if (sc === undefined || !isSpanContextValid(sc)) return;
    const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
    setter.set(carrier, 'traceparent', `00-${sc.traceId}-${sc.spanId}-${flags}`);
    const state = sc.traceState?.serialize();
    if (state) setter.set(carrier, 'tracestate', state);
  },
  extract(ctx, carrier, getter) {
    const header = getter.get(carrier, 'traceparent');
    const value = Array.isArray(header) ? header[0] : header;
    if (typeof value !== 'string') return ctx;
    const match = TRACEPARENT.exec(value.trim());
    if (match === null || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return ctx;
    const state = getter.get(carrier, 'tracestate');
    const stateValue = Array.isArray(state) ? state.join(',') : state;
    const sc = {
      traceId: match[2]!,
      spanId: match[3]!,
      traceFlags: Number.parseInt(match[4]!, 16),
      isRemote: true,
      traceState:
        typeof stateValue === 'string' && stateValue !== '' ? createTraceState(stateValue) : undefined,
    };
    return isSpanContextValid(sc) ? trace.setSpanContext(ctx, sc) : ctx;
  },
  fields: () => ['traceparent', 'tracestate'],
};

interface Instruments {
  server: Histogram;
  client: Histogram;
}

function bool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError('otel', option, 'a boolean', value);
  return value;
}

/**
 * OpenTelemetry instrumentation of every request, per the OpenTelemetry MCP semantic
 * conventions:
 *
 * - histograms `mcp.server.operation.duration` (server and proxy side) and
 *   `mcp.client.operation.duration` (client side), in seconds, with the advised buckets
 *   and attributes `mcp.method.name`, `gen_ai.tool.name` / `gen_ai.prompt.name`,
 *   `error.type` (the JSON-RPC code, `tool_error`, `timeout` or `cancelled`) and
 *   `rpc.response.status_code`;
 * - a span per request named `{method} {tool or prompt}`, kind SERVER or CLIENT, status
 *   ERROR with the error message when `error.type` is set, plus `jsonrpc.request.id`,
 *   `mcp.session.id`, `mcp.protocol.version`, `mcp.resource.uri` and
 *   `gen_ai.operation.name` (`execute_tool`);
 * - trace context carried in `params._meta` (`traceparent`, `tracestate`): the client
 *   side injects its span's context into a copy of the params (the caller's object is
 *   not modified); the server side extracts it as the parent of its span and links the
 *   ambient span, if any.
 *
 * The span is left in `ctx.state.otelSpan` for inner middleware. Without a context
 * manager registered (e.g. `@opentelemetry/context-async-hooks`), client spans have no
 * ambient parent; propagation to the server still works since it is explicit.
 *
 * With no OpenTelemetry SDK installed every call is a no-op of a few nanoseconds.
 *
 * @param options - see {@link OtelOptions}
 * @throws InvalidOptionError naming the first invalid option.
 * @example
 * ```ts
 * import { otel } from 'mcp-perf/otel';
 *
 * withMiddleware(server, [otel(), metrics()]);
 * ```
 */
export function otel(options: OtelOptions = {}): MiddlewareObject {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('otel', '(options)', 'an object', options);
  }
  const d = OTEL_DEFAULTS;
  const traces = bool('traces', options.traces, d.traces);
  const recordMetrics = bool('metrics', options.metrics, d.metrics);
  const propagate = bool('propagate', options.propagate, d.propagate);
  if (options.tracer !== undefined && typeof options.tracer?.startSpan !== 'function') {
    throw new InvalidOptionError('otel', 'tracer', 'an OpenTelemetry Tracer', options.tracer);
  }
  if (options.meter !== undefined && typeof options.meter?.createHistogram !== 'function') {
    throw new InvalidOptionError('otel', 'meter', 'an OpenTelemetry Meter', options.meter);
  }
  const propagator = (options.propagator ?? w3cPropagator) as TextMapPropagator<Record<string, unknown>>;
  if (typeof propagator.inject !== 'function' || typeof propagator.extract !== 'function') {
    throw new InvalidOptionError(
      'otel',
      'propagator',
      'an OpenTelemetry TextMapPropagator',
      options.propagator,
    );
  }
  const maxNames = positiveInteger('otel', 'maxNames', options.maxNames, d.maxNames);
  const tracer = options.tracer ?? trace.getTracer(d.instrumentationName);
  let instruments: Instruments | undefined;
  const names = new Set<string>();
  const verdict: Classified = { outcome: 0, errorType: undefined };

  function instrumentsFor(): Instruments {
    if (instruments === undefined) {
      const meter = options.meter ?? metrics.getMeter(d.instrumentationName);
      const advice = { explicitBucketBoundaries: [...MCP_DURATION_BUCKETS] };
      instruments = {
        server: meter.createHistogram('mcp.server.operation.duration', {
          unit: 's',
          description: 'MCP request duration as observed on the receiver.',
          advice,
        }),
        client: meter.createHistogram('mcp.client.operation.duration', {
          unit: 's',
          description: 'MCP request duration as observed on the sender.',
          advice,
        }),
      };
    }
    return instruments;
  }

  function bounded(name: unknown): string | undefined {
    if (typeof name !== 'string') return undefined;
    if (names.has(name)) return name;
    if (names.size >= maxNames) return '_OTHER';
    names.add(name);
    return name;
  }

  function finish(
    ctx: RequestContext,
    span: Span | undefined,
    attributes: Attributes,
    classified: Classified,
    message: string | undefined,
    code: number | undefined,
  ): void {
    const errorType = classified.errorType;
    if (errorType !== undefined) attributes['error.type'] = errorType;
    if (code !== undefined) attributes['rpc.response.status_code'] = String(code);
    if (recordMetrics) {
      const seconds = (now() - ctx.startedAt) / 1000;
      const h = instrumentsFor();
      (ctx.side === 'client' ? h.client : h.server).record(seconds, attributes);
    }
    if (span !== undefined) {
      if (errorType !== undefined) {
        span.setAttribute('error.type', errorType);
        if (code !== undefined) span.setAttribute('rpc.response.status_code', String(code));
        span.setStatus(
          message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message },
        );
      }
      span.end();
    }
  }

  return {
    name: 'otel',
    request: async function otel(ctx, next) {
      const method = ctx.method;
      const params = ctx.message.params;
      const server = ctx.side !== 'client';
      const attributes: Attributes = { 'mcp.method.name': method };
      let target: string | undefined;
      if (method === 'tools/call') {
        target = bounded(params?.name);
        if (target !== undefined) attributes['gen_ai.tool.name'] = target;
      } else if (method === 'prompts/get') {
        target = bounded(params?.name);
        if (target !== undefined) attributes['gen_ai.prompt.name'] = target;
      }
      let span: Span | undefined;
      if (traces) {
        let parent: Context = context.active();
        let links: Link[] | undefined;
        const meta = params?._meta as Record<string, unknown> | undefined;
        if (server && propagate && meta !== undefined) {
          const extracted = propagator.extract(parent, meta, defaultTextMapGetter);
          if (extracted !== parent) {
            const ambient = trace.getSpanContext(parent);
            if (ambient !== undefined && isSpanContextValid(ambient)) links = [{ context: ambient }];
            parent = extracted;
          }
        }
        const spanAttributes: Attributes = { ...attributes, 'jsonrpc.request.id': String(ctx.id) };
        if (method === 'tools/call') spanAttributes['gen_ai.operation.name'] = 'execute_tool';
        const session = ctx.session;
        if (session.sessionId !== undefined) spanAttributes['mcp.session.id'] = session.sessionId;
        if (session.protocolVersion !== undefined)
          spanAttributes['mcp.protocol.version'] = session.protocolVersion;
        if (typeof params?.uri === 'string') spanAttributes['mcp.resource.uri'] = params.uri;
        span = tracer.startSpan(
          target === undefined ? method : `${method} ${target}`,
          { kind: server ? SpanKind.SERVER : SpanKind.CLIENT, attributes: spanAttributes, links },
          parent,
        );
        ctx.state.otelSpan = span;
        if (!server && propagate) inject(ctx, trace.setSpan(parent, span));
      } else if (!server && propagate) {
        inject(ctx, context.active());
      }
      let reply: Reply;
      try {
        reply = await next();
      } catch (error) {
        const classified = classifyThrown(error, verdict);
        const cancelled = classified.outcome === CANCELLED || classified.outcome === TIMEOUT;
        const code = cancelled ? undefined : isMcpPerfError(error) ? error.rpcCode : ErrorCodes.InternalError;
        finish(
          ctx,
          span,
          attributes,
          classified,
          error instanceof Error ? error.message : String(error),
          code,
        );
        throw error;
      }
      const classified = classifyReply(method, reply, ctx.cancelled, verdict);
      finish(ctx, span, attributes, classified, reply.error?.message, reply.error?.code);
      return reply;
    },
  };

  function inject(ctx: RequestContext, active: Context): void {
    const meta: Record<string, unknown> = { ...(ctx.params?._meta as JsonObject | undefined) };
    propagator.inject(active, meta, defaultTextMapSetter);
    if (meta.traceparent === undefined) return;
    ctx.params = { ...ctx.params, _meta: meta };
  }
}
