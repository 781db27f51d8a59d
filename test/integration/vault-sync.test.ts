// The hook through HTTP against a real Vault dev server (built from the pinned
// module by scripts/ensure-vault.sh, started on loopback by the test).
// A driver plays Metacontroller: what the hook returns becomes the observed state.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createVault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { hookConfig as baseConfig, build, wallClock } from '../support/build-app.js';

// These tests are about what each read from Vault does, so every sync reads (a refresh
// interval of 0); the interval itself is tested in refresh-interval.test.ts.
const hookConfig = { ...baseConfig, refreshSeconds: 0 };
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../support/vault-server.js';

let vault: VaultServer;
let app: FastifyInstance;
let vaultReads: () => Promise<Map<string, number>>;

async function hookFor(t: Parameters<typeof build>[0], server: VaultServer): Promise<FastifyInstance> {
  const v = createVault({
    vault: { address: server.addr, timeoutMs: 2000 },
    auth: { method: 'token', token: server.token },
    syncDeadlineMs: 4000,
    hmacKey: hookConfig.hmacKey,
  });
  return build(t, v.reader, hookConfig, { now: wallClock });
}

before(async (t) => {
  vault = await startVaultServer({ auditLog: true });
  await enableKv(vault, 'kv', 2);
  await enableKv(vault, 'kv1', 1);
  await writeKv(vault, 'kv', 2, 'billing/database', { url: 'postgres://billing:pw-1@db:5432/billing' });
  await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'px-key-1' });
  await writeKv(vault, 'kv1', 1, 'inventory/api', { token: 'inv-token-1' });
  await writeKv(vault, 'kv', 2, 'ledger/database', { password: 'ledger-pw-1' });
  app = await hookFor(t, vault);
  // Counts of read requests per path, from Vault's own audit log.
  vaultReads = async () => {
    const counts = new Map<string, number>();
    for (const e of await vault.auditEntries()) {
      if (e.type === 'request' && e.request?.operation === 'read') counts.set(e.request.path, (counts.get(e.request.path) ?? 0) + 1);
    }
    return counts;
  };
});

after(async () => {
  await vault?.stop();
});

const readsOf = (counts: Map<string, number>, prefix: string) => [...counts].filter(([p]) => p.startsWith(prefix)).reduce((n, [, c]) => n + c, 0);

describe('sync against a real Vault', () => {
  it('the seed example: the Secret holds exactly what was written to Vault', async () => {
    const mc = new MetacontrollerDriver(app, loadExample());
    const res = await mc.sync();
    assert.deepStrictEqual(mc.secretValues(), { db_url: 'postgres://billing:pw-1@db:5432/billing', provider_x_api_key: 'px-key-1' });
    assert.deepStrictEqual(
      res.children.map((c) => c.kind),
      ['Secret', 'Deployment', 'Service', 'ServiceMonitor'],
    );
    await mc.sync();
    const ready = mc.last!.status.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.status, 'True', ready.message);
  });

  it(
    'spec.secret: a registry credential from Vault becomes a dockerconfigjson Secret the pods pull with; ' +
      'a value that is not JSON is reported and the Secret kept',
    async () => {
      const good = '{"auths":{"registry.example.com":{"auth":"dTpw"}}}';
      await writeKv(vault, 'kv', 2, 'team/registry', { dockerconfigjson: good });
      const parent = loadExample('registry-credentials.yaml');
      const mc = new MetacontrollerDriver(app, parent);
      await mc.sync();
      const secret = mc.child('Secret', 'private-image-vault-secrets')!;
      assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
      assert.deepStrictEqual(mc.secretValues('private-image-vault-secrets'), { '.dockerconfigjson': good });
      assert.equal(secret.metadata.labels?.team, 'platform');
      assert.equal(secret.metadata.annotations?.['example.com/owner'], 'platform-team');
      const pod = (mc.child('Deployment', 'private-image')!.spec as any).template.spec;
      assert.deepStrictEqual(pod.imagePullSecrets, [{ name: 'private-image-vault-secrets' }]);

      await writeKv(vault, 'kv', 2, 'team/registry', { dockerconfigjson: 'user:password' });
      await mc.sync();
      const synced = mc.last!.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
      assert.equal(synced.status, 'False');
      assert.equal(synced.reason, 'SecretTypeMismatch');
      assert.ok(!synced.message.includes('password'), synced.message);
      assert.deepStrictEqual(mc.secretValues('private-image-vault-secrets'), { '.dockerconfigjson': good }, 'the Secret keeps its data');
    },
  );

  it('each distinct path is read once per sync, even when several keys come from it', async () => {
    const parent = loadExample();
    parent.metadata.name = 'two-keys';
    parent.spec.vault.secrets = [
      { path: 'kv/data/billing/database', key: 'url', targetKey: 'a' },
      { path: 'kv/data/billing/database', key: 'url', targetKey: 'b' },
      { path: 'kv/data/billing/provider-x', key: 'key', targetKey: 'c' },
    ];
    const mc = new MetacontrollerDriver(app, parent);
    const before = await vaultReads();
    await mc.sync();
    const afterSync = await vaultReads();
    assert.equal(readsOf(afterSync, 'kv/data/billing/database') - readsOf(before, 'kv/data/billing/database'), 1);
    assert.equal(readsOf(afterSync, 'kv/data/billing/provider-x') - readsOf(before, 'kv/data/billing/provider-x'), 1);
    assert.deepStrictEqual(Object.keys(mc.secretValues()!), ['a', 'b', 'c']);
  });

  it('a value changed in Vault: new Secret data on the next sync; the version annotation changes once the observed Secret has it, then stays', async () => {
    const parent = loadExample();
    parent.metadata.name = 'rotating';
    const mc = new MetacontrollerDriver(app, parent);
    await mc.sync();
    await mc.sync();
    const v1 = mc.versionAnnotation();
    assert.ok(v1);
    await mc.sync();
    assert.equal(mc.versionAnnotation(), v1, 'stable while nothing changes');
    const updatedBefore = mc.last!.status.lastSecretUpdateTime;

    await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'px-key-2' });
    await mc.sync();
    assert.equal(mc.secretValues()!.provider_x_api_key, 'px-key-2', 'the Secret gets the new value at once');
    assert.equal(mc.versionAnnotation(), v1, 'pods do not roll before the Secret is updated in the cluster');
    assert.notEqual(mc.last!.status.lastSecretUpdateTime, undefined);

    await mc.sync();
    const v2 = mc.versionAnnotation();
    assert.notEqual(v2, v1, 'pods roll once the observed Secret holds the new data');
    await mc.sync();
    await mc.sync();
    assert.equal(mc.versionAnnotation(), v2, 'stable afterwards');
    assert.equal(mc.deploymentUpdates, 1, 'exactly one Deployment update for one change');
    void updatedBefore;
    await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'px-key-1' });
  });

  it('examples/statefulset.yaml: a StatefulSet mounting the Secret from Vault, Ready once rolled out; a change in Vault rolls it once, after the Secret; rotation none never', async () => {
    const mc = new MetacontrollerDriver(app, loadExample('statefulset.yaml'));
    await mc.settle();
    assert.deepStrictEqual(mc.secretValues(), { db_password: 'ledger-pw-1' });
    assert.deepStrictEqual(
      mc.last!.children.map((c) => c.kind),
      ['Secret', 'StatefulSet', 'Service', 'ServiceMonitor'],
    );
    const sts = mc.child('StatefulSet', 'ledger')!;
    const pod = (sts.spec as any).template.spec;
    assert.deepStrictEqual(pod.volumes, [{ name: 'vault-secrets', secret: { secretName: 'ledger-vault-secrets', defaultMode: 420 } }]);
    assert.deepStrictEqual(pod.containers[0].volumeMounts.at(-1), { name: 'vault-secrets', mountPath: '/etc/secrets/vault', readOnly: true });
    const cond = (type: string) => mc.last!.status.conditions!.find((c) => c.type === type)!;
    assert.equal(cond('StatefulSetReady').status, 'True', cond('StatefulSetReady').message);
    assert.equal(cond('Ready').status, 'True', cond('Ready').message);
    const v1 = mc.versionAnnotation();
    assert.ok(v1);

    await writeKv(vault, 'kv', 2, 'ledger/database', { password: 'ledger-pw-2' });
    await mc.sync();
    assert.equal(mc.secretValues()!.db_password, 'ledger-pw-2');
    assert.equal(mc.versionAnnotation(), v1, 'pods do not roll before the Secret is updated in the cluster');
    await mc.settle();
    assert.notEqual(mc.versionAnnotation(), v1);
    assert.equal(mc.deploymentUpdates, 1, 'exactly one StatefulSet update for one change');
    assert.equal(cond('StatefulSetReady').status, 'True', cond('StatefulSetReady').message);

    const steady = loadExample('statefulset.yaml');
    steady.metadata.name = 'ledger-steady';
    steady.spec.vault.rotation = 'none';
    const none = new MetacontrollerDriver(app, steady);
    await none.settle();
    const kept = none.versionAnnotation();
    await writeKv(vault, 'kv', 2, 'ledger/database', { password: 'ledger-pw-3' });
    await none.settle();
    assert.equal(none.secretValues()!.db_password, 'ledger-pw-3');
    assert.equal(none.versionAnnotation(), kept, 'rotation none: the pod template stays');
    assert.equal(none.deploymentUpdates, 0);
  });

  it('monitoring disabled: no Service and no ServiceMonitor, and existing ones are dropped', async () => {
    const parent = loadExample();
    parent.metadata.name = 'quiet';
    const mc = new MetacontrollerDriver(app, parent);
    await mc.sync();
    assert.ok(mc.child('ServiceMonitor', 'quiet'));
    mc.parent.spec.monitoring = { enabled: false };
    const res = await mc.sync();
    assert.deepStrictEqual(
      res.children.map((c) => c.kind),
      ['Secret', 'Deployment'],
    );
    assert.equal(mc.child('Service', 'quiet-metrics'), undefined);
  });

  it('a KV v1 mount is read from its flat data', async () => {
    const mc = new MetacontrollerDriver(app, loadExample('inventory-kv1.yaml'));
    await mc.sync();
    assert.deepStrictEqual(mc.secretValues(), { api_token: 'inv-token-1' });
  });

  it('a KV v2 path written without data/ is read through data/, like `vault kv get`', async () => {
    const parent = loadExample();
    parent.metadata.name = 'cli-style';
    parent.spec.vault.secrets = [{ path: 'kv/billing/database', key: 'url', targetKey: 'db_url' }];
    const mc = new MetacontrollerDriver(app, parent);
    await mc.sync();
    assert.deepStrictEqual(mc.secretValues(), { db_url: 'postgres://billing:pw-1@db:5432/billing' });
  });

  it('a missing path and a missing key are reported by path and key; nothing else is lost', async () => {
    const parent = loadExample();
    parent.metadata.name = 'partial';
    const mc = new MetacontrollerDriver(app, parent);
    await mc.sync();
    const good = mc.secretValues();
    mc.parent.spec.vault.secrets = [
      { path: 'kv/data/billing/database', key: 'uri', targetKey: 'db_url' },
      { path: 'kv/data/billing/nothing-here', key: 'x', targetKey: 'x' },
    ];
    await mc.sync();
    const synced = mc.last!.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
    assert.equal(synced.status, 'False');
    assert.match(synced.message, /key "uri" at path "kv\/data\/billing\/database" \(targetKey db_url\) not found/);
    assert.match(synced.message, /cannot read path "kv\/data\/billing\/nothing-here": nothing stored there \(404\)/);
    assert.ok(!synced.message.includes('pw-1'));
    assert.deepStrictEqual(mc.secretValues(), good, 'the Secret keeps its data');
    assert.ok(mc.child('Deployment', 'partial'), 'the Deployment is kept');
  });

  it('concurrent syncs that need the same path share one in-flight read', async () => {
    const before = await vaultReads();
    const drivers = Array.from({ length: 10 }, (_, i) => {
      const p = loadExample();
      p.metadata.name = `fleet-${i}`;
      p.metadata.uid = `fleet-uid-${i}`;
      return new MetacontrollerDriver(app, p);
    });
    await Promise.all(drivers.map((d) => d.sync()));
    const afterSync = await vaultReads();
    const reads = readsOf(afterSync, 'kv/data/billing/') - readsOf(before, 'kv/data/billing/');
    assert.ok(reads < 10 * 2, `10 concurrent syncs of 2 paths made ${reads} reads`);
    for (const d of drivers) assert.equal(d.secretValues()!.provider_x_api_key, 'px-key-1');
  });
});

describe("the Kubernetes login path (Vault's JWT method mounted at auth/kubernetes stands in for TokenReview)", () => {
  it("logs in with the role and the service-account JWT once, then reuses the token; reads under a policy for exactly the example's paths", async (t) => {
    await writePolicy(
      vault,
      'read-billing-secrets',
      'path "kv/data/billing/database" { capabilities = ["read"] }\npath "kv/data/billing/provider-x" { capabilities = ["read"] }',
    );
    const signer = await enableJwtAuthAsKubernetes(vault, {
      role: 'billing-app',
      policies: ['read-billing-secrets'],
      boundSubject: 'system:serviceaccount:vaultapp-system:vaultapp-hook',
      ttl: '20m',
    });
    const jwtPath = join(mkdtempSync(join(tmpdir(), 'vaultapp-jwt-')), 'token');
    writeFileSync(jwtPath, signer.signJwt({ sub: 'system:serviceaccount:vaultapp-system:vaultapp-hook' }));
    const v = createVault({
      vault: { address: vault.addr, timeoutMs: 2000 },
      auth: { method: 'kubernetes', mount: 'kubernetes', identity: { model: 'controller', jwtPath, allowedRoles: { default: ['billing-app'] } } },
      syncDeadlineMs: 4000,
      hmacKey: hookConfig.hmacKey,
    });
    const hook = await build(t, v.reader, hookConfig, { now: wallClock });
    const logins = async () => (await vault.auditEntries()).filter((e) => e.type === 'request' && e.request?.path === 'auth/kubernetes/login').length;
    const before = await logins();
    const parent = loadExample();
    parent.metadata.name = 'k8s-login';
    const mc = new MetacontrollerDriver(hook, parent);
    for (let i = 0; i < 5; i++) await mc.sync();
    assert.deepStrictEqual(mc.secretValues(), { db_url: 'postgres://billing:pw-1@db:5432/billing', provider_x_api_key: 'px-key-1' });
    assert.equal(mc.last!.status.conditions!.find((c) => c.type === 'VaultAuthenticated')!.status, 'True');
    assert.equal((await logins()) - before, 1, 'one login for five syncs');
    assert.equal(v.tokens.stats.logins, 1);
  });
});

describe('Vault stopped', () => {
  it('keeps the data and the Deployment, and says so in a False condition; recovers when Vault is back', async (t) => {
    const own = await startVaultServer();
    await enableKv(own, 'kv', 2);
    await writeKv(own, 'kv', 2, 'billing/database', { url: 'postgres://a' });
    await writeKv(own, 'kv', 2, 'billing/provider-x', { key: 'b' });
    const hook = await hookFor(t, own);
    try {
      const mc = new MetacontrollerDriver(hook, loadExample());
      await mc.sync();
      await mc.sync();
      const data = mc.secretValues();
      const version = mc.versionAnnotation();
      await own.stop();
      const res = await mc.sync();
      assert.deepStrictEqual(mc.secretValues(), data);
      assert.equal(mc.versionAnnotation(), version);
      const synced = res.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
      assert.deepStrictEqual([synced.status, synced.reason], ['False', 'VaultUnreachable']);
      assert.match(synced.message, /cannot read path "kv\/data\/billing\/database": Vault is unreachable/);
      assert.equal(res.resyncAfterSeconds, 5);
      assert.equal(res.status.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
      // The token is still cached, but nothing says Vault accepts it: not "True, logged in".
      const auth = res.status.conditions!.find((c) => c.type === 'VaultAuthenticated')!;
      assert.deepStrictEqual([auth.status, auth.reason], ['Unknown', 'VaultUnreachable']);
    } finally {
      await own.stop();
    }
  });
});
