// Unit and integration files are told apart by folder (scripts/run-tests.mjs runs
// test/integration/ one file at a time and leaves it out of `npm run test:unit`), so the
// folder has to be right: a file starts a real binary exactly when it is under
// test/integration/. "Starts a binary" is read from the imports: a file that reaches, through
// relative value imports, one of the harnesses below. Type-only imports load nothing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEST = join(ROOT, 'test');
const INTEGRATION = `${join(TEST, 'integration')}/`;

/** The harnesses that start Vault, kube-apiserver and etcd, PostgreSQL, kubectl or helm, or run the scripts that fetch and build them. */
const HARNESSES = ['vault-server', 'kube-apiserver', 'postgres', 'kustomize', 'helm', 'local'].map((n) => join(TEST, 'support', `${n}.ts`));

/** Support files that start a process but no binary a test has to fetch: the system's openssl, in milliseconds. */
const OTHER_PROCESSES = [join(TEST, 'support', 'tls-certs.ts')];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports and re-exports of `file` that load a module at run time, as .ts paths. */
function valueImports(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?([^;]*?)\s*from\s+'(\.[^']+)'/gms)) {
    const [, , typeOnly, clause, spec] = m;
    if (typeOnly) continue;
    const names = /^\{([^}]*)\}$/s.exec(clause!.trim());
    if (names && names[1]!.split(',').every((n) => !n.trim() || n.trim().startsWith('type '))) continue;
    out.push(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
  }
  for (const m of text.matchAll(/^import\s+'(\.[^']+)'/gm)) out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  return out;
}

/** The harnesses `file` reaches through value imports inside test/. */
function harnessesReached(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  if (HARNESSES.includes(file)) return [file];
  return valueImports(file)
    .filter((f) => f.startsWith(`${TEST}/`))
    .flatMap((f) => harnessesReached(f, seen));
}

const testFiles = files(TEST).filter((f) => f.endsWith('.test.ts'));
const rel = (f: string) => relative(ROOT, f);

test('no file outside test/integration/ reaches a harness that starts a binary', () => {
  const wrong = testFiles.filter((f) => !f.startsWith(INTEGRATION)).map((f) => [rel(f), harnessesReached(f).map(rel)] as const);
  assert.deepEqual(
    wrong.filter(([, h]) => h.length > 0),
    [],
  );
});

test('every file in test/integration/ reaches a harness that starts a binary', () => {
  const idle = testFiles.filter((f) => f.startsWith(INTEGRATION) && harnessesReached(f).length === 0).map(rel);
  assert.deepEqual(idle, []);
});

test('the harness list names every support file that starts a process', () => {
  // A new harness that spawns something is listed above (or as another process) before a unit file can import it unnoticed.
  const spawning = files(join(TEST, 'support')).filter((f) => /from 'node:child_process'/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(spawning.map(rel).sort(), [...HARNESSES, ...OTHER_PROCESSES].map(rel).sort());
});

test('no file under test/ imports bench/ or scripts/ (they import test/support, never the other way)', () => {
  const outward = files(TEST)
    .filter((f) => /from '(\.\.\/)+(bench|scripts)\//.test(readFileSync(f, 'utf8')))
    .map(rel);
  assert.deepEqual(outward, []);
});

test('type-only imports load nothing; value imports and re-exports do', () => {
  const here = join(TEST, 'x', 'a.ts');
  const text = [
    "import type { KubeServer } from '../support/kube-apiserver.js';",
    "import { type VaultServer } from '../support/vault-server.js';",
    "import { freePort } from '../support/local.js';",
    "export { startPostgres } from '../support/postgres.js';",
    "import {\n  type A,\n  kustomizeText,\n} from '../support/kustomize.js';",
  ].join('\n');
  assert.deepEqual(
    valueImports(here, text).map(rel),
    ['local', 'postgres', 'kustomize'].map((n) => `test/support/${n}.ts`),
  );
});

test('the integration folder and the unit folders both hold files (the checks above are not vacuous)', () => {
  assert.ok(testFiles.filter((f) => f.startsWith(INTEGRATION)).length > 10);
  assert.ok(testFiles.filter((f) => !f.startsWith(INTEGRATION)).length > 10);
  assert.ok(harnessesReached(`${INTEGRATION}vault-server.test.ts`).length > 0);
});
