/**
 * `mcp-perf/config`: declarative configuration. A YAML or JSON file names a middleware
 * stack; {@link createStack} builds it, {@link watchConfig} rebuilds it when the file
 * changes, and {@link CONFIG_SCHEMA} is the JSON Schema the file is validated against
 * (also shipped as `mcp-perf/config.schema.json`). A separate entry point so the YAML
 * parser and the schema validator load only for applications that use a config file.
 *
 * @example
 * ```ts
 * import { withMiddleware } from 'mcp-perf';
 * import { createStack, loadConfigFile } from 'mcp-perf/config';
 *
 * const stack = await createStack(await loadConfigFile('mcp-perf.yaml'));
 * withMiddleware(server, stack.middleware);
 * ```
 *
 * @module
 */

export * from '../config/index.js';
