import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { fixturePath } from '../helpers/child.js';
import { STATS_TOOL, textOf } from '../helpers/stacks.js';
import {
  alive,
  gone,
  nodeEval,
  processGroupOf,
  proxyTransport,
  startCli,
  tempDir,
  writeConfig,
} from './helpers.js';

const FIXTURE = [process.execPath, '--import', 'tsx', fixturePath('stdio-server-v1.ts')];

/** A child that reports its pid on stderr, ignores stdin and (optionally) SIGTERM, and never exits by itself. */
const STUBBORN = (ignoreTerm: boolean) =>
  nodeEval(
    // The pid is announced only once the handlers are in place: a signal sent on seeing it must find them.
    `${ignoreTerm ? "process.on('SIGTERM', () => {}); process.on('SIGINT', () => {});" : ''}setInterval(() => {}, 1000);process.stderr.write('child pid ' + process.pid + '\\n');`,
  );

/**
 * A child that never reads its stdin (so never sees it close) and traps no signal, with a
 * grandchild that ignores SIGTERM; the child reports both pids on stderr once the
 * grandchild's handler is in place.
 */
const WITH_GRANDCHILD = nodeEval(`
  const { spawn } = require('node:child_process');
  const grandchild = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); process.stdout.write('ready')"], { stdio: ['ignore', 'pipe', 'inherit'] });
  grandchild.stdout.once('data', () => process.stderr.write('child pid ' + process.pid + ' grandchild pid ' + grandchild.pid + '\\n'));
  setInterval(() => {}, 1000);
`);

/** Kills what a failed test left behind: the group `-pgid`, if it still has members. */
function killGroup(pgid: number): void {
  if (alive(-pgid)) process.kill(-pgid, 'SIGKILL');
}

describe('mcp-perf proxy over stdio', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it('carries a session to a child server through the config stack, and ends when the host closes', async () => {
    const config = await writeConfig(
      dir,
      'middleware:\n  - metrics: {}\n  - cache: { tools: { include: [echo] } }\n',
    );
    const { transport, stderr } = proxyTransport(['--config', config, '--', ...FIXTURE]);
    const client = new Client({ name: 'host', version: '1.0.0' });
    await client.connect(transport);
    const pid = transport.pid!;
    try {
      assert.equal(client.getServerVersion()?.name, 'counting');
      for (let i = 0; i < 3; i++) {
        const r = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
        assert.equal(textOf(r), 'hi');
      }
      const stats = JSON.parse(textOf(await client.callTool({ name: STATS_TOOL, arguments: {} })) ?? '{}');
      assert.equal(stats.counts.echo, 1, 'two of three calls were answered by the cache');
      assert.match(stderr(), /config .*mcp-perf\.yaml: metrics → cache/);
    } finally {
      await client.close();
    }
    assert.ok(await gone(pid), 'the proxy exited when the host closed its stdin');
  });

  it('exits with the code of a child that exits, and passes its stderr through', async () => {
    const cli = startCli([
      'proxy',
      '--',
      ...nodeEval("process.stderr.write('bye from child\\n'); process.exit(3)"),
    ]);
    assert.equal((await cli.exited).code, 3);
    assert.match(cli.stderr(), /bye from child/);
    assert.equal(cli.stdout(), '', 'nothing but the MCP stream on stdout');
  });

  it('exits with the code of a child that crashes mid-session', async () => {
    const cli = startCli([
      'proxy',
      '--',
      ...nodeEval("process.stdin.once('data', () => { throw new Error('boom'); })"),
    ]);
    cli.process.stdin!.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    assert.equal((await cli.exited).code, 1);
    assert.match(cli.stderr(), /Error: boom/);
  });

  it('reports a command that cannot be started and exits with 127', async () => {
    const cli = startCli(['proxy', '--', 'mcp-perf-no-such-command']);
    assert.equal((await cli.exited).code, 127);
    assert.match(
      cli.stderr(),
      /cannot start mcp-perf-no-such-command: spawn mcp-perf-no-such-command ENOENT/,
    );
  });

  it('forwards SIGTERM to the child and exits with its status; no orphan', async () => {
    const cli = startCli(['proxy', '--', ...STUBBORN(false)]);
    const childPid = Number((await cli.waitForStderr(/child pid (\d+)/))[1]);
    assert.ok(alive(childPid));
    cli.process.kill('SIGTERM');
    assert.equal((await cli.exited).code, 143, '128 + SIGTERM, as the child ended');
    assert.ok(await gone(childPid));
    assert.ok(await gone(-childPid), 'its guard left with it: nothing is left in its process group');
    assert.match(cli.stderr(), /SIGTERM: passing it to the server/);
  });

  it("passes a terminal's Ctrl-C to the child through the proxy alone: the child leads a group of its own", {
    skip: process.platform === 'win32' && 'POSIX process groups',
  }, async () => {
    const cli = startCli(['proxy', '--', ...STUBBORN(false)], { detached: true });
    const proxyPid = cli.process.pid!;
    const childPid = Number((await cli.waitForStderr(/child pid (\d+)/))[1]);
    try {
      assert.equal(processGroupOf(childPid), childPid, 'the child leads its own group');
      assert.equal(processGroupOf(proxyPid), proxyPid);
      // What a terminal does on Ctrl-C: SIGINT to its foreground group, the proxy's.
      process.kill(-proxyPid, 'SIGINT');
      assert.equal((await cli.exited).code, 130, '128 + SIGINT, as the child ended');
      assert.match(cli.stderr(), /SIGINT: passing it to the server/);
      assert.ok(await gone(-childPid));
    } finally {
      killGroup(childPid);
      killGroup(proxyPid);
    }
  });

  // SIGTERM, not SIGINT: under tsx (these tests run the source) tsx's own SIGINT relay exits at 130.
  it('kills a child that ignores the forwarded signal after --kill-after', async () => {
    const cli = startCli(['proxy', '--kill-after', '200ms', '--', ...STUBBORN(true)]);
    const childPid = Number((await cli.waitForStderr(/child pid (\d+)/))[1]);
    cli.process.kill('SIGTERM');
    assert.equal((await cli.exited).code, 137, '128 + SIGKILL');
    assert.ok(await gone(childPid));
  });

  it('stops a child hanging on start when the host gives up (closes stdin)', async () => {
    const cli = startCli(['proxy', '--kill-after', '200ms', '--', ...STUBBORN(true)]);
    const childPid = Number((await cli.waitForStderr(/child pid (\d+)/))[1]);
    cli.process.stdin!.write(
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"h","version":"1"}}}\n',
    );
    cli.process.stdin!.end();
    await cli.exited;
    assert.ok(await gone(childPid), 'stdin closed, then SIGTERM (ignored), then SIGKILL');
    assert.equal(cli.stdout(), '', 'the child never answered');
  });

  it('leaves no child behind when the proxy itself is killed (the child sees its stdin close)', async () => {
    const cli = startCli([
      'proxy',
      '--',
      ...nodeEval(
        "process.stderr.write('child pid ' + process.pid + '\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));",
      ),
    ]);
    const childPid = Number((await cli.waitForStderr(/child pid (\d+)/))[1]);
    cli.process.kill('SIGKILL');
    await cli.exited;
    assert.ok(await gone(childPid));
  });

  it('ends a child that ignores its stdin closing, and its grandchild, when the proxy is SIGKILLed', {
    skip: process.platform === 'win32' && 'POSIX process groups',
  }, async () => {
    const cli = startCli(['proxy', '--kill-after', '300ms', '--', ...WITH_GRANDCHILD]);
    const pids = await cli.waitForStderr(/child pid (\d+) grandchild pid (\d+)/);
    const childPid = Number(pids[1]);
    const grandchildPid = Number(pids[2]);
    try {
      assert.equal(processGroupOf(grandchildPid), childPid, "the grandchild is in the child's group");
      cli.process.kill('SIGKILL');
      await cli.exited;
      assert.ok(await gone(childPid), 'the child ended on SIGTERM');
      assert.ok(await gone(grandchildPid), 'the grandchild, ignoring SIGTERM, ended on SIGKILL');
      assert.ok(await gone(-childPid), 'nothing is left in the group, the guard included');
    } finally {
      cli.process.kill('SIGKILL');
      killGroup(childPid);
    }
  });

  it('refuses bad arguments with a usage error', async () => {
    const neither = startCli(['proxy']);
    assert.equal((await neither.exited).code, 2);
    assert.match(neither.stderr(), /give either a command after -- or --upstream/);
    const wide = startCli(['proxy', '--listen', '0.0.0.0:0', '--', 'true'], { env: { MCP_PERF_TOKEN: '' } });
    assert.equal((await wide.exited).code, 2);
    assert.match(wide.stderr(), /reachable from other machines: give --token/);
    const badConfig = await writeConfig(dir, 'middleware:\n  - cache: { ttlMs: 5 minutes }\n', 'bad.yaml');
    const invalid = startCli(['proxy', '-c', badConfig, '--', 'true']);
    assert.equal((await invalid.exited).code, 1);
    assert.match(invalid.stderr(), /middleware\[0\]\.cache\.ttlMs: expected a non-negative duration/);
  });
});
