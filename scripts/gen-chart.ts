// Copies into charts/vaultapp/ the files the chart shares with the rest of the repository
// (CHART_COPIES). Copies, not symlinks: a chart is often vendored, unpacked or diffed by
// tools that do not follow links, and a packaged chart must hold the content anyway.
// `npm run gen:chart` after changing a source; test/manifests/chart-files.test.ts fails
// while a copy differs from its source.
import { copyFileSync, lstatSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHART_COPIES } from '../test/support/chart-copies.js';

const at = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

for (const { copy, source } of CHART_COPIES) {
  // A symlink left from an older checkout would make copyFileSync write through it, onto the source.
  if (lstatSync(at(copy), { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(at(copy));
  copyFileSync(at(source), at(copy));
  console.log(`wrote ${copy} (from ${source})`);
}
