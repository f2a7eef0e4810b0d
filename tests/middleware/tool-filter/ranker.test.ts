import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  approximateTokenCounter,
  bm25Ranker,
  countToolTokens,
  isInvalidOptionError,
  SEARCH_TOOL_DESCRIPTION,
  tokenizeToolText,
} from '../../../src/index.js';
import { searchToolDefinition } from '../../../src/middleware/tool-filter/search.js';
import { QUERIES } from '../../fixtures/tools-100/queries.js';
import { TOOLS_100 } from '../../fixtures/tools-100/tools.js';

/** recall@k over the labelled queries: the share of each query's relevant tools in the top k, averaged. */
async function recallAt(k: number, ranker = bm25Ranker()): Promise<{ recall: number; misses: string[] }> {
  const index = await ranker.index(TOOLS_100);
  let sum = 0;
  const misses: string[] = [];
  for (const { query, relevant } of QUERIES) {
    const top = (await index.search(query, k)).map((i) => TOOLS_100[i]!.name);
    const found = relevant.filter((name) => top.includes(name)).length;
    sum += found / relevant.length;
    if (found < relevant.length) misses.push(`${query} → ${top.join(', ')}`);
  }
  return { recall: sum / QUERIES.length, misses };
}

/** Measured on the 50 labelled queries: 0.98 with the default synonyms, 0.84 without any. */
const RECALL_AT_5_FLOOR = 0.9;

describe('bm25Ranker', () => {
  it('splits identifiers at camelCase, snake_case and kebab-case boundaries', () => {
    assert.deepEqual(tokenizeToolText('listWorkflowRuns'), ['list', 'Workflow', 'Runs']);
    assert.deepEqual(tokenizeToolText('list_workflow_runs'), ['list', 'workflow', 'runs']);
    assert.deepEqual(tokenizeToolText('get-S3Object'), ['get', 'S3', 'Object']);
    assert.deepEqual(tokenizeToolText('parseHTTPResponse now'), ['parse', 'HTTP', 'Response', 'now']);
  });

  it(`recall@5 on the 100-tool fixture's labelled queries is at least ${RECALL_AT_5_FLOOR}`, async (t) => {
    assert.ok(QUERIES.length >= 40);
    const at5 = await recallAt(5);
    const at3 = await recallAt(3);
    const at1 = await recallAt(1);
    const plain = await recallAt(5, bm25Ranker({ synonyms: [] }));
    t.diagnostic(
      `recall@1 ${at1.recall.toFixed(3)}, @3 ${at3.recall.toFixed(3)}, @5 ${at5.recall.toFixed(3)} ` +
        `(without synonyms @5 ${plain.recall.toFixed(3)}) over ${QUERIES.length} queries`,
    );
    for (const miss of at5.misses) t.diagnostic(`missed: ${miss}`);
    assert.ok(at5.recall >= RECALL_AT_5_FLOOR, `recall@5 ${at5.recall} < ${RECALL_AT_5_FLOOR}`);
  });

  it('ranks by name, title, description and parameters; answers nothing for a query with no known word', async () => {
    const index = await bm25Ranker().index([
      { name: 'alpha', description: 'Send a fax to a number' },
      { name: 'beta', inputSchema: { type: 'object', properties: { faxNumber: { type: 'string' } } } },
      { name: 'gamma', title: 'Weather', description: 'Current conditions' },
    ]);
    assert.deepEqual([...(await index.search('fax', 10))].sort(), [0, 1]);
    assert.deepEqual(await index.search('weather', 10), [2]);
    assert.deepEqual(await index.search('zzqx', 10), []);
    assert.deepEqual(await index.search('fax', 1), [(await index.search('fax', 10))[0]]);
  });

  it('search mode lists at least 85% fewer definition tokens than the full list', (t) => {
    const counter = approximateTokenCounter();
    const full = TOOLS_100.reduce((sum, tool) => sum + countToolTokens(tool, counter), 0);
    const search = countToolTokens(
      searchToolDefinition('search_tools', SEARCH_TOOL_DESCRIPTION, 20),
      counter,
    );
    const saved = 1 - search / full;
    t.diagnostic(
      `definition tokens: full list ${full}, search mode ${search} (${(saved * 100).toFixed(1)}% fewer)`,
    );
    assert.ok(saved >= 0.85, `saved ${saved}`);
  });

  it('refuses bad weights and synonyms with an error naming the option', () => {
    for (const bad of [{ name: -1 }, { nope: 1 }, { synonyms: 'x' }, { synonyms: [[1]] }]) {
      assert.throws(() => bm25Ranker(bad as never), isInvalidOptionError, JSON.stringify(bad));
    }
  });
});
