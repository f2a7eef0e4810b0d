import { parseArgs } from 'node:util';
import { isConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import { createStack } from '../config/stack.js';
import { log } from './log.js';

/** `validate --help`. */
export const VALIDATE_HELP = `Usage: mcp-perf validate [options] <config-file>

Checks a config file against the schema (with environment variables interpolated) and
builds its stack once, so that options the middlewares refuse are reported too. Prints
the stack on success; every problem with its path on failure (exit code 1).

Options:
      --json   Print the validated config (durations in ms, sizes in bytes) as JSON.
  -h, --help   This help.

Examples:
  mcp-perf validate mcp-perf.yaml
  REDIS_URL=redis://127.0.0.1:6379 mcp-perf validate --json mcp-perf.yaml
`;

/** Runs `validate`; resolves with the exit code. */
export async function runValidate(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(VALIDATE_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    log('validate: give exactly one config file (see mcp-perf validate --help)');
    return 2;
  }
  const file = positionals[0]!;
  try {
    const config = await loadConfigFile(file);
    const stack = await createStack(config, { onWarning: log });
    await stack.close();
    if (values.json) process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    else {
      const names = config.middleware.map((e) => e.name);
      process.stdout.write(`${file}: valid (${names.length === 0 ? 'no middleware' : names.join(' → ')})\n`);
    }
    return 0;
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
}
