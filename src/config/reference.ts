import type { JsonSchema } from './schema-parts.js';

/**
 * Renders the config reference (Markdown) from the config schema: one section per
 * middleware, one table row per option, nested options by their dotted path.
 */
export function renderConfigReference(schema: JsonSchema): string {
  const defs = schema.$defs as Record<string, JsonSchema>;
  const entries = (defs.middlewareEntry!.properties ?? {}) as Record<string, JsonSchema>;
  const out: string[] = [
    '# Config reference',
    '',
    '<!-- Generated from the config schema by `npm run docs:config`. Do not edit by hand. -->',
    '',
    String(schema.description),
    'A config file (YAML or JSON) holds the key `middleware`: a list whose entries each name one',
    'middleware and hold its options; beside it, `listen` sets how `mcp-perf proxy --listen` serves',
    'and `pool` names a pool of upstreams for the proxy.',
    'The JSON Schema ships as `mcp-perf/config.schema.json`.',
    '',
    '```yaml',
    'middleware:',
    '  - metrics: { tokens: approximate }',
    '  - concurrencyLimit: { limit: 16, maxQueueWaitMs: 2s }',
    '  - cache: { ttlMs: 5m, store: { redis: { url: "${REDIS_URL}" } } }',
    '```',
    '',
    '## Values',
    '',
    `- **duration**: ${String(defs.duration!.description)}`,
    `- **size**: ${String(defs.size!.description)}`,
    `- **key**: ${String(defs.requestKey!.description)}`,
    '- **environment variables**: `${NAME}` in any string is replaced by the variable `NAME`;',
    '  `${NAME:-fallback}` uses `fallback` when it is unset or empty; `$${` is a literal `${`.',
    '  An unset variable without a fallback is an error naming the path.',
    '',
  ];
  out.push(
    '## A fleet',
    '',
    'Replicas of `mcp-perf proxy --config` loading one file share one Redis through its Redis blocks:',
    '`cache.store.redis` (with `coalesce` and an `l1` memory tier), `rateLimit.store.redis` and',
    '`concurrencyLimit.shared`. Each block takes `url` (or `cluster.rootNodes`), `prefix`, `timeoutMs`',
    'and `circuit`; entries of one stack naming the same URL share one connection, closed with the',
    'stack. A Redis that is away at start is warned about, never fatal: each entry then follows its',
    '`onStoreError`, or misses for the cache. A complete file: `examples/fleet.yaml`; the whole story:',
    '[Running a fleet](fleet.md#from-a-config-file).',
    '',
    '```yaml',
    'middleware:',
    '  - rateLimit: { limit: 200, windowMs: 1s, store: { redis: { url: "${REDIS_URL}" } } }',
    '  - cache: { store: { redis: { url: "${REDIS_URL}", coalesce: true, l1: { maxEntries: 5000 } } } }',
    '  - concurrencyLimit: { limit: 16, shared: { redis: { url: "${REDIS_URL}" }, limit: 20 } }',
    '```',
    '',
  );
  const settings = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, entry] of Object.entries(settings)) {
    if (entry.type !== 'object') continue;
    out.push(
      `## Top-level \`${name}\``,
      '',
      String(entry.description),
      '',
      '| setting | type | default | description |',
      '|---|---|---|---|',
    );
    rows(entry, `${name}.`, out);
    out.push('');
  }
  for (const [name, entry] of Object.entries(entries)) {
    out.push(
      `## \`${name}\``,
      '',
      String(entry.description),
      '',
      '| option | type | default | description |',
      '|---|---|---|---|',
    );
    rows(entry, '', out);
    out.push('');
  }
  const pool = (schema.properties as Record<string, JsonSchema> | undefined)?.pool;
  if (pool !== undefined) {
    out.push(
      '## `pool` (top level)',
      '',
      String(pool.description),
      '',
      '```yaml',
      'middleware: []',
      'pool:',
      '  upstreams: [http://10.0.0.5:3000/mcp, http://10.0.0.6:3000/mcp, { command: node, args: [server.js] }]',
      '  strategy: least-in-flight',
      '  retry: { budget: 0.2, tools: { search: true } }',
      '  hedge: { percentile: 95 }',
      '```',
      '',
      '| option | type | default | description |',
      '|---|---|---|---|',
    );
    rows(pool, '', out);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function rows(schema: JsonSchema, prefix: string, out: string[]): void {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [key, sub] of Object.entries(properties)) {
    const path = `${prefix}${key}`;
    const note = required.has(key) ? ' Required.' : '';
    out.push(
      `| \`${path}\` | ${typeOf(sub)} | ${defaultOf(sub)} | ${cell(String(sub.description ?? ''))}${note} |`,
    );
    const branches = (sub.oneOf ?? sub.anyOf) as JsonSchema[] | undefined;
    for (const branch of branches ?? []) if (branch.type === 'object') rows(branch, `${path}.`, out);
    if (sub.type === 'object') rows(sub, `${path}.`, out);
    const items = sub.items as JsonSchema | undefined;
    if (items?.type === 'object') rows(items, `${path}[].`, out);
  }
}

function typeOf(schema: JsonSchema): string {
  const ref = schema.$ref as string | undefined;
  if (ref !== undefined) return ref.slice(ref.lastIndexOf('/') + 1).replace('requestKey', 'key');
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  const branches = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (branches !== undefined) {
    return branches
      .map((b) => (b.type === 'object' && b.required ? `{ ${(b.required as string[]).join()} }` : typeOf(b)))
      .join(' \\| ');
  }
  if (schema.type === 'array') return `${typeOf((schema.items ?? {}) as JsonSchema)}[]`;
  const type = String(schema.type ?? 'any');
  const range: string[] = [];
  if (schema.minimum !== undefined) range.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) range.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) range.push(`≤ ${schema.maximum}`);
  return range.length === 0 ? type : `${type} (${range.join(', ')})`;
}

function defaultOf(schema: JsonSchema): string {
  return 'default' in schema ? `\`${JSON.stringify(schema.default)}\`` : '';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
