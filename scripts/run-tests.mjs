// Runs every test file under test/ with node's test runner through tsx.
// Node 20's --test takes no globs, so the files are listed here.
// --unit: only the files that start no external binary (Vault, kube-apiserver, etcd,
// PostgreSQL, kubectl): the seconds-long loop of `npm run test:unit`. A file is an
// integration file when it imports one of the harnesses that start those binaries (the
// kustomize harness may build kubectl first: minutes on a cold cache).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const HARNESSES = /from '[./]+(?:support\/)?(?:vault-server|kube-apiserver|kube-vaultapp|postgres|local|kustomize)\.js'/;

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const args = process.argv.slice(2);
const unit = args.includes('--unit');
const only = args.filter((a) => a !== '--unit');
let files = (only.length ? only : find('test')).sort();
if (unit) files = files.filter((f) => !HARNESSES.test(readFileSync(f, 'utf8')));
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
