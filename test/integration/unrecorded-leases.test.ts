// A VaultApp whose sync fails for one path while another path issues a database
// credential: the Secret keeps what it had, so nothing records the new credential.
// The hook revokes it before answering, against a real Vault and a real PostgreSQL:
// no database user and no Vault lease is left behind, however often the sync retries.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

const ROLE = 'billing-app';
let vault: VaultServer;
let pgs: PgServer;
let v: Vault;
let app: FastifyInstance;

function appWith(secrets: VaultApp['spec']['vault']['secrets'], uid: string): VaultApp {
  const a = loadExample();
  a.metadata = { ...a.metadata, uid };
  a.spec.vault = { ...a.spec.vault, secrets };
  a.spec.monitoring = { enabled: false };
  return a;
}

/** Leases Vault holds for the role's credentials. */
async function liveLeases(): Promise<string[]> {
  const res = await vault.request('LIST', `sys/leases/lookup/database/creds/${ROLE}/`);
  return res.status === 404 ? [] : ((res.body?.data?.keys ?? []) as string[]);
}

/** PostgreSQL login roles Vault made (its usernames start with "v-"). */
async function vaultUsers(): Promise<string[]> {
  return (await pgs.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%' ORDER BY rolname`)).rows.map((r) => r.rolname);
}

before(async (t) => {
  [vault, pgs] = await Promise.all([startVaultServer(), startPostgres()]);
  await enableDatabaseSecrets(vault, pgs, { role: ROLE, defaultTtl: '10m', maxTtl: '1h' });
  await enableKv(vault, 'kv', 2);
  await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'px-key-1' });
  v = createVault({
    vault: { address: vault.addr, timeoutMs: 3000 },
    auth: { method: 'token', token: vault.token },
    syncDeadlineMs: 6000,
    hmacKey: hookConfig.hmacKey,
  });
  app = await build(t, v.reader, {}, { now: wallClock });
});

after(async () => {
  await Promise.all([vault?.stop(), pgs?.stop()]);
});

describe('credentials issued in a sync that fails for another path', () => {
  it('are revoked before the answer: three failing syncs leave no database user and no lease', async () => {
    const mc = new MetacontrollerDriver(
      app,
      appWith(
        [
          { path: `database/creds/${ROLE}`, key: 'password', targetKey: 'db_password' },
          { path: 'kv/data/billing/not-written-yet', key: 'key', targetKey: 'provider_key' },
        ],
        'uid-failing',
      ),
    );
    for (let i = 0; i < 3; i++) {
      const res = await mc.sync();
      const synced = res.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
      assert.equal(synced.status, 'False');
      assert.match(synced.message, /kv\/data\/billing\/not-written-yet/);
      assert.equal(
        res.children.find((c) => c.kind === 'Secret'),
        undefined,
        'no Secret on a first sync that failed',
      );
    }
    assert.equal(v.reader.stats.leasesIssued, 3, 'each sync issued a credential');
    assert.equal(v.reader.stats.leasesRevoked, 3, 'and revoked it');
    assert.deepEqual(await liveLeases(), []);
    assert.deepEqual(await vaultUsers(), []);
  });

  it('once the other path exists, the credential is recorded on the Secret and stays alive', async () => {
    const before = v.reader.stats.leasesRevoked;
    await writeKv(vault, 'kv', 2, 'billing/provider-y', { key: 'py-key-1' });
    const mc = new MetacontrollerDriver(
      app,
      appWith(
        [
          { path: `database/creds/${ROLE}`, key: 'password', targetKey: 'db_password' },
          { path: 'kv/data/billing/provider-y', key: 'key', targetKey: 'provider_key' },
        ],
        'uid-healthy',
      ),
    );
    const res = await mc.sync();
    assert.equal(res.status.conditions!.find((c) => c.type === 'SecretsSynced')!.status, 'True');
    assert.equal(v.reader.stats.leasesRevoked, before, 'nothing revoked');
    assert.equal((await liveLeases()).length, 1);
    assert.equal((await vaultUsers()).length, 1);
    assert.equal(typeof mc.secretValues()?.db_password, 'string');
  });
});
