// charts/vaultapp/ as files, without helm: its copies of the repository's files are
// current, and it holds no symlink (a chart is unpacked, vendored and diffed by tools that
// do not follow them).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CHART_COPIES } from '../../scripts/lib/chart-copies.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts/vaultapp');

describe("the chart's files", () => {
  it('each copy equals its source byte for byte (else: npm run gen:chart)', () => {
    for (const { copy, source } of CHART_COPIES) {
      assert.ok(readFileSync(join(ROOT, copy)).equals(readFileSync(join(ROOT, source))), `${copy} differs from ${source}: npm run gen:chart`);
    }
  });

  it('are regular files and directories only: no symlink', () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = join(dir, e.name);
        if (e.isDirectory()) return walk(p);
        return e.isFile() ? [] : [relative(ROOT, p)];
      });
    assert.deepEqual(walk(CHART), []);
  });
});
