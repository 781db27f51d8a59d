// The container image runs the hook on Node 26 (Dockerfile), the tests on the
// machine's Node 20. This test builds the hook as the image does (tsc → dist), starts
// `node <the Dockerfile's flags> dist/src/server.js` on Node 26 (fetched by
// scripts/ensure-node-lts.sh from the npm registry), against a real Vault, and checks
// a sync, the probes, /metrics and a graceful SIGTERM.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { productionNodeFlags } from '../support/node-flags.js';
import { freePort, runEnsureScript } from '../support/local.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
// Inside the repository, so that dist/ resolves packages from its node_modules as in the image.
const outDir = fileURLToPath(new URL('../../node_modules/.cache/vaultapp-node-lts/', import.meta.url));

let vault: VaultServer;
let node: string;
let hook: ChildProcess | undefined;
let base: string;
let output = '';

before(async () => {
  const [ensured, v] = await Promise.all([
    runEnsureScript('ensure-node-lts.sh'),
    startVaultServer(),
    (async () => {
      rmSync(outDir, { recursive: true, force: true });
      await run(process.execPath, [`${repo}node_modules/typescript/bin/tsc`, '-p', `${repo}tsconfig.build.json`, '--outDir', outDir], { cwd: repo });
    })(),
  ]);
  node = ensured[ensured.length - 1]!;
  vault = v;
  await enableKv(vault, 'kv', 2);
  await writeKv(vault, 'kv', 2, 'billing/database', { url: 'postgres://billing:lts-secret@db:5432/billing' });
  await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'lts-provider-key' });

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT')));
  hook = spawn(node, [...productionNodeFlags(), `${outDir}src/server.js`], {
    cwd: repo,
    env: {
      ...env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.token,
      VAULTAPP_AUTH: 'token',
      VAULTAPP_HMAC_KEY: 'node-lts-test-hmac-key-0123456789',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hook.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  hook.stderr!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (hook.exitCode !== null) throw new Error(`the hook exited with ${hook.exitCode} on ${node}:\n${output}`);
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the hook on ${node} was not ready within 30 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (hook && hook.exitCode === null) hook.kill('SIGKILL');
  await vault?.stop();
  rmSync(outDir, { recursive: true, force: true });
});

describe("the built hook on the image's Node release line", () => {
  it("runs on Node 26 with the Dockerfile's flags", async () => {
    const { stdout } = await run(node, ['--version'], { encoding: 'utf8' });
    assert.match(stdout, /^v26\./);
    assert.match((await run(node, [...productionNodeFlags(), '-p', 'process.execArgv.join(" ")'], { encoding: 'utf8' })).stdout, /--heap-growing-percent=50/);
  });

  it("syncs the seed example against Vault: the Secret holds Vault's values", async () => {
    const res = await fetch(`${base}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: await readFile(`${repo}examples/sync-request.yaml`, 'utf8'),
    });
    assert.equal(res.status, 200, output);
    const body = (await res.json()) as { children: Array<{ kind: string; data?: Record<string, string> }> };
    const secret = body.children.find((c) => c.kind === 'Secret')!;
    const values = Object.fromEntries(Object.entries(secret.data!).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    assert.deepEqual(values, { db_url: 'postgres://billing:lts-secret@db:5432/billing', provider_x_api_key: 'lts-provider-key' });
  });

  it('answers the probes and /metrics', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^vaultapp_sync_duration_seconds_count\{outcome="[a-z_]+"\} 1$/m);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => hook!.once('exit', (code) => resolve(code)));
    hook!.kill('SIGTERM');
    assert.equal(await exited, 0, output);
  });
});
