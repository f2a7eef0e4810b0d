import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Browser, chromium } from 'playwright-core';
import { type CliProcess, startCli, tempDir, writeConfig } from '../cli/helpers.js';
import { fixturePath } from '../helpers/child.js';

/** What the functions evaluated in the page use of its globals (they run in the browser, not here). */
interface PageElement {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
};

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  if (process.env.CI)
    test('Chromium is installed (required when CI is set)', () => assert.fail(`no ${CHROMIUM}`));
  else
    console.log(`skipping the dashboard browser test: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
} else {
  describe('the live dashboard in a real browser', () => {
    let cli: CliProcess;
    let base: string;
    let browser: Browser;
    let cleanup: () => Promise<void>;
    before(async () => {
      const tmp = await tempDir();
      cleanup = tmp.cleanup;
      const config = await writeConfig(
        tmp.dir,
        'middleware:\n  - metrics: { tokens: approximate }\n  - rateLimit: { limit: 1000 }\n  - cache: { tools: { include: [echo] } }\n',
      );
      cli = startCli([
        'proxy',
        '-c',
        config,
        '--listen',
        '127.0.0.1:0',
        '--',
        process.execPath,
        '--import',
        'tsx',
        fixturePath('stdio-server-v1.ts'),
      ]);
      base = (await cli.waitForStderr(/listening on (http:\/\/127\.0\.0\.1:\d+)\/mcp/))[1]!;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    });
    after(async () => {
      await browser?.close();
      cli.process.kill('SIGTERM');
      await cli.exited;
      await cleanup();
    });

    it('loads, draws its charts from live data, and its numbers move while a load runs', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(base)) external.push(r.url());
      });
      await page.goto(`${base}/dashboard`);
      await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('live'));
      const before = Number((await page.textContent('#requests'))!.replace(/\D/g, ''));

      const client = new Client({ name: 'load', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
      let running = true;
      const load = (async () => {
        for (let i = 0; running; i++)
          await client.callTool({ name: 'echo', arguments: { text: `t${i % 5}` } });
      })();
      try {
        await page.waitForFunction(
          (n) => Number(document.getElementById('requests')!.textContent!.replace(/\D/g, '')) > n + 20,
          before,
          { timeout: 30_000 },
        );
        await page.waitForFunction(
          () => Number(document.getElementById('chart-rps')!.dataset.points) >= 3,
          null,
          {
            timeout: 30_000,
          },
        );
      } finally {
        running = false;
        await load;
        await client.close();
      }
      const view = await page.evaluate(() => ({
        hitRate: document.getElementById('hit-rate')!.textContent,
        tokens: document.getElementById('tokens')!.textContent,
        tools: [...document.querySelectorAll('#tools tr td:first-child')].map((td) => td.textContent),
        latencyPoints: Number(document.getElementById('chart-latency')!.dataset.points),
        latencyMax: Number(document.getElementById('chart-latency')!.dataset.max),
        // Some pixel of the rps chart is drawn (not blank).
        drawn: (() => {
          const c = document.getElementById('chart-rps')!;
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
          return false;
        })(),
      }));
      assert.match(view.hitRate ?? '', /^\d+(\.\d)? %$/);
      assert.ok(
        Number.parseFloat(view.hitRate!) > 50,
        `5 distinct calls repeated: mostly hits (${view.hitRate})`,
      );
      assert.notEqual(view.tokens, '–', 'tokens per request shown');
      assert.ok(view.tools.includes('echo'));
      assert.ok(view.latencyPoints >= 3 && view.latencyMax > 0);
      assert.ok(view.drawn);
      assert.deepEqual(errors, []);
      assert.deepEqual(external, [], 'self-contained: no request leaves the proxy');
    });
  });
}
