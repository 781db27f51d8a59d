// Runs the test files under test/ with node's test runner through tsx.
// Node 20's --test takes no globs, so the files are listed here.
// A file under test/integration/ starts a real binary (Vault, kube-apiserver, etcd,
// kubectl, helm, PostgreSQL); every other file is a unit file (test/layout/ checks which
// side each file is on). --unit runs only the unit files: the loop of `npm run test:unit`.
// Unit files run two at a time (they share nothing but the CPU); integration files run
// one at a time, since several start servers of their own and a cold cache builds binaries.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';

const INTEGRATION = join('test', 'integration') + sep;

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? find(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

// Each run's output goes through as it comes; its summary counts are read from the spec
// reporter's closing lines, so that one line at the end says what the two runs did together.
function run(files, concurrency) {
  if (files.length === 0) return Promise.resolve({ status: 0, pass: 0, fail: 0, seconds: 0 });
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files];
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['inherit', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (code, signal) => {
      const count = (word) => Number(tail.match(new RegExp(`^ℹ ${word} (\\d+)$`, 'm'))?.[1] ?? 0);
      resolve({ status: code ?? (signal ? 1 : 0), pass: count('pass'), fail: count('fail'), seconds: Math.round((Date.now() - started) / 1000) });
    });
  });
}

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const only = args.filter((a) => a !== '--unit').map((f) => join(f));
const files = (only.length ? only : find('test')).sort();
const integration = files.filter((f) => f.startsWith(INTEGRATION));
const unit = files.filter((f) => !f.startsWith(INTEGRATION));
const unitRun = await run(unit, 2);
const integrationRun = unitOnly ? { status: 0, pass: 0, fail: 0, seconds: 0 } : await run(integration, 1);
console.log(`unit files: ${unitRun.pass} passed, ${unitRun.fail} failed in ${unitRun.seconds} s`);
if (!unitOnly) console.log(`integration files: ${integrationRun.pass} passed, ${integrationRun.fail} failed in ${integrationRun.seconds} s`);
const failed = unitRun.fail + integrationRun.fail || (unitRun.status || integrationRun.status ? 1 : 0);
console.log(`total: ${unitRun.pass + integrationRun.pass} passed, ${failed} failed`);
process.exit(unitRun.status || integrationRun.status);
