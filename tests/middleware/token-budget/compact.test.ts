import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  collapseWhitespace,
  compactText,
  minifyJson,
  tabulate,
} from '../../../src/middleware/token-budget/compact.js';

describe('compaction', () => {
  it('minifies pretty JSON without touching strings, numbers or key order', () => {
    const text =
      '{\n  "b": "two  spaces\\n and \\"quotes\\"",\n  "a": [1.0, 12345678901234567890, -0.5e10],\n  "c": { }\n}\n';
    assert.equal(
      minifyJson(text),
      '{"b":"two  spaces\\n and \\"quotes\\"","a":[1.0,12345678901234567890,-0.5e10],"c":{}}',
    );
  });

  it('leaves alone what is not pretty JSON', () => {
    assert.equal(minifyJson('{"a":1}'), undefined, 'already one line');
    assert.equal(minifyJson('{ not json\n}'), undefined);
    assert.equal(minifyJson('plain\ntext'), undefined);
  });

  it('drops trailing spaces and runs of blank lines, keeps indentation and aligned columns', () => {
    const text = 'name    size  \n  a.txt   12\t\n\n\n\n  b.txt   7\r\n\r\n\r\nend';
    assert.equal(collapseWhitespace(text), 'name    size\n  a.txt   12\n\n  b.txt   7\r\n\r\nend');
    assert.equal(compactText('[\n 1,\n 2\n]'), '[1,2]');
  });

  it('collapses exactly what the rewrite rules match, and returns a text with nothing to collapse as is', () => {
    const rules = (text: string) =>
      text.replace(/[ \t]+(?=\r?\n|$)/g, '').replace(/(\r?\n)(?:[ \t]*\r?\n){2,}/g, '$1$1');
    const pieces = ['a', 'b c', ' ', '\t', '\n', '\r', '\r\n', '  x', '{}', 'é'];
    let seed = 7;
    const pick = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return pieces[seed % pieces.length]!;
    };
    for (let i = 0; i < 3_000; i++) {
      let text = '';
      for (let n = i % 12; n > 0; n--) text += pick();
      assert.equal(collapseWhitespace(text), rules(text), JSON.stringify(text));
    }
    const log = 'line one\nline two\r\n\r\nline three';
    assert.equal(collapseWhitespace(log), log);
    assert.equal(collapseWhitespace('a \r'), 'a \r', 'a lone CR ends no line');
  });

  it('tabulates uniform arrays of scalars so that they read back to the same values', () => {
    const rows = [
      { id: 1, name: 'a, b', ok: true, note: null },
      { id: 2, name: '42', ok: false, note: 'plain' },
      { id: 3, name: ' padded', ok: true, note: 'say "hi"' },
    ];
    const table = tabulate(JSON.stringify(rows, null, 2))!;
    assert.equal(
      table,
      '[3]{id,name,ok,note}:\n1,"a, b",true,null\n2,"42",false,plain\n3," padded",true,"say \\"hi\\""',
    );
    // Read it back: quoted cells are JSON strings, bare cells are JSON scalars or plain strings.
    const [, ...lines] = table.split('\n');
    const back = lines.map((line) => {
      const cells = line.match(/("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/g)!.map((c) => c.replace(/,$/, ''));
      return Object.fromEntries(
        ['id', 'name', 'ok', 'note'].map((key, i) => {
          const cell = cells[i]!;
          let value: unknown;
          try {
            value = JSON.parse(cell);
          } catch {
            value = cell;
          }
          return [key, value];
        }),
      );
    });
    assert.deepEqual(back, rows);
  });

  it('does not tabulate nested, ragged or tiny arrays', () => {
    assert.equal(tabulate('[{"a":1},{"a":{"b":2}}]'), undefined);
    assert.equal(tabulate('[{"a":1},{"b":1}]'), undefined);
    assert.equal(tabulate('[{"a":1,"b":2},{"b":2,"a":1}]'), undefined);
    assert.equal(tabulate('[{"a":1}]'), undefined);
    assert.equal(tabulate('{"a":[1,2]}'), undefined);
  });
});
