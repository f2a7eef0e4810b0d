/**
 * `mcp-perf bench`: a thin shell over `runBench` — reads the files, draws the progress
 * bar, writes the reports, names every breached budget and exits 1 on a breach.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { comparisonsOf, writeBenchReports } from '../bench/report.js';
import { type BenchConfig, type BenchProgress, runBench } from '../bench/run.js';
import type { BenchTarget } from '../bench/target.js';
import { loadConfigFile } from '../config/load.js';
import { createStack } from '../config/stack.js';
import { isInvalidOptionError } from '../errors/index.js';
import { parseDuration } from '../load/workload.js';
import { log } from './log.js';

/** `bench --help`. */
export const BENCH_HELP = `Usage: mcp-perf bench (--stdio "<command>" | --url <url> | --module <file>) [options]

Measures an MCP server under a workload and checks budgets: latency percentiles,
throughput, error rate, tokens per response, cache hit rate — absolute, or as ratios
against a baseline server measured in the same run (interleaved A/B). Exit status 1
when a budget is breached (each breach is named on stderr), 2 on a usage error.

Target (one of):
  --stdio "<command>"     start this server and speak MCP over its stdio
  --url <url>             a Streamable HTTP endpoint (loopback only unless --allow-remote)
  --module <file>         a module exporting a server factory (createServer or default),
                          run in this process over an in-memory pair
  --export <name>         the factory's export name, with --module

What to measure:
  --workload <file>       workload JSON (the load generator's format; may carry rate,
                          concurrency, duration, requests). Default: tools/list
  --budgets <file>        budgets JSON. Default: none (measure and report only)
  --baseline "<command>"  a reference server (e.g. the main branch's build) measured
                          interleaved with the target; ratio budgets compare against it
  --baseline-url <url>    the reference as a Streamable HTTP endpoint
  --config <file>         an mcp-perf config: also measure the target through the proxy
                          with this stack ("stacked" run, compared with the bare server)

Bounds:
  --rate <n> | --concurrency <n>   open or closed loop (default: the workload's, else concurrency 1)
  --duration <t>          sending time of each load run: 500ms, 10s, 2m (default 5s)
  --requests <n>          stop each load run after n requests
  --ab-rounds <n>         interleaved A/B rounds (default 20)
  --ab-round-time <t>     time per side per round (default 100ms)
  --no-remeasure          judge a breached ratio budget on the first A/B measurement
                          alone (default: measure again with twice the rounds, and fail
                          only when the re-measured median and its better quartile breach)
  --timeout <t>           per-request timeout (default 30s)
  --allow-remote          permit a non-loopback --url / --baseline-url

Outputs:
  --out <dir>             write bench.json, junit.xml, summary.md and SVG charts here
  --json <file> --junit <file> --markdown <file> --svg <dir>   (each on its own)
  --quiet                 no progress bar and no summary on stderr
  -h, --help              this help

Examples:
  mcp-perf bench --stdio "node dist/server.js" --workload bench/workload.json --budgets bench/budgets.json --out bench-results
  mcp-perf bench --stdio "node dist/server.js" --baseline "node ../main/dist/server.js" --budgets budgets.json
  mcp-perf bench --module ./dist/server.js --config mcp-perf.yaml --duration 3s --junit junit.xml
  mcp-perf bench --url http://127.0.0.1:3000/mcp --concurrency 8 --requests 5000
`;

class UsageError extends Error {}

function duration(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(
      `--${option} must be a duration like 500ms, 10s or 2m (got ${JSON.stringify(text)})`,
    );
  return ms;
}

function number(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${option} must be a number (got ${JSON.stringify(text)})`);
  return n;
}

async function readJson(option: string, path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--${option}: cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${option}: ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

function bar(p: BenchProgress): void {
  const width = 24;
  const done = Math.round(Math.min(1, Math.max(0, p.fraction)) * width);
  process.stderr.write(
    `\r[${'#'.repeat(done).padEnd(width, '.')}] ${p.phaseIndex + 1}/${p.phases} ${p.phase.padEnd(26)}`,
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stdio: { type: 'string' },
      url: { type: 'string' },
      module: { type: 'string' },
      export: { type: 'string' },
      workload: { type: 'string' },
      budgets: { type: 'string' },
      baseline: { type: 'string' },
      'baseline-url': { type: 'string' },
      config: { type: 'string', short: 'c' },
      rate: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      requests: { type: 'string' },
      'ab-rounds': { type: 'string' },
      'ab-round-time': { type: 'string' },
      'no-remeasure': { type: 'boolean', default: false },
      timeout: { type: 'string' },
      'allow-remote': { type: 'boolean', default: false },
      out: { type: 'string' },
      json: { type: 'string' },
      junit: { type: 'string' },
      markdown: { type: 'string' },
      svg: { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const given = (['stdio', 'url', 'module'] as const).filter((k) => values[k] !== undefined);
  if (given.length !== 1)
    throw new UsageError('give exactly one target: --stdio "<command>", --url <url> or --module <file>');
  const target: BenchTarget =
    values.stdio !== undefined
      ? { stdio: values.stdio }
      : values.url !== undefined
        ? { url: values.url }
        : { module: values.module!, ...(values.export !== undefined ? { export: values.export } : {}) };
  if (values.baseline !== undefined && values['baseline-url'] !== undefined) {
    throw new UsageError('give either --baseline or --baseline-url, not both');
  }
  const baseline: BenchTarget | undefined =
    values.baseline !== undefined
      ? { stdio: values.baseline }
      : values['baseline-url'] !== undefined
        ? { url: values['baseline-url'] }
        : undefined;
  const workload = values.workload !== undefined ? await readJson('workload', values.workload) : undefined;
  const budgets = values.budgets !== undefined ? await readJson('budgets', values.budgets) : undefined;
  const stack =
    values.config !== undefined ? await createStack(await loadConfigFile(values.config)) : undefined;
  const rate = number('rate', values.rate);
  const concurrency = number('concurrency', values.concurrency);
  const durationMs = duration('duration', values.duration);
  const maxRequests = number('requests', values.requests);
  const rounds = number('ab-rounds', values['ab-rounds']);
  const timePerRoundMs = duration('ab-round-time', values['ab-round-time']);
  const timeoutMs = duration('timeout', values.timeout);
  const showProgress = !values.quiet && process.stderr.isTTY === true;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const config: BenchConfig = {
    target,
    ...(baseline ? { baseline } : {}),
    ...(workload !== undefined ? { workload } : {}),
    ...(budgets !== undefined ? { budgets } : {}),
    ...(stack ? { stack: stack.middleware } : {}),
    ...(rate !== undefined ? { rate } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(maxRequests !== undefined ? { maxRequests } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ab: {
      ...(rounds !== undefined ? { rounds } : {}),
      ...(timePerRoundMs !== undefined ? { timePerRoundMs } : {}),
      ...(values['no-remeasure'] ? { remeasure: false } : {}),
    },
    allowRemote: values['allow-remote'],
    signal: abort.signal,
    ...(showProgress ? { onProgress: bar } : {}),
  };
  let result: Awaited<ReturnType<typeof runBench>>;
  try {
    result = await runBench(config);
  } finally {
    process.off('SIGINT', onSigint);
    if (showProgress) process.stderr.write('\n');
    await stack?.close();
  }
  const out = values.out;
  await writeBenchReports(result, {
    ...((values.json ?? out) ? { json: values.json ?? join(out!, 'bench.json') } : {}),
    ...((values.junit ?? out) ? { junit: values.junit ?? join(out!, 'junit.xml') } : {}),
    ...((values.markdown ?? out) ? { markdown: values.markdown ?? join(out!, 'summary.md') } : {}),
    ...((values.svg ?? out) ? { svgDir: values.svg ?? out! } : {}),
  });
  if (!values.quiet) {
    const t = result.runs.target.load;
    log(
      `target: ${t.sent} requests, ${t.throughput.toFixed(1)} ok/s, p50 ${t.latencyMs.p50.toFixed(3)} ms, p99 ${t.latencyMs.p99.toFixed(3)} ms, ${t.failed} failed`,
    );
    for (const c of comparisonsOf(result)) {
      log(`${c.name}: p50 ratio ${c.p50Ratio.toFixed(3)}, mean ratio ${c.meanRatio.toFixed(3)}`);
    }
    if (result.selfCost) {
      log(
        `bench tool's own cost per request: p50 ${result.selfCost.p50Us.toFixed(1)} µs, CPU ${result.selfCost.cpuUsPerRequest.toFixed(1)} µs`,
      );
    }
    for (const v of result.verdicts) if (v.status === 'pass') log(`budget ok: ${v.budget.id}: ${v.message}`);
  }
  for (const v of result.verdicts) {
    if (v.status === 'noisy') log(`budget ok but noisy: ${v.budget.id}: ${v.message}`);
    else if (v.status !== 'pass') log(`budget breached: ${v.budget.id}: ${v.message}`);
  }
  return result.passed ? 0 : 1;
}

/** Runs the bench command; resolves with the exit code (0 pass, 1 breach, 2 usage error). */
export async function runBenchCommand(argv: readonly string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (
      error instanceof UsageError ||
      isInvalidOptionError(error) ||
      (error as Error)?.name === 'ConfigError' ||
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
    ) {
      log(`bench: ${(error as Error).message}`);
      if (error instanceof UsageError) process.stderr.write(`\n${BENCH_HELP}`);
      return 2;
    }
    throw error;
  }
}
