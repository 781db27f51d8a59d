// A VaultApp whose Secret an older release wrote with the key "__proto__", against a real
// Vault and a real PostgreSQL: that release's core put a dynamic credential's username
// under targetKey "__proto__" and recorded the lease, and every later body carrying the
// Secret was refused. Now its finalize, in JSON and in YAML, revokes the lease in Vault
// (the database user is dropped) and releases the VaultApp.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { LEASES_ANNOTATION } from '../../src/hook/leases.js';
import { observeManagedSecret } from '../../src/hook/observed-secret.js';
import { planVaultWork } from '../../src/hook/plan.js';
import { sync } from '../../src/hook/sync.js';
import type { SyncRequest, SyncResponse } from '../../src/hook/types.js';
import { buildApp } from '../../src/http/app.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { loadExample, request } from '../fixtures/requests.js';
import { hookConfig } from '../support/build-app.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { startVaultServer, type VaultServer } from '../support/vault-server.js';

const ROLE = 'billing-app';
const CREDS = `database/creds/${ROLE}`;
let vault: VaultServer;
let pgs: PgServer;
let v: Vault;
let app: FastifyInstance;

async function liveLeases(): Promise<string[]> {
  const res = await vault.request('LIST', `sys/leases/lookup/${CREDS}/`);
  return res.status === 404 ? [] : ((res.body?.data?.keys ?? []) as string[]);
}
async function vaultUsers(): Promise<string[]> {
  return (await pgs.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-%' ORDER BY rolname`)).rows.map((r) => r.rolname);
}

before(async () => {
  [vault, pgs] = await Promise.all([startVaultServer(), startPostgres()]);
  await enableDatabaseSecrets(vault, pgs, { role: ROLE, defaultTtl: '10m', maxTtl: '1h' });
  v = createVault({
    vault: { address: vault.addr, timeoutMs: 3000 },
    auth: { method: 'token', token: vault.token },
    syncDeadlineMs: 6000,
    hmacKey: hookConfig.hmacKey,
  });
  app = await buildApp({ config: hookConfig, reader: v.reader, logger: false });
});

after(async () => {
  await app?.close();
  await Promise.all([vault?.stop(), pgs?.stop()]);
});

/** What an older release answered: the same core and the same Vault edge, no refusal of the key at the edge. */
async function writtenByOlderRelease(uid: string): Promise<SyncRequest> {
  const parent = loadExample();
  parent.metadata = { ...parent.metadata, uid };
  parent.spec.monitoring = { enabled: false };
  parent.spec.vault.secrets = [
    { path: CREDS, key: 'username', targetKey: '__proto__' },
    { path: CREDS, key: 'password', targetKey: 'db_password' },
  ];
  const first = request(parent);
  const now = new Date();
  const plan = planVaultWork(first, now, hookConfig, observeManagedSecret(first, hookConfig.hmacKey));
  const res: SyncResponse = sync(first, await v.reader.material(parent, plan), now, hookConfig);
  const secret = res.children.find((c) => c.kind === 'Secret')!;
  assert.ok(Object.hasOwn(secret.data as object, '__proto__'), 'the older release wrote the key');
  assert.ok(secret.metadata.annotations?.[LEASES_ANNOTATION], 'and recorded the lease');
  return request({ ...parent, status: res.status } as VaultApp, res.children);
}

describe('finalize of a VaultApp whose Secret an older release wrote with "__proto__"', () => {
  for (const format of ['json', 'yaml'] as const) {
    it(`${format}: the lease is revoked in Vault, the database user dropped, the VaultApp released`, async () => {
      const req = await writtenByOlderRelease(`uid-${format}`);
      assert.equal((await liveLeases()).length, 1);
      assert.equal((await vaultUsers()).length, 1);
      const res = await app.inject({
        method: 'POST',
        url: '/finalize',
        headers: { 'content-type': format === 'json' ? 'application/json' : 'application/yaml' },
        payload: format === 'json' ? JSON.stringify(req) : stringify(req),
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as SyncResponse).finalized, true);
      assert.deepEqual(await liveLeases(), []);
      assert.deepEqual(await vaultUsers(), []);
    });
  }
});
