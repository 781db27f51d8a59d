// scripts/ensure-vault.sh, scripts/ensure-kube.sh and scripts/ensure-kubectl.sh use a binary
// the user already has (VAULT_BIN, KUBE_APISERVER_BIN, ETCD_BIN, KUBECTL_BIN, or on PATH) when it runs and reports a
// supported version, say on stderr which one and why, skip the others with the reason,
// and otherwise fall back to the pinned build. The fallback cases use the real cache,
// where the pinned binaries already are (a cold one would build them: minutes), so every
// case here takes milliseconds once `before` has made sure of them.
import assert from 'node:assert/strict';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, test } from 'node:test';
import { runEnsureScriptCaptured } from '../support/local.js';

let dir: string;
let pinnedVault: string;
let pinnedApiserver: string;
let pinnedEtcd: string;
let pinnedKubectl: string;

/** PATH without any directory holding a vault, bao, kube-apiserver or etcd of the user's. */
function cleanPath(): string {
  const has = (d: string, n: string) => {
    try {
      accessSync(join(d, n), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d && !['vault', 'bao', 'kube-apiserver', 'etcd'].some((n) => has(d, n)))
    .join(delimiter);
}

/** The environment of a script run: ours less the variables under test, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: cleanPath() };
  for (const k of ['VAULT_BIN', 'KUBE_APISERVER_BIN', 'ETCD_BIN', 'KUBECTL_BIN', 'VAULTAPP_PINNED_ONLY']) delete env[k];
  return { ...env, ...extra };
}

function fake(name: string, output: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\necho '${output}'\n`);
  chmodSync(p, 0o755);
  return p;
}

async function ensure(script: string, extra: Record<string, string>) {
  const r = await runEnsureScriptCaptured(script, envWith(extra));
  assert.equal(r.code, 0, r.stderr);
  return { paths: r.stdout.trim().split('\n'), stderr: r.stderr };
}

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), 'vaultapp-ensure-bin-'));
    // The pinned binaries (built here only on a cold cache, as every integration test would).
    [pinnedVault] = (await ensure('ensure-vault.sh', { VAULTAPP_PINNED_ONLY: '1' })).paths as [string];
    [pinnedApiserver, pinnedEtcd] = (await ensure('ensure-kube.sh', { VAULTAPP_PINNED_ONLY: '1' })).paths as [string, string];
    [pinnedKubectl] = (await ensure('ensure-kubectl.sh', { VAULTAPP_PINNED_ONLY: '1' })).paths as [string];
  },
  { timeout: 60 * 60_000 },
);

after(() => rmSync(dir, { recursive: true, force: true }));

test('VAULT_BIN naming a supported Vault is used as it is, without a build', async () => {
  const link = join(dir, 'my-vault');
  symlinkSync(pinnedVault, link);
  const { paths, stderr } = await ensure('ensure-vault.sh', { VAULT_BIN: link });
  assert.deepEqual(paths, [link]);
  assert.match(stderr, /using .*my-vault \(Vault v\d+\.\d+\.\d+, from VAULT_BIN\)/);
  assert.doesNotMatch(stderr, /building/);
});

test('a vault on PATH is used when VAULT_BIN is unset', async () => {
  const bin = mkdtempSync(join(dir, 'path-'));
  symlinkSync(pinnedVault, join(bin, 'vault'));
  const { paths, stderr } = await ensure('ensure-vault.sh', { PATH: `${bin}${delimiter}${cleanPath()}` });
  assert.deepEqual(paths, [join(bin, 'vault')]);
  assert.match(stderr, /from vault on PATH/);
});

test('an OpenBao 2.x is accepted by its version', async () => {
  const bao = fake('bao', 'OpenBao v2.1.0 (0000000), built 2024-11-29T00:00:00Z');
  const { paths, stderr } = await ensure('ensure-vault.sh', { VAULT_BIN: bao });
  assert.deepEqual(paths, [bao]);
  assert.match(stderr, /OpenBao v2\.1\.0, from VAULT_BIN/);
});

test('a Vault too old is skipped with its version and the supported range; the pinned one is used', async () => {
  const old = fake('old-vault', 'Vault v1.9.0 (0000000), built 2021-11-29T00:00:00Z');
  const { paths, stderr } = await ensure('ensure-vault.sh', { VAULT_BIN: old });
  assert.deepEqual(paths, [pinnedVault]);
  assert.match(stderr, /skipping .*old-vault \(from VAULT_BIN\): reports Vault v1\.9\.0; supported: Vault >= 1\.15/);
  assert.match(stderr, /using .* \(the pinned Vault v/);
});

test('something that is not Vault, or not executable, is skipped with the reason', async () => {
  const other = fake('not-vault', 'hello');
  let r = await ensure('ensure-vault.sh', { VAULT_BIN: other });
  assert.deepEqual(r.paths, [pinnedVault]);
  assert.match(r.stderr, /skipping .*not-vault \(from VAULT_BIN\): 'version' printed no Vault or OpenBao version: hello/);

  const plain = join(dir, 'plain-file');
  writeFileSync(plain, '');
  r = await ensure('ensure-vault.sh', { VAULT_BIN: plain });
  assert.deepEqual(r.paths, [pinnedVault]);
  assert.match(r.stderr, /skipping .*plain-file \(from VAULT_BIN\): not executable/);
});

test('VAULTAPP_PINNED_ONLY=1 (CI) ignores VAULT_BIN and PATH', async () => {
  const bin = mkdtempSync(join(dir, 'path-'));
  symlinkSync(pinnedVault, join(bin, 'vault'));
  const { paths, stderr } = await ensure('ensure-vault.sh', {
    VAULTAPP_PINNED_ONLY: '1',
    VAULT_BIN: join(bin, 'vault'),
    PATH: `${bin}${delimiter}${cleanPath()}`,
  });
  assert.deepEqual(paths, [pinnedVault]);
  assert.match(stderr, /VAULTAPP_PINNED_ONLY=1: ignoring VAULT_BIN=/);
});

test('kube-apiserver and etcd are chosen each on its own', async () => {
  const oldApiserver = fake('old-apiserver', 'Kubernetes v1.20.0');
  const etcd = join(dir, 'my-etcd');
  symlinkSync(pinnedEtcd, etcd);
  const { paths, stderr } = await ensure('ensure-kube.sh', { KUBE_APISERVER_BIN: oldApiserver, ETCD_BIN: etcd });
  assert.deepEqual(paths, [pinnedApiserver, etcd]);
  assert.match(stderr, /skipping .*old-apiserver \(from KUBE_APISERVER_BIN\): reports kube-apiserver v1\.20\.0; supported: >= 1\.\d+\.0/);
  assert.match(stderr, /using .*my-etcd \(etcd v3\.\d+\.\d+, from ETCD_BIN\)/);

  const apiserver = join(dir, 'my-apiserver');
  symlinkSync(pinnedApiserver, apiserver);
  const both = await ensure('ensure-kube.sh', { KUBE_APISERVER_BIN: apiserver, ETCD_BIN: etcd });
  assert.deepEqual(both.paths, [apiserver, etcd]);
});

// kubectl is wanted for its Kustomize (the manifest tests render metacontroller/ with it).
// /usr/bin may hold a kubectl, so PATH is not cleaned of it: a fake kubectl first on PATH
// hides any other, since only the first one found is considered.
function fakeKubectl(name: string, client: string, kustomize: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\nprintf 'Client Version: ${client}\\nKustomize Version: ${kustomize}\\n'\n`);
  chmodSync(p, 0o755);
  return p;
}
function pathWithKubectl(target: string): string {
  const bin = mkdtempSync(join(dir, 'path-'));
  symlinkSync(target, join(bin, 'kubectl'));
  return `${bin}${delimiter}${cleanPath()}`;
}

test('the pinned kubectl reports the pinned Kubernetes version and Kustomize v5', async () => {
  const { stderr } = await ensure('ensure-kubectl.sh', { VAULTAPP_PINNED_ONLY: '1' });
  assert.match(pinnedKubectl, /kubectl-v1\.\d+\.\d+$/);
  assert.match(stderr, /using .* \(the pinned kubectl v1\.\d+\.\d+, Kustomize v5\.\d+\.\d+\)/);
});

test('KUBECTL_BIN naming a kubectl with Kustomize v5 is used as it is, without a build', async () => {
  const mine = fakeKubectl('my-kubectl', 'v1.30.1', 'v5.0.4-0.20230601165947-6ce0bf390ce3');
  const { paths, stderr } = await ensure('ensure-kubectl.sh', { KUBECTL_BIN: mine, PATH: pathWithKubectl(fakeKubectl('k4', 'v1.26.0', 'v4.5.7')) });
  assert.deepEqual(paths, [mine]);
  assert.match(stderr, /using .*my-kubectl \(kubectl v1\.30\.1, Kustomize v5\.0\.4-.*, from KUBECTL_BIN\)/);
  assert.doesNotMatch(stderr, /building/);
});

test('a kubectl on PATH is used when KUBECTL_BIN is unset', async () => {
  const path = pathWithKubectl(pinnedKubectl);
  const { paths, stderr } = await ensure('ensure-kubectl.sh', { PATH: path });
  assert.deepEqual(paths, [join(path.split(delimiter)[0]!, 'kubectl')]);
  assert.match(stderr, /from kubectl on PATH/);
});

test('a kubectl with Kustomize v4, or none, is skipped with the reason; the pinned one is used', async () => {
  const old = fakeKubectl('old-kubectl', 'v1.26.0', 'v4.5.7');
  const none = join(dir, 'no-kustomize');
  writeFileSync(none, '#!/bin/sh\necho "Client Version: v1.37.0"\n');
  chmodSync(none, 0o755);
  const { paths, stderr } = await ensure('ensure-kubectl.sh', { KUBECTL_BIN: old, PATH: pathWithKubectl(none) });
  assert.deepEqual(paths, [pinnedKubectl]);
  assert.match(stderr, /skipping .*old-kubectl \(from KUBECTL_BIN\): reports Kustomize v4\.5\.7; supported: v5\.x/);
  assert.match(stderr, /skipping .*kubectl \(from kubectl on PATH\): reports Kustomize \(none\); supported: v5\.x/);
});

test('VAULTAPP_PINNED_ONLY=1 (CI) ignores KUBECTL_BIN and a kubectl on PATH', async () => {
  const mine = fakeKubectl('ci-kubectl', 'v1.37.2', 'v5.8.1');
  const { paths, stderr } = await ensure('ensure-kubectl.sh', { VAULTAPP_PINNED_ONLY: '1', KUBECTL_BIN: mine, PATH: pathWithKubectl(mine) });
  assert.deepEqual(paths, [pinnedKubectl]);
  assert.match(stderr, /VAULTAPP_PINNED_ONLY=1: ignoring KUBECTL_BIN=/);
});
