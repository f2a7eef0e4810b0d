import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInvalidOptionError } from '../../../src/index.js';
import { compileRules, metaTags, type ToolDefinition } from '../../../src/middleware/tool-filter/rules.js';

const tool = (name: string, extra: Partial<ToolDefinition> = {}): ToolDefinition => ({ name, ...extra });
const visibleNames = (rules: Parameters<typeof compileRules>[2], tools: ToolDefinition[]) => {
  const compiled = compileRules('toolFilter', 'rules', rules);
  return tools.filter((t) => compiled.visible(t, metaTags(t))).map((t) => t.name);
};

const NAMES = [
  'git_status',
  'git_push',
  'github_create_issue',
  'github/admin/delete',
  'read_file',
  'delete_file',
].map((n) => tool(n));

describe('tool rules', () => {
  it('no rules: every tool is visible and the rules say they are empty', () => {
    const compiled = compileRules('toolFilter', 'rules', undefined);
    assert.equal(compiled.empty, true);
    assert.deepEqual(
      visibleNames(undefined, NAMES),
      NAMES.map((t) => t.name),
    );
    assert.equal(compileRules('toolFilter', 'rules', {}).empty, true);
  });

  it('allows by exact name, glob and regular expression', () => {
    assert.deepEqual(visibleNames({ allow: ['read_file'] }, NAMES), ['read_file']);
    assert.deepEqual(visibleNames({ allow: ['git_*'] }, NAMES), ['git_status', 'git_push']);
    assert.deepEqual(visibleNames({ allow: ['github*'] }, NAMES), ['github_create_issue']);
    assert.deepEqual(visibleNames({ allow: ['github**'] }, NAMES), [
      'github_create_issue',
      'github/admin/delete',
    ]);
    assert.deepEqual(visibleNames({ allow: [/_file$/] }, NAMES), ['read_file', 'delete_file']);
  });

  it('deny wins over allow, whatever kind of pattern each is', () => {
    assert.deepEqual(visibleNames({ allow: ['git*'], deny: ['git_push'] }, NAMES), [
      'git_status',
      'github_create_issue',
    ]);
    assert.deepEqual(visibleNames({ allow: [/^git/], deny: ['github_*'] }, NAMES), [
      'git_status',
      'git_push',
      'github/admin/delete',
    ]);
    assert.deepEqual(visibleNames({ allow: ['read_file'], deny: [/file/] }, NAMES), []);
    assert.deepEqual(visibleNames({ deny: [/delete/] }, NAMES), [
      'git_status',
      'git_push',
      'github_create_issue',
      'read_file',
    ]);
  });

  it('a global RegExp gives the same answer on every test (its lastIndex is not carried over)', () => {
    const compiled = compileRules('toolFilter', 'rules', { allow: [/file/g] });
    for (let i = 0; i < 3; i++) assert.equal(compiled.visible(tool('read_file'), []), true);
  });

  it('annotations: declared hints, and the specification defaults for undeclared ones', () => {
    const tools = [
      tool('reads', { annotations: { readOnlyHint: true } }),
      tool('writes', { annotations: { readOnlyHint: false, destructiveHint: false } }),
      tool('destroys', { annotations: { destructiveHint: true } }),
      tool('reads-marked-destructive', { annotations: { readOnlyHint: true, destructiveHint: true } }),
      tool('unannotated'),
    ];
    assert.deepEqual(visibleNames({ annotations: { readOnlyHint: true } }, tools), [
      'reads',
      'reads-marked-destructive',
    ]);
    // Undeclared destructiveHint defaults to true (an unannotated tool may be destructive);
    // a read-only tool is never destructive.
    assert.deepEqual(visibleNames({ annotations: { destructiveHint: false } }, tools), [
      'reads',
      'writes',
      'reads-marked-destructive',
    ]);
    assert.deepEqual(visibleNames({ annotations: { openWorldHint: true } }, tools), [
      'reads',
      'writes',
      'destroys',
      'reads-marked-destructive',
      'unannotated',
    ]);
    assert.equal(
      compileRules('toolFilter', 'rules', { annotations: { readOnlyHint: true } }).needsDefinition,
      true,
    );
  });

  it('tags from _meta: allow needs one of them, deny hides any of them', () => {
    const tools = [
      tool('a', { _meta: { tags: ['files', 'read'] } }),
      tool('b', { _meta: { tags: ['git', 'write'] } }),
      tool('c', { _meta: { tags: ['files', 'destroy'] } }),
      tool('d'),
      tool('e', { _meta: { tags: 'files' } }),
    ];
    assert.deepEqual(visibleNames({ tags: { allow: ['files'] } }, tools), ['a', 'c']);
    assert.deepEqual(visibleNames({ tags: { deny: ['destroy'] } }, tools), ['a', 'b', 'd', 'e']);
    assert.deepEqual(visibleNames({ tags: { allow: ['files'], deny: ['destroy'] } }, tools), ['a']);
  });

  it('every part must agree', () => {
    const tools = [
      tool('git_log', { annotations: { readOnlyHint: true }, _meta: { tags: ['git'] } }),
      tool('git_commit', { annotations: { readOnlyHint: false }, _meta: { tags: ['git'] } }),
      tool('read_file', { annotations: { readOnlyHint: true }, _meta: { tags: ['files'] } }),
    ];
    assert.deepEqual(
      visibleNames(
        { allow: ['git_*', 'read_file'], annotations: { readOnlyHint: true }, tags: { deny: ['files'] } },
        tools,
      ),
      ['git_log'],
    );
  });

  it('bad rules are refused with an error naming the option', () => {
    const bad: [unknown, RegExp][] = [
      ['nope', /options\.rules must be/],
      [{ allow: 'git_*' }, /options\.rules\.allow must be/],
      [{ deny: ['ok', 3] }, /options\.rules\.deny\[1\] must be/],
      [{ deny: [''] }, /options\.rules\.deny\[0\] must be/],
      [{ annotations: { readOnly: true } }, /options\.rules\.annotations must be/],
      [{ annotations: { readOnlyHint: 'yes' } }, /options\.rules\.annotations\.readOnlyHint must be/],
      [{ tags: { allow: [1] } }, /options\.rules\.tags\.allow must be/],
      [{ tags: 'files' }, /options\.rules\.tags must be/],
    ];
    for (const [rules, message] of bad) {
      assert.throws(
        () => compileRules('toolFilter', 'rules', rules as never),
        (error: unknown) => isInvalidOptionError(error) && message.test((error as Error).message),
        JSON.stringify(rules),
      );
    }
  });
});
