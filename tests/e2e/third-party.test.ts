import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type CliProcess, proxyTransport, ROOT, startCli, tempDir, writeConfig } from '../cli/helpers.js';

const FILESYSTEM = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const MEMORY = join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');
const INSPECTOR = join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/index.js');
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/** Arguments for every tool of the two servers, in the order they are called (each run starts from the same state). */
function script(root: string): Record<string, Record<string, unknown>> {
  const p = (name: string) => join(root, name);
  return {
    // server-filesystem
    list_allowed_directories: {},
    write_file: { path: p('a.txt'), content: 'hello\nworld\n' },
    read_text_file: { path: p('a.txt') },
    read_file: { path: p('a.txt') },
    read_media_file: { path: p('dot.png') },
    read_multiple_files: { paths: [p('a.txt'), p('dot.png')] },
    edit_file: { path: p('a.txt'), edits: [{ oldText: 'world', newText: 'there' }] },
    create_directory: { path: p('sub') },
    list_directory: { path: root },
    list_directory_with_sizes: { path: root },
    directory_tree: { path: root },
    search_files: { path: root, pattern: '**/*.txt' },
    get_file_info: { path: p('a.txt') },
    move_file: { source: p('a.txt'), destination: p('sub/b.txt') },
    // server-memory
    create_entities: {
      entities: [
        { name: 'Ada', entityType: 'person', observations: ['wrote the first program'] },
        { name: 'Engine', entityType: 'machine', observations: [] },
      ],
    },
    create_relations: { relations: [{ from: 'Ada', to: 'Engine', relationType: 'programmed' }] },
    add_observations: { observations: [{ entityName: 'Engine', contents: ['analytical'] }] },
    read_graph: {},
    search_nodes: { query: 'Ada' },
    open_nodes: { names: ['Engine'] },
    delete_observations: { deletions: [{ entityName: 'Engine', observations: ['analytical'] }] },
    delete_relations: { relations: [{ from: 'Ada', to: 'Engine', relationType: 'programmed' }] },
    delete_entities: { entityNames: ['Engine'] },
  };
}

/** Everything a client can ask, with the run's own folder and file times written out. */
async function transcript(client: Client, root: string): Promise<unknown[]> {
  const out: unknown[] = [];
  const settle = async (label: string, call: () => Promise<unknown>) => {
    try {
      out.push([label, await call()]);
    } catch (error) {
      out.push([label, 'error', (error as Error).message]);
    }
  };
  const { tools } = await client.listTools();
  out.push(['tools/list', tools]);
  const args = script(root);
  for (const tool of tools) {
    assert.ok(tool.name in args, `no arguments scripted for the tool ${tool.name}`);
  }
  for (const [name, a] of Object.entries(args)) {
    if (tools.some((t) => t.name === name))
      await settle(`tools/call ${name}`, () => client.callTool({ name, arguments: a }));
  }
  await settle('resources/list', () => client.listResources());
  await settle('resources/templates/list', () => client.listResourceTemplates());
  const prompts = await client.listPrompts().catch((error: Error) => ({ prompts: [], error: error.message }));
  out.push(['prompts/list', prompts]);
  for (const prompt of prompts.prompts)
    await settle(`prompts/get ${prompt.name}`, () => client.getPrompt({ name: prompt.name }));
  // File times differ between the runs' folders: write them out.
  return JSON.parse(
    JSON.stringify(out)
      .replaceAll(root, '<root>')
      .replace(/\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT[+-]\d{4} \([^)]*\)/g, '<time>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>'),
  );
}

async function run(transport: Transport, root: string): Promise<unknown[]> {
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(transport);
  try {
    return await transcript(client, root);
  } finally {
    await client.close();
  }
}

/** A fresh folder (with the same image in it) and memory file for one run. */
async function freshRoot(base: string, name: string): Promise<string> {
  const root = join(base, name);
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'dot.png'), PNG);
  return root;
}

const servers = [
  {
    name: 'server-filesystem',
    command: (root: string) => [process.execPath, FILESYSTEM, root],
    env: () => ({}),
  },
  {
    name: 'server-memory',
    command: () => [process.execPath, MEMORY],
    env: (root: string) => ({ MEMORY_FILE_PATH: join(root, 'memory.jsonl') }),
  },
];

describe('third-party servers behind the proxy answer as they do directly (caching off)', () => {
  let base: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir: base, cleanup } = await tempDir('mcp-perf-e2e-')));
  after(() => cleanup());

  for (const server of servers) {
    it(`${server.name}: every tool, resource and prompt over stdio and over --listen`, async () => {
      const directRoot = await freshRoot(base, `${server.name}-direct`);
      const [command, ...args] = server.command(directRoot);
      const direct = await run(
        new StdioClientTransport({
          command: command!,
          args,
          env: { ...(process.env as Record<string, string>), ...server.env(directRoot) },
          stderr: 'ignore',
        }),
        directRoot,
      );
      assert.ok(direct.length > 5);

      const stdioRoot = await freshRoot(base, `${server.name}-stdio`);
      const viaStdio = await run(
        proxyTransport(['--', ...server.command(stdioRoot)], server.env(stdioRoot)).transport,
        stdioRoot,
      );
      assert.deepEqual(viaStdio, direct);

      const httpRoot = await freshRoot(base, `${server.name}-http`);
      const cli = startCli(['proxy', '--listen', '127.0.0.1:0', '--', ...server.command(httpRoot)], {
        env: server.env(httpRoot),
      });
      try {
        const url = (await cli.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/))[1]!;
        assert.deepEqual(await run(new StreamableHTTPClientTransport(new URL(url)), httpRoot), direct);
      } finally {
        cli.process.kill('SIGTERM');
        await cli.exited;
      }
    });
  }
});

describe('with caching on, and driven by the MCP Inspector CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let cli: CliProcess;
  let url: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir('mcp-perf-e2e-cache-'));
    await writeFile(join(dir, 'note.txt'), 'first');
    const config = await writeConfig(
      dir,
      'middleware:\n  - metrics: {}\n  - cache: { tools: { include: [read_text_file] } }\n',
      'cache.yaml',
    );
    cli = startCli([
      'proxy',
      '-c',
      config,
      '--listen',
      '127.0.0.1:0',
      '--',
      process.execPath,
      FILESYSTEM,
      dir,
    ]);
    url = (await cli.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/))[1]!;
  });
  after(async () => {
    cli.process.kill('SIGTERM');
    await cli.exited;
    await cleanup();
  });

  it('serves repeated reads from the cache', async () => {
    const client = new Client({ name: 'e2e-cache', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    try {
      const read = async () =>
        JSON.stringify(
          (await client.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'note.txt') } }))
            .content,
        );
      const first = await read();
      assert.match(first, /first/);
      await writeFile(join(dir, 'note.txt'), 'second');
      assert.equal(await read(), first, 'the repeat came from the cache, not the changed file');
      const stats = (await (await fetch(url.replace(/\/mcp$/, '/stats'))).json()) as {
        middleware: Record<string, { hits: number; misses: number }>;
      };
      assert.equal(stats.middleware['1:cache']?.hits, 1);
    } finally {
      await client.close();
    }
  });

  it('lists and calls tools for the Inspector CLI', async () => {
    const exec = promisify(execFile);
    // inspector-cli 1.0.3 finds its own package.json relative to the working directory.
    const cwd = join(INSPECTOR, '..');
    const listed = await exec(process.execPath, [INSPECTOR, url, '--method', 'tools/list'], { cwd });
    const names = (JSON.parse(listed.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    assert.ok(names.includes('read_text_file') && names.includes('list_directory'), names.join());
    const called = await exec(
      process.execPath,
      [
        INSPECTOR,
        url,
        '--method',
        'tools/call',
        '--tool-name',
        'list_directory',
        '--tool-arg',
        `path=${dir}`,
      ],
      { cwd },
    );
    assert.match(called.stdout, /note\.txt/);
  });
});
