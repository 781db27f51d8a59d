// Keys naming a prototype against a real Vault. A KV path whose writer
// put "__proto__" among its keys: dataFrom skips it and says so, and a Secret holding it
// anyway is answered. A VaultApp whose Secret an older release wrote with the key, against a
// real PostgreSQL too: that release's core put a dynamic credential's username under
// targetKey "__proto__" and recorded the lease, and every later body carrying the Secret was
// refused; now its finalize, in JSON and in YAML, revokes the lease in Vault (the database
// user is dropped) and releases the VaultApp.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { LEASES_ANNOTATION } from '../../src/hook/carried-state/leases.js';
import { observeManagedSecret } from '../../src/hook/carried-state/observed-secret.js';
import { planVaultWork } from '../../src/hook/plan.js';
import { sync } from '../../src/hook/sync.js';
import type { SyncRequest, SyncResponse } from '../../src/hook/types.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

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

before(async (t) => {
  vault = await startVaultServer();
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

describe('a Vault path whose writer chose the key names', () => {
  it('"__proto__", "constructor" and "prototype" are skipped and reported; a Secret given "__proto__" by hand is answered without it at every sync; finalize finishes', async () => {
    await enableKv(vault, 'kv', 2);
    await writeKv(vault, 'kv', 2, 'billing/database', { url: 'postgres://db' });
    await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'px' });
    // Own keys, as a JSON body to Vault carries them (an object literal would set the prototype instead).
    await writeKv(vault, 'kv', 2, 'billing/all', JSON.parse('{"__proto__": "p-VALUE", "constructor": "c-VALUE", "prototype": "pr-VALUE", "api_token": "tok"}'));
    const parent = loadExample();
    parent.spec.vault.dataFrom = [{ path: 'kv/data/billing/all' }];
    const mc = new MetacontrollerDriver(app, parent);
    await mc.settle();
    assert.deepStrictEqual(mc.secretValues(), { api_token: 'tok', db_url: 'postgres://db', provider_x_api_key: 'px' });
    const synced = mc.last!.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
    assert.equal(synced.reason, 'SyncedWithSkippedKeys');
    for (const name of ['__proto__', 'constructor', 'prototype']) assert.match(synced.message, new RegExp(`key "${name}" at path "kv/data/billing/all"`));
    assert.doesNotMatch(JSON.stringify(mc.last!.status), /VALUE/);

    // Someone with update rights on the Secret adds the key (the driver sends the body as JSON text).
    const secret = structuredClone(mc.child('Secret', 'billing-service-vault-secrets')!);
    secret.data = JSON.parse(JSON.stringify(secret.data).replace('{', '{"__proto__":"eA==",')) as Record<string, string>;
    mc.observe({ 'Secret.v1': { [secret.metadata.name]: secret } });
    assert.match(mc.body(), /"__proto__":"eA=="/);
    const answer = await mc.sync();
    const answered = answer.children.find((c) => c.kind === 'Secret')!;
    assert.deepStrictEqual(Object.keys(answered.data as object).sort(), ['api_token', 'db_url', 'provider_x_api_key']);
    // Metacontroller's merge keeps a key the hook never applied, as any key someone else adds: every later body still carries it.
    assert.equal(Object.getOwnPropertyDescriptor(mc.secretValues()!, '__proto__')?.value, 'x');
    await mc.sync();
    assert.equal((await mc.finalize()).finalized, true);
  });
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
  before(async () => {
    pgs = await startPostgres();
    await enableDatabaseSecrets(vault, pgs, { role: ROLE, defaultTtl: '10m', maxTtl: '1h' });
  });

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
