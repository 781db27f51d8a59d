// spec.vault.dataFrom against a real Vault dev server: every key of a KV v2 and a KV v1
// secret lands in the Secret (prefixed), the explicit targetKey wins a collision and the
// condition says so without the value, a secret of too many keys is refused with the data
// kept, and under a refresh interval the syncs inside it make no Vault request (Vault's
// audit log is the witness) while an edited copied key is read and written back at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { createVault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

let vault: VaultServer;
let everySync: FastifyInstance;
let withInterval: FastifyInstance;

async function hookFor(t: Parameters<typeof build>[0], refreshSeconds: number): Promise<FastifyInstance> {
  const v = createVault({
    vault: { address: vault.addr, timeoutMs: 2000 },
    auth: { method: 'token', token: vault.token },
    syncDeadlineMs: 4000,
    hmacKey: hookConfig.hmacKey,
  });
  return build(t, v.reader, { refreshSeconds }, { now: wallClock });
}

async function readsOf(path: string): Promise<number> {
  return (await vault.auditEntries()).filter((e) => e.type === 'request' && e.request?.operation === 'read' && e.request.path === path).length;
}

before(async (t) => {
  vault = await startVaultServer({ auditLog: true });
  await enableKv(vault, 'kv', 2);
  await enableKv(vault, 'kv1', 1);
  await writeKv(vault, 'kv', 2, 'billing/database', { url: 'postgres://billing:pw-1@db:5432/billing' });
  await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'px-key-1' });
  everySync = await hookFor(t, 0);
  withInterval = await hookFor(t, 600);
});

after(async () => {
  await vault?.stop();
});

function appWith(name: string, dataFrom: VaultApp['spec']['vault']['dataFrom'], secrets?: VaultApp['spec']['vault']['secrets']): VaultApp {
  const app = loadExample();
  app.metadata.name = name;
  app.spec.vault.dataFrom = dataFrom;
  if (secrets) app.spec.vault.secrets = secrets;
  return app;
}
const condition = (mc: MetacontrollerDriver, type: string) => mc.last!.status.conditions!.find((c) => c.type === type)!;

describe('dataFrom against a real Vault', () => {
  it('every key of a KV v2 secret (path written without data/, as `vault kv get` takes it) and of a KV v1 secret, prefixed', async () => {
    await writeKv(vault, 'kv', 2, 'shop/config', { host: 'db.internal', port: '5432', user: 'shop' });
    await writeKv(vault, 'kv1', 1, 'shop/legacy', { token: 'legacy-token', region: 'eu' });
    const mc = new MetacontrollerDriver(everySync, appWith('shop', [{ path: 'kv/shop/config', prefix: 'db_' }, { path: 'kv1/shop/legacy' }], []));
    await mc.sync();
    assert.deepStrictEqual(mc.secretValues('shop-vault-secrets'), {
      db_host: 'db.internal',
      db_port: '5432',
      db_user: 'shop',
      region: 'eu',
      token: 'legacy-token',
    });
    assert.deepStrictEqual([condition(mc, 'SecretsSynced').status, condition(mc, 'SecretsSynced').reason], ['True', 'Synced']);

    await writeKv(vault, 'kv', 2, 'shop/config', { host: 'db2.internal', password: 'new-pw' });
    await mc.sync();
    assert.deepStrictEqual(
      mc.secretValues('shop-vault-secrets'),
      { db_host: 'db2.internal', db_password: 'new-pw', region: 'eu', token: 'legacy-token' },
      'a key removed from Vault goes, a new one comes',
    );
  });

  it('the explicit targetKey wins a collision, reported by key and path without the value; an invalid key is reported, not written', async () => {
    await writeKv(vault, 'kv', 2, 'billing/everything', { url: 'postgres://COLLIDING-VALUE', 'has space': 'x', timeout: '30' });
    const mc = new MetacontrollerDriver(everySync, appWith('collide', [{ path: 'kv/data/billing/everything', prefix: 'db_' }]));
    await mc.sync();
    assert.deepStrictEqual(mc.secretValues('collide-vault-secrets'), {
      db_url: 'postgres://billing:pw-1@db:5432/billing',
      provider_x_api_key: 'px-key-1',
      db_timeout: '30',
    });
    const c = condition(mc, 'SecretsSynced');
    assert.deepStrictEqual([c.status, c.reason], ['True', 'SyncedWithSkippedKeys']);
    assert.match(c.message, /key "url" at path "kv\/data\/billing\/everything" \(dataFrom\[0\]\): "db_url" is a targetKey of vault.secrets, which wins/);
    assert.match(c.message, /key "has space" at path "kv\/data\/billing\/everything" \(dataFrom\[0\]\): "db_has space" is not a Secret key/);
    assert.doesNotMatch(JSON.stringify(mc.last!.status), /COLLIDING-VALUE/);
  });

  it('a secret of more keys than dataFrom copies is refused; the Secret keeps what it had', async () => {
    await writeKv(vault, 'kv', 2, 'bulk/keys', { a: '1' });
    const mc = new MetacontrollerDriver(everySync, appWith('bulk', [{ path: 'kv/data/bulk/keys' }], []));
    await mc.sync();
    assert.deepStrictEqual(mc.secretValues('bulk-vault-secrets'), { a: '1' });
    await writeKv(vault, 'kv', 2, 'bulk/keys', Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, 'v'])));
    await mc.sync();
    const c = condition(mc, 'SecretsSynced');
    assert.deepStrictEqual([c.status, c.reason], ['False', 'TooManyKeys']);
    assert.match(c.message, /path "kv\/data\/bulk\/keys" \(dataFrom\[0\]\) holds 5000 keys/);
    assert.deepStrictEqual(mc.secretValues('bulk-vault-secrets'), { a: '1' });
  });

  it('under a refresh interval: no Vault read inside it; a copied key edited in the Secret is read and written back at once', async () => {
    await writeKv(vault, 'kv', 2, 'fresh/all', { one: '1', two: '2' });
    const path = 'kv/data/fresh/all';
    const mc = new MetacontrollerDriver(withInterval, appWith('fresh', [{ path, prefix: 'f_' }]));
    await mc.settle();
    const afterFirst = await readsOf(path);
    assert.equal(afterFirst, 1);
    for (let i = 0; i < 3; i++) await mc.sync();
    assert.equal(await readsOf(path), afterFirst, 'no read inside the interval');
    assert.deepStrictEqual(mc.secretValues('fresh-vault-secrets'), {
      db_url: 'postgres://billing:pw-1@db:5432/billing',
      provider_x_api_key: 'px-key-1',
      f_one: '1',
      f_two: '2',
    });

    const secret = mc.child('Secret', 'fresh-vault-secrets')!;
    (secret.data as Record<string, string>).f_one = Buffer.from('tampered').toString('base64');
    await mc.sync();
    assert.equal(await readsOf(path), afterFirst + 1, 'the edit is seen: read again');
    assert.equal(mc.secretValues('fresh-vault-secrets')!.f_one, '1', 'and written back');
    await mc.sync();
    assert.equal(await readsOf(path), afterFirst + 1, 'then fresh again');
  });
});
