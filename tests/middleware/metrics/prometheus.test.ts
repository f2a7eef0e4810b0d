import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { prometheusExporter } from '../../../src/entries/prometheus.js';
import { isInvalidOptionError, type Middleware, OverloadedError } from '../../../src/index.js';
import { metrics } from '../../../src/middleware/metrics/index.js';
import { connectPair } from '../../helpers/servers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples and the declared types. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a valid sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

function pick(samples: Sample[], name: string, labels: Record<string, string>): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

describe('prometheusExporter', () => {
  it('exposes histograms, quantiles, counters and gauges in a real prom-client registry', async () => {
    const shed: Middleware = async (ctx, next) => {
      if (ctx.params?.name === 'add') {
        throw new OverloadedError('limit reached', { retryAfterMs: 10, scope: 'global', limit: 1 });
      }
      if (ctx.params?.name === 'echo') ctx.state.cache = 'miss';
      return next();
    };
    const source = {
      name: 'concurrency',
      stats: () => ({ running: 2, queued: 5, shed: 7, scopes: { tool: { queued: 4 } } }),
    };
    const m = metrics({ tokens: 'approximate', bytes: true, sources: [source] });
    const registry = new Registry();
    const existing = new Counter({ name: 'app_requests_total', help: 'the app', registers: [registry] });
    existing.inc(3);
    const exporter = prometheusExporter(m, { registry, prefix: 'x_' });

    const pair = await connectPair({ server: [m, shed] });
    await pair.client.listTools();
    for (let i = 0; i < 3; i++) await pair.client.callTool({ name: 'echo', arguments: { text: `t${i}` } });
    await pair.client.callTool({ name: 'fail', arguments: {} });
    await assert.rejects(pair.client.callTool({ name: 'add', arguments: { a: 1, b: 2 } }));

    const { samples, types } = parse(await registry.metrics());
    assert.equal(pick(samples, 'app_requests_total', {})[0]?.value, 3, "the application's own metrics stay");
    const duration = 'x_mcp_server_operation_duration_seconds';
    assert.equal(types.get(duration), 'histogram');
    const echo = { mcp_method_name: 'tools/call', gen_ai_tool_name: 'echo' };
    const buckets = pick(samples, `${duration}_bucket`, echo).filter(
      (s) => s.labels.error_type === undefined,
    );
    assert.equal(buckets.length, 15, '14 advised boundaries and +Inf');
    assert.deepEqual(
      buckets.map((b) => b.labels.le),
      ['0.01', '0.02', '0.05', '0.1', '0.2', '0.5', '1', '2', '5', '10', '30', '60', '120', '300', '+Inf'],
    );
    assert.ok(
      buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1]!.value),
      'cumulative buckets',
    );
    assert.equal(buckets.at(-1)?.value, 3);
    assert.equal(pick(samples, `${duration}_count`, echo)[0]?.value, 3);
    const sum = pick(samples, `${duration}_sum`, echo)[0]!.value;
    assert.ok(sum > 0 && sum < 3, `sum in seconds (${sum})`);
    assert.equal(
      pick(samples, `${duration}_count`, { gen_ai_tool_name: 'fail', error_type: 'tool_error' })[0]?.value,
      1,
    );
    assert.equal(
      pick(samples, `${duration}_count`, { gen_ai_tool_name: 'add', error_type: 'shed' })[0]?.value,
      1,
    );

    const quantiles = pick(samples, 'x_mcp_server_operation_duration_quantile_seconds', {
      ...echo,
      window: 'cumulative',
    });
    assert.deepEqual(
      quantiles.map((q) => q.labels.quantile),
      ['0.5', '0.9', '0.95', '0.99', '0.999'],
    );
    assert.ok(quantiles.every((q) => q.value > 0 && q.value < 1));
    assert.equal(
      pick(samples, 'x_mcp_server_operation_duration_quantile_seconds', { ...echo, window: 'recent' }).length,
      5,
    );

    assert.equal(types.get('x_mcp_server_requests_total'), 'counter');
    assert.equal(pick(samples, 'x_mcp_server_requests_total', { ...echo, outcome: 'ok' })[0]?.value, 3);
    assert.equal(
      pick(samples, 'x_mcp_server_requests_total', { mcp_method_name: 'tools/list', outcome: 'ok' })[0]
        ?.labels.gen_ai_tool_name,
      undefined,
      'no tool label outside tools/call',
    );
    assert.equal(
      pick(samples, 'x_mcp_server_errors_total', { gen_ai_tool_name: 'add', error_type: '-31503' })[0]?.value,
      1,
    );
    assert.equal(
      pick(samples, 'x_mcp_server_errors_total', { gen_ai_tool_name: 'fail', error_type: 'tool_error' })[0]
        ?.value,
      1,
    );
    assert.equal(pick(samples, 'x_mcp_server_requests_in_flight', {})[0]?.value, 0);
    assert.equal(
      pick(samples, 'x_mcp_server_cache_requests_total', { ...echo, cache_status: 'miss' })[0]?.value,
      3,
    );
    const tokensOut = pick(samples, 'x_mcp_server_tokens_total', { ...echo, direction: 'output' })[0]?.value;
    assert.ok((tokensOut ?? 0) >= 3, `tokens out (${tokensOut})`);
    assert.equal(pick(samples, 'x_mcp_server_token_counted_requests_total', echo)[0]?.value, 3);
    const bytesIn = pick(samples, 'x_mcp_server_bytes_total', { ...echo, direction: 'input' })[0]?.value;
    assert.equal(bytesIn, 3 * JSON.stringify({ name: 'echo', arguments: { text: 't0' } }).length);
    assert.equal(pick(samples, 'x_mcp_source_queue_depth', { source: 'concurrency' })[0]?.value, 5);
    assert.equal(
      pick(samples, 'x_mcp_source_queue_depth', { source: 'concurrency', scope: 'tool' })[0]?.value,
      4,
    );
    assert.equal(
      pick(samples, 'x_mcp_source_stat', { source: 'concurrency', stat: 'scopes.tool.queued' })[0]?.value,
      4,
    );
    assert.equal(pick(samples, 'x_mcp_source_running', { source: 'concurrency' })[0]?.value, 2);
    assert.equal(pick(samples, 'x_mcp_source_shed_total', { source: 'concurrency' })[0]?.value, 7);
    assert.equal(types.get('x_mcp_client_operation_duration_seconds'), 'histogram');
    assert.equal(pick(samples, 'x_mcp_client_operation_duration_seconds_count', {}).length, 0);
    assert.ok((pick(samples, 'x_mcp_recent_requests_per_second', {})[0]?.value ?? 0) > 0);

    exporter.unregister();
    assert.ok(!(await registry.metrics()).includes('x_mcp_'));
    await pair.close();
  });

  it('computes nothing until scraped, and reads the latest figures on each scrape', async () => {
    const m = metrics();
    const registry = new Registry();
    prometheusExporter(m, { registry });
    const pair = await connectPair({ server: [m] });
    await pair.client.ping();
    let { samples } = parse(await registry.metrics());
    assert.equal(pick(samples, 'mcp_server_requests_total', { mcp_method_name: 'ping' })[0]?.value, 1);
    await pair.client.ping();
    ({ samples } = parse(await registry.metrics()));
    assert.equal(pick(samples, 'mcp_server_requests_total', { mcp_method_name: 'ping' })[0]?.value, 2);
    await pair.close();
  });

  it('validates its arguments', () => {
    const registry = new Registry();
    const bad: [string, () => unknown][] = [
      ['(metrics)', () => prometheusExporter({} as never, { registry })],
      ['registry', () => prometheusExporter(metrics(), { registry: {} as never })],
      ['prefix', () => prometheusExporter(metrics(), { registry, prefix: '1x' })],
      ['buckets', () => prometheusExporter(metrics(), { registry, buckets: [1, 0.5] })],
    ];
    for (const [option, run] of bad) {
      assert.throws(run, (e: unknown) => isInvalidOptionError(e) && e.option === option, option);
    }
    prometheusExporter(metrics(), { registry });
    assert.throws(
      () => prometheusExporter(metrics(), { registry }),
      (e: unknown) => isInvalidOptionError(e) && /mcp_server_operation_duration_seconds/.test(e.message),
    );
  });
});
