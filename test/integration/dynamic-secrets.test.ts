// Dynamic database credentials that never break a running application, against
// a real Vault database secrets engine and a real PostgreSQL. A driver plays
// Metacontroller against a real hook process, syncing when resyncAfterSeconds
// says and whenever a child changed; a probe logs in to PostgreSQL with the
// Secret's current credentials once a second while the hook is restarted twice.
// VAULTAPP_SOAK_SECONDS shortens the soak for local runs (default 300).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { loadExample } from '../fixtures/requests.js';
import { freePort } from '../support/local.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { enableJwtAuthAsKubernetes, startVaultServer, writePolicy, type VaultServer } from '../support/vault-server.js';

const SOAK_SECONDS = Number(process.env.VAULTAPP_SOAK_SECONDS ?? 300);
const LEASE_TTL = 60;
const LEASE_MAX_TTL = 180;
const TOKEN_TTL = 45;
const ROTATION_MARGIN = Math.max(10, LEASE_TTL / 3);
const CREDS = 'database/creds/billing';

let vault: VaultServer;
let pg: PgServer;
let hook: ChildProcess | undefined;
let port: number;
const dir = mkdtempSync(join(tmpdir(), 'vaultapp-dynamic-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startHook(): Promise<void> {
  hook = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      VAULT_ADDR: vault.addr,
      VAULTAPP_AUTH: 'kubernetes',
      VAULTAPP_IDENTITY: 'controller',
      VAULTAPP_HOOK_AUTH: 'none',
      VAULTAPP_ALLOWED_ROLES: '{"default": ["billing-db"]}',
      VAULTAPP_K8S_TOKEN_PATH: join(dir, 'jwt'),
      VAULTAPP_HMAC_KEY: 'dynamic-secrets-test-hmac-key',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error('the hook did not start');
}

async function stopHook(): Promise<void> {
  if (!hook || hook.exitCode !== null) return;
  const exited = new Promise((r) => hook!.once('exit', r));
  hook.kill('SIGTERM');
  await exited;
}

function dbApp(name: string, rotation: 'restart' | 'none'): VaultApp {
  const a = loadExample();
  a.metadata = { name, namespace: 'default', uid: `uid-${name}`, generation: 1 };
  a.spec.vault = {
    role: 'billing-db',
    rotation,
    secrets: [
      { path: CREDS, key: 'username', targetKey: 'username' },
      { path: CREDS, key: 'password', targetKey: 'password' },
    ],
  };
  a.spec.monitoring = { enabled: false };
  return a;
}

const issuedAt = async (): Promise<number[]> =>
  (await vault.auditEntries())
    .filter((e) => e.type === 'response' && e.request?.path === CREDS && e.request?.operation === 'read' && !e.error)
    .map((e) => Date.parse(e.time));

before(async () => {
  [vault, pg] = await Promise.all([startVaultServer({ auditLog: true }), startPostgres()]);
  await enableDatabaseSecrets(vault, pg, { role: 'billing', defaultTtl: `${LEASE_TTL}s`, maxTtl: `${LEASE_MAX_TTL}s` });
  await writePolicy(
    vault,
    'billing-db',
    [
      `path "${CREDS}" { capabilities = ["read"] }`,
      // Scoped to this engine's leases: the hook names the lease in the URL.
      `path "sys/leases/renew/${CREDS}/*" { capabilities = ["update"] }`,
      `path "sys/leases/revoke/${CREDS}/*" { capabilities = ["update"] }`,
    ].join('\n'),
  );
  const signer = await enableJwtAuthAsKubernetes(vault, { role: 'billing-db', policies: ['billing-db'], ttl: TOKEN_TTL });
  writeFileSync(join(dir, 'jwt'), signer.signJwt());
  port = await freePort();
  await startHook();
});

after(async () => {
  await stopHook();
  await Promise.all([vault?.stop(), pg?.stop()]);
});

describe(`dynamic database credentials over ${SOAK_SECONDS} s with two hook restarts`, () => {
  it('every probe logs in; credentials issued are the minimum the TTLs force, none on a restart; restart rolls pods once per credential, none never; deletion revokes', async () => {
    const url = `http://127.0.0.1:${port}`;
    const rolling = new MetacontrollerDriver(url, dbApp('billing', 'restart'));
    const steady = new MetacontrollerDriver(url, dbApp('reports', 'none'));
    const drivers = [rolling, steady];
    const next = new Map(drivers.map((d) => [d, 0]));
    const start = Date.now();
    const restarts = [0.25, 0.65].map((f) => start + f * SOAK_SECONDS * 1000);
    const restartedAt: number[] = [];
    const probes = { ok: 0, failed: [] as string[] };
    const usernames = new Set<string>();
    let nextProbe = start + 2000;

    while (Date.now() - start < SOAK_SECONDS * 1000) {
      const now = Date.now();
      if (restarts.length > 0 && now >= restarts[0]!) {
        restarts.shift();
        await stopHook();
        restartedAt.push(Date.now());
        await startHook();
      }
      for (const d of drivers) {
        if (Date.now() < next.get(d)! && !d.changed) continue;
        try {
          const res = await d.sync();
          next.set(d, Date.now() + (res.resyncAfterSeconds ?? 300) * 1000);
        } catch {
          d.changed = false;
          next.set(d, Date.now() + 1000); // Metacontroller retries with backoff
        }
      }
      if (Date.now() >= nextProbe) {
        nextProbe += 1000;
        const creds = rolling.secretValues();
        if (creds?.username && (await pg.canLogin(creds.username, creds.password!))) {
          probes.ok++;
          usernames.add(creds.username);
        } else {
          probes.failed.push(`${Math.round((Date.now() - start) / 1000)} s: ${creds?.username ?? 'no Secret'}`);
        }
      }
      await sleep(50);
    }

    const issued = (await issuedAt()).sort();
    const forcedMin = 2 * Math.ceil(SOAK_SECONDS / LEASE_MAX_TTL);
    const forcedMax = 2 * Math.ceil(SOAK_SECONDS / (LEASE_MAX_TTL - ROTATION_MARGIN));
    console.log(
      `soak: ${probes.ok} probes ok, ${probes.failed.length} failed; ${issued.length} credentials issued for 2 VaultApps (TTLs force ${forcedMin}–${forcedMax}); usernames seen by the probe: ${usernames.size}; restarts at ${restartedAt.map((t) => Math.round((t - start) / 1000)).join(', ')} s; issued at ${issued.map((t) => Math.round((t - start) / 1000)).join(', ')} s; Deployment updates: restart ${rolling.deploymentUpdates}, none ${steady.deploymentUpdates}`,
    );

    assert.deepStrictEqual(probes.failed, [], 'every probe logs in');
    assert.ok(probes.ok >= SOAK_SECONDS - 10, `${probes.ok} probes`);
    assert.ok(issued.length >= forcedMin && issued.length <= forcedMax, `${issued.length} credentials issued`);
    for (const r of restartedAt) {
      assert.ok(!issued.some((t) => t >= r && t < r + 10_000), `a credential was issued within 10 s of the restart at ${Math.round((r - start) / 1000)} s`);
    }
    const rollingIssued = usernames.size;
    assert.equal(rolling.deploymentUpdates, rollingIssued - 1, 'restart: one Deployment update per new credential');
    assert.equal(steady.deploymentUpdates, 0, 'none: the Deployment never changes');

    // Deletion revokes the lease: the database role is gone.
    const last = rolling.secretValues()!;
    assert.equal(await pg.roleExists(last.username!), true);
    const fin = await rolling.finalize();
    assert.equal(fin.finalized, true);
    assert.equal(await pg.roleExists(last.username!), false);
    assert.equal(await pg.canLogin(last.username!, last.password!), false);
  });
});
