// Runs the test files under test/ with node's test runner through tsx.
// Node 20's --test takes no globs, so the files are listed here.
// A file under test/integration/ starts a real binary (Vault, kube-apiserver, etcd,
// kubectl, helm, PostgreSQL); every other file is a unit file (test/layout/ checks which
// side each file is on). --unit runs only the unit files: the loop of `npm run test:unit`.
// Unit files run two at a time (they share nothing but the CPU); integration files run
// one at a time, since several start servers of their own and a cold cache builds binaries.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';

const INTEGRATION = join('test', 'integration') + sep;

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

function run(files, concurrency) {
  if (files.length === 0) return 0;
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files];
  return spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1;
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const only = args.filter((a) => a !== '--unit').map((f) => join(f));
const files = (only.length ? only : find('test')).sort();
const integration = files.filter((f) => f.startsWith(INTEGRATION));
const unit = files.filter((f) => !f.startsWith(INTEGRATION));
const unitStatus = run(unit, 2);
const integrationStatus = unitOnly ? 0 : run(integration, 1);
process.exit(unitStatus || integrationStatus);
