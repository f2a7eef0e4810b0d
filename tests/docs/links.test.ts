import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of markdown.replace(/^```[\s\S]*?^```/gm, '').split('\n')) {
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (heading === null) continue;
    const base = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function linksOf(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

describe('Markdown links in README.md and docs/', () => {
  it('finds the pages to check', () => {
    assert.ok(PAGES.includes('docs/README.md'), 'docs/README.md, the index, exists');
  });

  for (const page of PAGES) {
    it(`every relative link in ${page} reaches a file, and its anchor a heading`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8');
      const broken: string[] = [];
      for (const link of linksOf(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path = '', anchor] = link.split('#', 2);
        const target = path === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path);
        if (!target.startsWith(ROOT) || !existsSync(target)) {
          broken.push(`${link}: no file ${relative(ROOT, target)}`);
          continue;
        }
        if (anchor !== undefined && target.endsWith('.md') && statSync(target).isFile()) {
          if (!anchorsOf(readFileSync(target, 'utf8')).has(anchor))
            broken.push(`${link}: no heading #${anchor}`);
        }
      }
      assert.deepEqual(broken, []);
    });
  }

  it('every docs page is reachable from the README through the index', () => {
    const index = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
    assert.ok(linksOf(readFileSync(join(ROOT, 'README.md'), 'utf8')).includes('docs/README.md'));
    const listed = new Set(linksOf(index).map((l) => l.split('#')[0]));
    const unlisted = PAGES.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md').filter(
      (p) => !listed.has(p.slice('docs/'.length)),
    );
    assert.deepEqual(unlisted, []);
  });
});

describe('README examples', () => {
  it('every TypeScript block appears verbatim in a type-checked file under examples/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
    assert.ok(blocks.length >= 5, 'the README has its examples');
    const sources: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) sources.push(readFileSync(path, 'utf8'));
      }
    };
    walk(join(ROOT, 'examples'));
    const missing = blocks.filter((block) => !sources.some((source) => source.includes(block)));
    assert.deepEqual(missing, []);
  });

  it('is at most 20 KB', () => {
    assert.ok(statSync(join(ROOT, 'README.md')).size <= 20 * 1024);
  });
});
