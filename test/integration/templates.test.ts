// spec.vault.templates against a real Vault database secrets engine and a real PostgreSQL:
// the connection string from a dynamic credential's username and password (one
// lease), which logs in; inside the lease nothing is issued and the string stands; when it
// must render again it comes from a new lease, username and password together; a template
// error is a condition naming the key, and the Secret keeps the string that works.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { createVault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { startVaultServer, type VaultServer } from '../support/vault-server.js';

const CREDS = 'database/creds/billing';
let vault: VaultServer;
let pg: PgServer;
let hook: FastifyInstance;

before(
  async (t) => {
    [vault, pg] = await Promise.all([startVaultServer({ auditLog: true }), startPostgres()]);
    await enableDatabaseSecrets(vault, pg, { role: 'billing', defaultTtl: '600s', maxTtl: '1200s' });
    const v = createVault({
      vault: { address: vault.addr, timeoutMs: 3000 },
      auth: { method: 'token', token: vault.token },
      syncDeadlineMs: 6000,
      hmacKey: hookConfig.hmacKey,
    });
    hook = await build(t, v.reader, { refreshSeconds: 600 }, { now: wallClock });
  },
  { timeout: 60 * 60_000 },
); // a cold cache builds Vault and fetches PostgreSQL first

after(async () => {
  await Promise.all([vault?.stop(), pg?.stop()]);
});

const issued = async (): Promise<number> =>
  (await vault.auditEntries()).filter((e) => e.type === 'response' && e.request?.path === CREDS && e.request?.operation === 'read' && !e.error).length;

function templated(template: string): VaultApp {
  const app = loadExample();
  app.metadata.name = 'orders';
  app.spec.monitoring = { enabled: false };
  app.spec.vault.secrets = [
    { path: CREDS, key: 'username', name: 'db' },
    { path: CREDS, key: 'password', name: 'db' },
  ];
  app.spec.vault.templates = { DATABASE_URL: template };
  return app;
}

describe('templates from a dynamic PostgreSQL credential', () => {
  it('a connection string that logs in, from one lease; kept while the lease is in use; from a new lease when rendered again; a bad template keeps it', async () => {
    const template = `postgresql://{{ db.username }}:{{ db.password | url_encode }}@${pg.host}:${pg.port}/${pg.database}?sslmode=disable`;
    const mc = new MetacontrollerDriver(hook, templated(template));
    await mc.sync();
    const first = mc.secretValues('orders-vault-secrets')!;
    assert.deepStrictEqual(Object.keys(first), ['DATABASE_URL'], 'username and password feed the template only');
    const url = new URL(first.DATABASE_URL!);
    assert.ok(await pg.canLogin(decodeURIComponent(url.username), decodeURIComponent(url.password)), 'the string logs in');
    assert.equal(await issued(), 1);

    for (let i = 0; i < 3; i++) await mc.sync();
    assert.equal(await issued(), 1, 'no new credential while the lease is in use');
    assert.equal(mc.secretValues('orders-vault-secrets')!.DATABASE_URL, first.DATABASE_URL);

    // Someone edits the output: the templates must render again, which needs the credential's values: a new lease.
    const secret = mc.child('Secret', 'orders-vault-secrets')!;
    (secret.data as Record<string, string>).DATABASE_URL = Buffer.from('postgresql://someone-else').toString('base64');
    await mc.sync();
    assert.equal(await issued(), 2);
    const second = new URL(mc.secretValues('orders-vault-secrets')!.DATABASE_URL!);
    assert.notEqual(second.username, url.username);
    assert.notEqual(second.password, url.password);
    assert.ok(await pg.canLogin(decodeURIComponent(second.username), decodeURIComponent(second.password)), 'username and password of one lease');

    // A typo in the template: a condition naming the key, never a value; the working string stays.
    mc.parent = { ...mc.parent, spec: templated(template.replace('db.username', 'db.usernme')).spec };
    await mc.sync();
    const c = mc.last!.status.conditions!.find((x) => x.type === 'SecretsSynced')!;
    assert.deepStrictEqual([c.status, c.reason], ['False', 'TemplateError']);
    assert.match(c.message, /template "DATABASE_URL": undefined variable at line 1, column 17/);
    assert.ok(!c.message.includes(decodeURIComponent(second.password)));
    assert.equal(new URL(mc.secretValues('orders-vault-secrets')!.DATABASE_URL!).username, second.username, 'the Secret keeps the string that works');
  });
});
