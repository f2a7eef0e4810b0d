/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, every
 * server scenario) against the everything server three ways — bare, wrapped with an
 * empty stack, wrapped with every middleware the library ships — over stateful and
 * stateless Streamable HTTP, and checks that the pipeline is invisible: each scenario
 * must produce the same checks with the same statuses in all three modes.
 *
 * A scenario may fail on the bare server only if `baseline.json` lists it (with a
 * reason); an entry for a scenario that passes bare is stale and is reported.
 *
 * The conformance CLI needs Node >= 22. On an older Node the script installs the
 * `node-<platform>-<arch>@24` npm package into `node_modules/.cache/node24` (once) and
 * runs the CLI with that binary; the servers under test run in this process.
 *
 * Usage: `npx tsx tests/conformance/compare.ts` (exit status 0 when invisible).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { withMiddleware } from '../../src/index.js';
import { evidence, firstDifference, type TrafficCount, trafficProbe } from '../../src/testing/compare.js';
import { startEverythingHttp } from '../helpers/everything-server.js';
import { everyMiddleware } from './stacks.js';

const execFileAsync = promisify(execFile);

/** The repository root. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the Node 24 binary is installed when the running Node is too old for the CLI. */
export const NODE24_PREFIX = join(ROOT, 'node_modules', '.cache', 'node24');
/** The oldest Node major the conformance CLI runs on (it uses `fs.globSync`). */
const MIN_CLI_NODE_MAJOR = 22;
/** How long one run of the whole suite may take before it is killed. */
const SUITE_TIMEOUT_MS = 180_000;

/** The Streamable HTTP flavours the suite runs over. */
export const TRANSPORTS = ['stateful', 'stateless'] as const;
/** Stateful (a session per `initialize`) or stateless (a server per POST). */
export type TransportKind = (typeof TRANSPORTS)[number];

/** The three ways the server is run. */
export const MODES = ['bare', 'empty', 'full'] as const;
/** `bare`: no pipeline; `empty`: `withMiddleware(server, [])`; `full`: every shipped middleware. */
export type Mode = (typeof MODES)[number];

/** Known failures of the bare server: transport → scenario → reason. */
export type Baseline = Partial<Record<TransportKind, Record<string, string>>>;

/** Thrown when no Node >= 22 binary is available and none could be installed. */
export class Node24UnavailableError extends Error {
  override readonly name = 'Node24UnavailableError';
}

/** One conformance check, as the CLI records it in `checks.json`. */
export interface Check {
  id: string;
  name?: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | string;
  errorMessage?: string;
  details?: unknown;
}

/** The result of one scenario in one mode. */
export interface ScenarioRun {
  scenario: string;
  /** `fail` if any check failed, else `warn` if any warned, else `pass`. */
  outcome: 'pass' | 'warn' | 'fail';
  /** Sorted `id=STATUS` of every non-INFO check: what the modes must agree on. */
  signature: string[];
  /**
   * `id: details` of every non-INFO check (what the client received: tool results,
   * notifications, schemas …), with ports and UUIDs masked. The modes must agree on
   * this too.
   */
  evidence: string[];
  checks: Check[];
}

/** One scenario across the three modes of one transport. */
export interface ComparisonRow {
  transport: TransportKind;
  scenario: string;
  runs: Partial<Record<Mode, ScenarioRun>>;
  /** True when every mode produced the bare server's signature and evidence. */
  identical: boolean;
  /** The baseline's reason, when the scenario is a known bare failure. */
  baselineReason: string | undefined;
}

/** What {@link compareConformance} found. */
export interface Comparison {
  rows: ComparisonRow[];
  /** Everything that makes the comparison fail; empty when the pipeline is invisible. */
  problems: string[];
  /** What the probe in the full stack saw, per transport (proof the pipeline ran). */
  traffic: Record<TransportKind, TrafficCount>;
  /** Wall-clock time of the whole comparison. */
  elapsedMs: number;
  /** The Node binary that ran the CLI. */
  node: string;
}

function nodeMajor(version: string): number {
  return Number.parseInt(version.replace(/^v/, ''), 10);
}

async function nodeVersionOf(binary: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(binary, ['--version']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Returns a Node binary the conformance CLI can run on: this one if it is new enough,
 * else the `node-<platform>-<arch>@24` package from `node_modules/.cache/node24`,
 * installed there with npm (without touching package.json) when missing.
 * Throws {@link Node24UnavailableError} when that fails (e.g. no registry).
 */
export async function ensureNode24(log: (line: string) => void = () => {}): Promise<string> {
  if (nodeMajor(process.version) >= MIN_CLI_NODE_MAJOR) return process.execPath;
  const pkg = `node-${process.platform}-${process.arch}`;
  const binary = join(NODE24_PREFIX, 'node_modules', pkg, 'bin', 'node');
  const usable = async () => {
    if (!existsSync(binary)) return false;
    const version = await nodeVersionOf(binary);
    return version !== undefined && nodeMajor(version) >= MIN_CLI_NODE_MAJOR;
  };
  if (await usable()) return binary;
  log(`installing ${pkg}@24 into ${NODE24_PREFIX} (Node ${process.version} is too old for the CLI)`);
  try {
    await execFileAsync(
      'npm',
      ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', NODE24_PREFIX, `${pkg}@24`],
      { cwd: ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr
      ?.split('\n')
      .filter((line) => line.startsWith('npm error') && line.trim() !== 'npm error')
      .slice(0, 3)
      .join(' | ');
    throw new Node24UnavailableError(
      `cannot install ${pkg}@24 with npm: ${detail || (error as Error).message}`,
    );
  }
  if (!(await usable())) {
    throw new Node24UnavailableError(`${pkg}@24 was installed but ${binary} does not run as Node >= 22`);
  }
  return binary;
}

function conformanceCli(): string {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('@modelcontextprotocol/conformance/package.json');
  const { bin } = require('@modelcontextprotocol/conformance/package.json') as {
    bin: Record<string, string>;
  };
  const entry = bin.conformance;
  if (!entry) throw new Error('@modelcontextprotocol/conformance has no "conformance" bin');
  return join(dirname(manifest), entry);
}

const SUMMARY_LINE = /^[✓✗] (\S+): \d+ passed, \d+ failed/;
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/;

/** The check's details, canonical, with what differs between two servers of the same kind masked. */
function evidenceOf(check: Check): string {
  return `${check.id}: ${evidence(check.details ?? null)}`;
}

function summarize(scenario: string, checks: Check[]): ScenarioRun {
  const failed = checks.some((c) => c.status === 'FAILURE');
  const warned = checks.some((c) => c.status === 'WARNING');
  const decisive = checks.filter((c) => c.status !== 'INFO');
  return {
    scenario,
    outcome: failed ? 'fail' : warned ? 'warn' : 'pass',
    signature: decisive.map((c) => `${c.id}=${c.status}`).sort(),
    evidence: decisive.map(evidenceOf).sort(),
    checks,
  };
}

/** Runs every server scenario (`--suite all`) against `url`; returns the results by scenario. */
async function runSuite(
  node: string,
  url: string,
): Promise<{ runs: Map<string, ScenarioRun>; error?: string }> {
  const outDir = await mkdtemp(join(tmpdir(), 'mcp-perf-conformance-'));
  try {
    const child = spawn(node, [conformanceCli(), 'server', '--url', url, '--suite', 'all', '-o', outDir], {
      cwd: outDir,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, SUITE_TIMEOUT_MS);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      },
    ).finally(() => clearTimeout(timer));

    const scenarios = stdout
      .split('\n')
      .map((line) => SUMMARY_LINE.exec(line.trim())?.[1])
      .filter((s): s is string => s !== undefined);
    const checksByScenario = new Map<string, Check[]>();
    for (const entry of await readdir(outDir)) {
      const scenario = RESULT_DIR.exec(entry)?.[1];
      if (!scenario) continue;
      // A scenario killed mid-run leaves its directory without checks.json.
      const file = join(outDir, entry, 'checks.json');
      if (existsSync(file))
        checksByScenario.set(scenario, JSON.parse(await readFile(file, 'utf8')) as Check[]);
    }
    const runs = new Map<string, ScenarioRun>();
    for (const scenario of new Set([...scenarios, ...checksByScenario.keys()])) {
      const checks = checksByScenario.get(scenario) ?? [
        {
          id: scenario,
          status: 'FAILURE',
          errorMessage: 'the CLI could not run this scenario (no checks.json)',
        },
      ];
      runs.set(scenario, summarize(scenario, checks));
    }
    // The CLI exits 1 when a check fails; anything else (a crash, a timeout) is a broken run.
    const broken =
      timedOut || exit.signal !== null || (exit.code !== 0 && exit.code !== 1) || scenarios.length === 0;
    if (broken) {
      const why = timedOut
        ? `timed out after ${SUITE_TIMEOUT_MS} ms`
        : `exited with ${exit.signal ?? exit.code}`;
      return { runs, error: `conformance CLI ${why}: ${stderr.trim().split('\n').slice(-5).join(' | ')}` };
    }
    return { runs };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** Reads `baseline.json` beside this file. */
export async function readBaseline(): Promise<Baseline> {
  const text = await readFile(new URL('./baseline.json', import.meta.url), 'utf8');
  return JSON.parse(text) as Baseline;
}

function describeFailure(run: ScenarioRun): string {
  return run.checks
    .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
    .map((c) => `${c.id}=${c.status}${c.errorMessage ? `: ${c.errorMessage}` : ''}`)
    .join(' / ');
}

function describeDifference(bare: ScenarioRun | undefined, other: ScenarioRun | undefined): string {
  if (!bare || !other) return bare ? 'missing from the wrapped run' : 'missing from the bare run';
  const missing = bare.signature.filter((s) => !other.signature.includes(s));
  const extra = other.signature.filter((s) => !bare.signature.includes(s));
  if (missing.length === 0 && extra.length === 0) {
    const index = bare.evidence.findIndex((e, i) => e !== other.evidence[i]);
    if (index >= 0)
      return `same statuses, different details: ${firstDifference(bare.evidence[index]!, other.evidence[index] ?? '')}`;
  }
  const messages = other.checks
    .filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')
    .map((c) => c.errorMessage)
    .filter((m): m is string => typeof m === 'string');
  return [
    missing.length > 0 ? `bare only: ${missing.join(', ')}` : '',
    extra.length > 0 ? `wrapped only: ${extra.join(', ')}` : '',
    messages.length > 0 ? `errors: ${messages.join(' / ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/** Options of {@link compareConformance}. */
export interface CompareOptions {
  /** The transports to run over. Default: both. */
  transports?: readonly TransportKind[];
  /** Progress lines (e.g. `console.error`). Default: silent. */
  log?: (line: string) => void;
}

/**
 * Runs the comparison and returns what it found; `problems` is empty when every scenario
 * behaved identically in the three modes and every bare failure is in the baseline.
 */
export async function compareConformance(options: CompareOptions = {}): Promise<Comparison> {
  const { transports = TRANSPORTS, log = () => {} } = options;
  const started = performance.now();
  const node = await ensureNode24(log);
  const baseline = await readBaseline();
  const problems: string[] = [];
  const rows: ComparisonRow[] = [];
  const traffic = {} as Record<TransportKind, TrafficCount>;

  for (const transport of transports) {
    const probe = trafficProbe();
    traffic[transport] = probe.count;
    const wraps: Record<Mode, ((server: McpServer) => void) | undefined> = {
      bare: undefined,
      empty: (server) => {
        withMiddleware(server, []);
      },
      full: (server) => {
        withMiddleware(server, [probe.middleware, ...everyMiddleware]);
      },
    };
    const servers = await Promise.all(
      MODES.map((mode) => startEverythingHttp({ wrap: wraps[mode], stateless: transport === 'stateless' })),
    );
    let results: Awaited<ReturnType<typeof runSuite>>[];
    try {
      const suiteStarted = performance.now();
      results = await Promise.all(servers.map((server) => runSuite(node, server.url)));
      log(
        `${transport}: ran the suite against ${MODES.join(', ')} in ${((performance.now() - suiteStarted) / 1000).toFixed(1)} s`,
      );
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
    const byMode = {} as Record<Mode, Map<string, ScenarioRun>>;
    MODES.forEach((mode, i) => {
      const result = results[i]!;
      byMode[mode] = result.runs;
      if (result.error) problems.push(`${transport}/${mode}: ${result.error}`);
    });

    const known = baseline[transport] ?? {};
    const scenarios = [...new Set(MODES.flatMap((mode) => [...byMode[mode].keys()]))];
    for (const scenario of scenarios) {
      const runs: Partial<Record<Mode, ScenarioRun>> = {};
      for (const mode of MODES) {
        const run = byMode[mode].get(scenario);
        if (run) runs[mode] = run;
      }
      const bare = runs.bare;
      let identical = true;
      for (const mode of MODES) {
        if (mode === 'bare') continue;
        const other = runs[mode];
        if (
          !bare ||
          !other ||
          bare.signature.join('\n') !== other.signature.join('\n') ||
          bare.evidence.join('\n') !== other.evidence.join('\n')
        ) {
          identical = false;
          problems.push(
            `${transport}/${scenario}: ${mode} differs from bare (${describeDifference(bare, other)})`,
          );
        }
      }
      const baselineReason = known[scenario];
      if (bare && bare.outcome !== 'pass' && baselineReason === undefined) {
        problems.push(
          `${transport}/${scenario}: fails bare (${bare.outcome}) and is not in baseline.json (${describeFailure(bare)})`,
        );
      }
      if (bare && bare.outcome === 'pass' && baselineReason !== undefined) {
        problems.push(`${transport}/${scenario}: passes bare; remove its stale baseline.json entry`);
      }
      rows.push({ transport, scenario, runs, identical, baselineReason });
    }
    for (const scenario of Object.keys(known)) {
      if (!scenarios.includes(scenario)) {
        problems.push(`${transport}/${scenario}: in baseline.json but not a scenario the suite ran`);
      }
    }
    if (probe.count.connections === 0 || probe.count.requests.size === 0) {
      problems.push(`${transport}/full: the middleware stack never ran; the pipeline was not installed`);
    }
  }
  return { rows, problems, traffic, elapsedMs: performance.now() - started, node };
}

const OUTCOME_MARK: Record<ScenarioRun['outcome'], string> = { pass: 'pass', warn: 'WARN', fail: 'FAIL' };

/** Renders a comparison as a compact table, its problems and a summary line. */
export function formatComparison(comparison: Comparison): string {
  const transports = [...new Set(comparison.rows.map((r) => r.transport))];
  const scenarios = [...new Set(comparison.rows.map((r) => r.scenario))];
  const width = Math.max(8, ...scenarios.map((s) => s.length));
  const cell = (row: ComparisonRow | undefined) => {
    if (!row) return ' '.repeat(17);
    const marks = MODES.map((mode) => {
      const run = row.runs[mode];
      return run ? OUTCOME_MARK[run.outcome] : '----';
    });
    return `${marks.join(' ')} ${row.identical ? '=' : '≠'}`;
  };
  const lines = [
    `${'scenario'.padEnd(width)}  ${transports.map((t) => t.padEnd(17)).join('   ')}`,
    `${''.padEnd(width)}  ${transports.map(() => `${MODES.map((m) => m.padEnd(4)).join(' ')}  `).join('   ')}`,
  ];
  for (const scenario of scenarios) {
    const cells = transports.map((t) =>
      cell(comparison.rows.find((r) => r.transport === t && r.scenario === scenario)),
    );
    const reasons = comparison.rows
      .filter((r) => r.scenario === scenario && r.baselineReason !== undefined)
      .map((r) => `${r.transport}: known bare failure`);
    lines.push(
      `${scenario.padEnd(width)}  ${cells.join('   ')}${reasons.length ? `  (${reasons.join('; ')})` : ''}`,
    );
  }
  for (const transport of transports) {
    const count = comparison.traffic[transport];
    const requests = [...count.requests.values()].reduce((a, b) => a + b, 0);
    lines.push(
      `${transport}: the full stack saw ${count.connections} connections, ${requests} requests, ${count.notifications} notifications`,
    );
  }
  if (comparison.problems.length > 0) {
    lines.push('', 'Problems:', ...comparison.problems.map((p) => `  - ${p}`));
  }
  const identical = comparison.rows.filter((r) => r.identical).length;
  lines.push(
    '',
    `${identical}/${comparison.rows.length} scenario runs identical across ${MODES.join('/')} ` +
      `in ${(comparison.elapsedMs / 1000).toFixed(1)} s (CLI on ${comparison.node === process.execPath ? 'this Node' : comparison.node}): ` +
      (comparison.problems.length === 0 ? 'OK' : `${comparison.problems.length} problem(s)`),
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  try {
    const comparison = await compareConformance({ log: (line) => console.error(line) });
    console.log(formatComparison(comparison));
    process.exitCode = comparison.problems.length === 0 ? 0 : 1;
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
