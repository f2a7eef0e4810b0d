/**
 * Declarative configuration: a YAML or JSON file naming a middleware stack, its JSON
 * Schema, and {@link createStack}, which turns a config into middleware.
 *
 * @module
 */

export { interpolateEnv } from './env.js';
export { ConfigError, type ConfigIssue, isConfigError } from './errors.js';
export {
  type ConfigWatcher,
  loadConfigFile,
  type ParseConfigOptions,
  parseConfig,
  WATCH_CONFIG_DEFAULTS,
  type WatchConfigOptions,
  watchConfig,
} from './load.js';
export {
  MIDDLEWARE_REGISTRY,
  type MiddlewareDefinition,
  REDIS_CONNECT_WAIT_MS,
  type StackContext,
} from './registry.js';
export { buildConfigSchema, CONFIG_SCHEMA, CONFIG_SCHEMA_ID, LISTEN_DEFAULTS } from './schema.js';
export type { JsonSchema } from './schema-parts.js';
export { type ConfiguredStack, type CreateStackOptions, createStack } from './stack.js';
export { type SwitchableStack, switchableStack } from './switchable.js';
export { parseDuration, parseSize } from './units.js';
export { type ListenConfig, type StackConfig, type StackEntry, validateConfig } from './validate.js';
