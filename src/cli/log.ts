/** Everything the CLI says goes to stderr: in proxy mode stdout is the MCP stream itself. */
export function log(message: string): void {
  process.stderr.write(`mcp-perf: ${message}\n`);
}
