// The documentation is read on GitHub and in a clone. These tests keep it from pointing at
// what a reader does not have: a file or heading that moved, a directory outside the
// repository, an environment variable the hook reads but no page explains.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config/config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const pages = ['README.md', 'SECURITY.md', ...readdirSync(join(root, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : []))];

/** The text outside fenced code blocks, line by line (a `#` or `[x](y)` in code is not markdown). */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/**
 * GitHub's anchor of a heading: the text of its links, lower case, punctuation (backticks and
 * asterisks too, not underscores) dropped, spaces to hyphens, repeats numbered.
 */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = (m[1] as string).replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Inline links `[text](target)` of the prose, without code spans. */
function linksOf(markdown: string): string[] {
  return proseLines(markdown).flatMap((line) => [...line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] as string));
}

describe('GitHub anchors', () => {
  it('are made as GitHub makes them', () => {
    const anchors = anchorsOf(
      [
        "## The Secret's type, labels and annotations",
        '## Refresh interval, drift repair, forced refresh',
        '## `VAULTAPP_AUTH` and TLS',
        '## Setup',
        '## Setup',
        '```sh',
        '# not a heading',
        '```',
      ].join('\n'),
    );
    assert.deepEqual(
      [...anchors],
      ['the-secrets-type-labels-and-annotations', 'refresh-interval-drift-repair-forced-refresh', 'vaultapp_auth-and-tls', 'setup', 'setup-1'],
    );
  });
});

describe('links', () => {
  for (const page of pages) {
    it(`every relative link of ${page} resolves to a file, and a #fragment to a heading of it`, () => {
      const broken: string[] = [];
      const text = read(page);
      for (const link of linksOf(text)) {
        if (/^[a-z][a-z+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path = '', fragment] = link.split('#', 2);
        const target = path === '' ? join(root, page) : join(root, dirname(page), decodeURIComponent(path));
        if (relative(root, target).startsWith('..')) {
          broken.push(`${link}: outside the repository`);
          continue;
        }
        if (!existsSync(target)) {
          broken.push(`${link}: no such file`);
          continue;
        }
        if (fragment !== undefined && !anchorsOf(readFileSync(target, 'utf8')).has(fragment)) broken.push(`${link}: no such heading`);
      }
      assert.deepEqual(broken, []);
    });
  }
});

describe('what a clone does not have', () => {
  // Spelled in parts, so that this file does not name what it looks for.
  const needles = [['..', 'shared'].join('/'), ['shared', 'DESIGN.md'].join('/'), ['', 'work', 'shared'].join('/')];

  it('no tracked file points at the design notes outside the repository', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter(Boolean);
    assert.ok(files.includes('README.md'), 'git ls-files lists the repository');
    const naming = files.filter((f) => {
      const st = lstatSync(join(root, f), { throwIfNoEntry: false });
      if (!st?.isFile()) return false;
      const text = readFileSync(join(root, f), 'utf8');
      return needles.some((n) => text.includes(n));
    });
    assert.deepEqual(naming, []);
  });

  it('the documentation cites no design-principle numbers or issue numbers', () => {
    const citing = pages.flatMap((page) =>
      proseLines(read(page)).flatMap((line, i) => (/\bprinciples? \d|\bissues? #?\d|#\d{1,4}\b(?!-)/i.test(line) ? [`${page}:${i + 1}: ${line.trim()}`] : [])),
    );
    assert.deepEqual(citing, []);
  });
});

describe('docs/configuration.md', () => {
  const doc = read('docs/configuration.md');
  const hookPart = doc.split(/^## For development and tests only$/m)[0] as string;
  const documented = new Set([...hookPart.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string));

  it('documents every environment variable the hook reads', () => {
    const read = Object.keys(EnvSchema.properties);
    assert.ok(read.length > 20);
    assert.deepEqual(
      read.filter((v) => !documented.has(v)),
      [],
    );
  });

  it("documents no variable the hook does not read in the hook's table", () => {
    const known = new Set(Object.keys(EnvSchema.properties));
    const rows = hookPart.split('\n').filter((l) => l.startsWith('| `'));
    const firstColumn = rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string));
    assert.ok(firstColumn.length > 20);
    assert.deepEqual(
      firstColumn.filter((v) => !known.has(v)),
      [],
    );
  });
});

describe('README', () => {
  it('the first VaultApp is examples/billing-service.yaml, field for field', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## A first VaultApp'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section);
    assert.ok(block, 'the section shows the example');
    assert.deepStrictEqual(parse(block[1] as string), parse(read('examples/billing-service.yaml')));
  });

  it('shows curl for both forms of the sample request', () => {
    const readme = read('README.md');
    assert.match(readme, /-H 'Content-Type: application\/yaml'[^\n]*\\\n\s+--data-binary @examples\/sync-request\.yaml /);
    assert.match(readme, /-H 'Content-Type: application\/json'[^\n]*\\\n\s+--data-binary @examples\/sync-request\.json /);
  });
});
