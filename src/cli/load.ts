/**
 * `mcp-perf load`: the load generator, command line.
 *
 *   mcp-perf load --stdio "node server.js" --rate 200 --duration 10s
 *   mcp-perf load --url http://127.0.0.1:3000/mcp --concurrency 8 --workload w.json
 *
 * Prints latency percentiles, throughput, errors by kind and a per-second timeline on
 * stdout (or the raw result with --json); a progress bar goes to stderr when it is a
 * terminal. Run with --help for every option.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isInvalidOptionError } from '../errors/index.js';
import { type LoadProgress, type LoadResult, readLoadShape, runLoad } from '../load/index.js';
import type { LoadTarget } from '../load/target.js';

/** `load --help`. */
export const LOAD_HELP = `Usage: mcp-perf load (--stdio "<command>" | --url <url>) [options]

Drives an MCP server at a fixed rate (open loop) or concurrency (closed loop) for a
bounded time and request count; prints latency percentiles, throughput, errors by kind
and a per-second timeline. Exit status 2 when any request failed.

Target (one of):
  --stdio "<command>"   start this MCP server (with this environment) and speak to it over stdio
  --url <url>           a Streamable HTTP endpoint (loopback only unless --allow-remote)

Load shape:
  --rate <n>            open loop: n requests per second, on schedule
  --concurrency <n>     closed loop: n requests in flight (default 1 when no --rate)
  --duration <t>        how long to send: 500ms, 10s, 2m (default 10s, or the workload file's)
  --requests <n>        stop after n requests
  --timeout <t>         per-request timeout (default 30s)

What to send:
  --workload <file>     a workload JSON file (operations with weights and generators)
  --tool <name>         call this tool (instead of a workload file)
  --args <json>         the tool's arguments (default {})
  --seed <n>            seed for the workload's random draws (default 1)

Output:
  --json                print the full result as JSON instead of tables
  --out <file>          also write the full result as JSON to <file>
  --allow-remote        permit a --url that is not a loopback address
  -h, --help            this text

Examples:
  mcp-perf load --stdio "node server.js" --rate 200 --duration 10s
  mcp-perf load --url http://127.0.0.1:3000/mcp --concurrency 8 --workload workload.json
  mcp-perf load --stdio "python server.py" --tool search --args '{"q":"mcp"}' --requests 1000
`;

/** Parses `500ms`, `10s`, `2m` or a bare number of seconds into ms. */
function parseDuration(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `--${option} must be a duration like 500ms, 10s or 2m (got ${JSON.stringify(text)})`,
    );
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function parseNumber(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new UsageError(`--${option} must be a number (got ${JSON.stringify(text)})`);
  return n;
}

class UsageError extends Error {}

function fmt(ms: number | null): string {
  if (ms === null) return '-';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function progressBar(p: LoadProgress): void {
  const width = 30;
  const done = Math.min(1, p.elapsedMs / p.durationMs);
  const bar = '#'.repeat(Math.round(done * width)).padEnd(width, '.');
  process.stderr.write(
    `\r[${bar}] ${(p.elapsedMs / 1000).toFixed(1)}s sent ${p.sent} done ${p.completed} err ${p.errors} in-flight ${p.inFlight}   `,
  );
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    )
    .join('\n');
}

function print(r: LoadResult): void {
  const shape =
    r.mode === 'open' ? `open loop, ${r.rate}/s offered` : `closed loop, concurrency ${r.concurrency}`;
  const lines = [
    `target      ${r.target}`,
    `load        ${shape}, ${r.durationMs / 1000}s`,
    `requests    sent ${r.sent}${r.scheduled !== undefined ? ` of ${r.scheduled} scheduled` : ''}, ok ${r.succeeded}, failed ${r.failed}, max in flight ${r.maxInFlight}`,
    `throughput  ${r.throughput.toFixed(1)} ok/s over ${(r.elapsedMs / 1000).toFixed(2)}s`,
    '',
    table([
      ['latency (ms)', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean'],
      ...[
        ['from due time', r.latencyMs],
        ['from send', r.serviceTimeMs],
      ].map(([label, s]) => {
        const l = s as LoadResult['latencyMs'];
        return [label as string, fmt(l.p50), fmt(l.p90), fmt(l.p99), fmt(l.p999), fmt(l.max), fmt(l.mean)];
      }),
    ]),
    '',
    table([
      ['operation', 'sent', 'ok', 'errors', 'p50 ms', 'p99 ms'],
      ...Object.entries(r.operations).map(([label, o]) => [
        label,
        String(o.sent),
        String(o.succeeded),
        String(o.errors),
        fmt(o.p50Ms),
        fmt(o.p99Ms),
      ]),
    ]),
  ];
  if (r.failed > 0) {
    lines.push('', 'errors by kind:', ...Object.entries(r.errors).map(([k, n]) => `  ${k.padEnd(12)} ${n}`));
  }
  lines.push(
    '',
    table([
      ['second', 'sent', 'ok', 'errors', 'in-flight max', 'p50 ms', 'p99 ms'],
      ...r.timeline.map((t) => [
        String(t.second),
        String(t.sent),
        String(t.succeeded),
        String(t.errors),
        String(t.inFlightMax),
        fmt(t.p50Ms),
        fmt(t.p99Ms),
      ]),
    ]),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stdio: { type: 'string' },
      url: { type: 'string' },
      rate: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      requests: { type: 'string' },
      timeout: { type: 'string', default: '30s' },
      workload: { type: 'string' },
      tool: { type: 'string' },
      args: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      'allow-remote': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(LOAD_HELP);
    return 0;
  }
  if ((values.stdio === undefined) === (values.url === undefined)) {
    throw new UsageError('give exactly one target: --stdio "<command>" or --url <url>');
  }
  const target: LoadTarget = values.stdio !== undefined ? { stdio: values.stdio } : { url: values.url! };
  if (values.workload !== undefined && values.tool !== undefined) {
    throw new UsageError('give either --workload or --tool, not both');
  }
  let workload: unknown;
  if (values.workload !== undefined) {
    workload = JSON.parse(await readFile(values.workload, 'utf8'));
  } else if (values.tool !== undefined) {
    let args: unknown = {};
    if (values.args !== undefined) {
      try {
        args = JSON.parse(values.args);
      } catch {
        throw new UsageError(`--args must be JSON (got ${JSON.stringify(values.args)})`);
      }
    }
    workload = { operations: [{ method: 'tools/call', name: values.tool, arguments: args }] };
  }
  const shape = readLoadShape(workload);
  const rate =
    parseNumber('rate', values.rate) ?? (values.concurrency === undefined ? shape.rate : undefined);
  const concurrency =
    parseNumber('concurrency', values.concurrency) ??
    (rate === undefined ? (shape.concurrency ?? 1) : undefined);
  const showProgress = process.stderr.isTTY === true && !values.json;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const maxRequests = parseNumber('requests', values.requests) ?? shape.maxRequests;
  const seed = parseNumber('seed', values.seed) ?? shape.seed;
  const result = await runLoad({
    target,
    ...(rate !== undefined ? { rate } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    durationMs:
      values.duration !== undefined
        ? parseDuration('duration', values.duration)
        : (shape.durationMs ?? 10_000),
    timeoutMs: parseDuration('timeout', values.timeout!),
    ...(maxRequests !== undefined ? { maxRequests } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(workload !== undefined ? { workload } : {}),
    allowRemote: values['allow-remote'],
    signal: abort.signal,
    ...(showProgress ? { onProgress: progressBar } : {}),
  });
  if (showProgress) process.stderr.write('\n');
  if (values.out !== undefined) await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else print(result);
  return result.failed > 0 ? 2 : 0;
}

/** Runs the load command; resolves with the process exit code (64 on a usage error). */
export async function runLoadCommand(argv: readonly string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    if (
      error instanceof UsageError ||
      isInvalidOptionError(error) ||
      (error as { code?: unknown })?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      error instanceof SyntaxError
    ) {
      process.stderr.write(
        `mcp-perf load: ${(error as Error).message}\n\n${error instanceof UsageError ? LOAD_HELP : ''}`,
      );
      return 64;
    }
    throw error;
  }
}
