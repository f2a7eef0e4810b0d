#!/usr/bin/env node
/**
 * The `mcp-perf` command line: `proxy`, `validate`, `stats`, `load`, `bench`.
 */

import { log } from './log.js';

const HELP = `Usage: mcp-perf <command> [options]

Commands:
  proxy      Run an MCP server behind a middleware stack (stdio or Streamable HTTP).
  validate   Check a config file.
  stats      Print a snapshot of a running proxy.
  load       Drive a server with a workload and print latency and throughput.
  bench      Measure a server against budgets (for CI): exit 1 on a breach.

Run mcp-perf <command> --help for a command's options and examples.

Examples:
  mcp-perf proxy --config mcp-perf.yaml -- npx -y @modelcontextprotocol/server-memory
  mcp-perf validate mcp-perf.yaml
  mcp-perf stats http://127.0.0.1:8080
  mcp-perf load --stdio "node server.js" --rate 200 --duration 10s
  mcp-perf bench --stdio "node server.js" --workload workload.json --budgets budgets.json
`;

const COMMANDS: Record<string, () => Promise<(argv: readonly string[]) => Promise<number>>> = {
  proxy: async () => (await import('./proxy.js')).runProxy,
  validate: async () => (await import('./validate.js')).runValidate,
  stats: async () => (await import('./stats.js')).runStats,
  load: async () => (await import('./load.js')).runLoadCommand,
  bench: async () => (await import('./bench.js')).runBenchCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    log(`unknown command "${name}"`);
    process.stderr.write(HELP);
    return 2;
  }
  let run: (argv: readonly string[]) => Promise<number>;
  try {
    run = await load();
  } catch (error) {
    const missing = /Cannot find (?:package|module) '(@modelcontextprotocol\/sdk|prom-client)/.exec(
      String(error),
    );
    if (missing === null) throw error;
    log(`${name} needs the package ${missing[1]}: npm install ${missing[1]}`);
    return 1;
  }
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Open handles (the host's stdin) must not keep a finished proxy alive.
    process.stderr.write('', () => process.exit(code));
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    log(message);
    process.stderr.write('', () => process.exit(isUsageError(error) ? 2 : 1));
  },
);

function isUsageError(error: unknown): boolean {
  return (
    (error as { code?: unknown } | null)?.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
    (error as { code?: unknown } | null)?.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
    (error as { code?: unknown } | null)?.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
  );
}
