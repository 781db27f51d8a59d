// Each VaultApp logs in to Vault as its own workload: a real kube-apiserver issues
// the service-account tokens (TokenRequest) and a real Vault verifies them through
// its Kubernetes auth method (TokenReview against that same API server).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { IdentityConfig } from '../../src/config/config.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { startKubeApiServer, type KubeServer } from '../support/kube-apiserver.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../support/vault-server.js';

let kube: KubeServer;
let vault: VaultServer;
const dir = mkdtempSync(join(tmpdir(), 'vaultapp-identity-'));
const hookTokenPath = join(dir, 'hook-token');

async function saToken(namespace: string, name: string, audiences?: string[]): Promise<string> {
  const res = await kube.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600, ...(audiences ? { audiences } : {}) },
  });
  return res.status.token;
}

async function hook(t: Parameters<typeof build>[0], identity: IdentityConfig): Promise<{ app: FastifyInstance; vault: Vault }> {
  const v = createVault({
    vault: { address: vault.addr, timeoutMs: 3000 },
    auth: { method: 'kubernetes', mount: 'kubernetes', identity },
    syncDeadlineMs: 6000,
    hmacKey: hookConfig.hmacKey,
  });
  return { app: await build(t, v.reader, {}, { now: wallClock }), vault: v };
}

const workload = (): IdentityConfig => ({
  model: 'workload',
  audience: 'vault',
  expirationSeconds: 600,
  kube: { url: kube.url, tokenPath: hookTokenPath, caCert: kube.caCert },
});

function tenantApp(namespace: string, serviceAccount: string, role: string, path: string): VaultApp {
  const a = loadExample();
  a.metadata = { name: `app-${namespace}`, namespace, uid: `uid-${namespace}-${role}`, generation: 1 };
  a.spec.deploymentSpec!.template.spec!.serviceAccountName = serviceAccount;
  a.spec.vault = { role, secrets: [{ path, key: 'password', targetKey: 'db_password' }] };
  a.spec.monitoring = { enabled: false };
  return a;
}

const countAudit = async (pred: (e: any) => boolean) => (await vault.auditEntries()).filter((e) => e.type === 'request' && pred(e)).length;
const logins = () => countAudit((e) => e.request?.path === 'auth/kubernetes/login');

before(async () => {
  [kube, vault] = await Promise.all([startKubeApiServer(), startVaultServer({ auditLog: true })]);
  // Cluster side: two tenants, the hook with the RBAC the manifests grant, and Vault's reviewer.
  await kube.applyYaml(
    ['team-a', 'team-b', 'vaultapp-system', 'vault-system'].map((n) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${n}}`).join('\n---\n'),
  );
  await kube.applyYaml(
    [
      ['team-a', 'app-a'],
      ['team-b', 'app-b'],
      ['vaultapp-system', 'vaultapp-hook'],
      ['vault-system', 'vault-reviewer'],
    ]
      .map(([ns, n]) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${n}, namespace: ${ns}}`)
      .join('\n---\n'),
  );
  await kube.applyYaml(readFileSync(new URL('../../metacontroller/base/rbac.yaml', import.meta.url), 'utf8'));
  await kube.applyYaml(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vault-reviewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}
subjects: [{kind: ServiceAccount, name: vault-reviewer, namespace: vault-system}]`);
  // RBAC just written reaches the authorizer a moment later.
  await kube.waitForAccess('system:serviceaccount:vaultapp-system:vaultapp-hook', {
    verb: 'create',
    resource: 'serviceaccounts',
    subresource: 'token',
    namespace: 'team-a',
  });
  await kube.waitForAccess('system:serviceaccount:vault-system:vault-reviewer', { verb: 'create', resource: 'tokenreviews', group: 'authentication.k8s.io' });
  writeFileSync(hookTokenPath, await saToken('vaultapp-system', 'vaultapp-hook'));

  // Vault side: Kubernetes auth against this API server, one role per tenant.
  await enableKv(vault, 'kv', 2);
  await writeKv(vault, 'kv', 2, 'team-a/db', { password: 'team-a-secret' });
  await writeKv(vault, 'kv', 2, 'team-b/db', { password: 'team-b-secret' });
  await writePolicy(vault, 'team-a', 'path "kv/data/team-a/*" { capabilities = ["read"] }');
  await writePolicy(vault, 'team-b', 'path "kv/data/team-b/*" { capabilities = ["read"] }');
  const ok = (r: { status: number; body: unknown }) => assert.ok(r.status < 300, JSON.stringify(r.body));
  ok(await vault.request('POST', 'sys/auth/kubernetes', { type: 'kubernetes' }));
  ok(
    await vault.request('POST', 'auth/kubernetes/config', {
      kubernetes_host: kube.url,
      kubernetes_ca_cert: kube.caCert,
      token_reviewer_jwt: await saToken('vault-system', 'vault-reviewer'),
      disable_local_ca_jwt: true,
    }),
  );
  for (const [role, ns, sa] of [
    ['app-a', 'team-a', 'app-a'],
    ['app-b', 'team-b', 'app-b'],
  ]) {
    ok(
      await vault.request('POST', `auth/kubernetes/role/${role}`, {
        bound_service_account_names: [sa],
        bound_service_account_namespaces: [ns],
        audience: 'vault',
        policies: [ns],
        ttl: '20m',
      }),
    );
  }
});

after(async () => {
  await Promise.all([kube?.stop(), vault?.stop()]);
});

describe('workload identity against a real API server and a real Vault', () => {
  it("a TokenRequest-issued token passes Vault's real TokenReview; the Secret holds the tenant's value", async (t) => {
    const h = await hook(t, workload());
    const mc = new MetacontrollerDriver(h.app, tenantApp('team-a', 'app-a', 'app-a', 'kv/data/team-a/db'));
    const res = await mc.sync();
    const auth = res.status.conditions!.find((c) => c.type === 'VaultAuthenticated')!;
    assert.equal(auth.status, 'True', auth.message);
    assert.deepStrictEqual(mc.secretValues(), { db_password: 'team-a-secret' });
  });

  it('Vault tokens and service-account tokens are reused across syncs, not obtained on every sync', async (t) => {
    const h = await hook(t, workload());
    const mc = new MetacontrollerDriver(h.app, tenantApp('team-a', 'app-a', 'app-a', 'kv/data/team-a/db'));
    const before = await logins();
    for (let i = 0; i < 5; i++) await mc.sync();
    assert.equal((await logins()) - before, 1, 'one Vault login for five syncs');
    assert.equal(h.vault.tokens.stats.jwtRequests, 1, 'one TokenRequest for five syncs');
  });

  it("tenant B naming tenant A's role gets a False condition, no data, and keeps its own previous Secret", async (t) => {
    const h = await hook(t, workload());
    const mc = new MetacontrollerDriver(h.app, tenantApp('team-b', 'app-b', 'app-b', 'kv/data/team-b/db'));
    await mc.sync();
    assert.deepStrictEqual(mc.secretValues('app-team-b-vault-secrets'), { db_password: 'team-b-secret' });

    mc.parent.spec.vault = { role: 'app-a', secrets: [{ path: 'kv/data/team-a/db', key: 'password', targetKey: 'db_password' }] };
    const res = await mc.sync();
    const auth = res.status.conditions!.find((c) => c.type === 'VaultAuthenticated')!;
    assert.deepStrictEqual([auth.status, auth.reason], ['False', 'AuthenticationFailed']);
    assert.match(auth.message, /cannot log in to Vault with role app-a as serviceaccount team-b\/app-b: Vault answered 403/);
    assert.deepStrictEqual(mc.secretValues('app-team-b-vault-secrets'), { db_password: 'team-b-secret' }, 'its own previous Secret is kept');
    assert.ok(!JSON.stringify(res).includes('team-a-secret'));
  });

  it('the controller identity refuses a role outside the allowed list with no Vault call at all', async (t) => {
    const h = await hook(t, { model: 'controller', jwtPath: hookTokenPath, allowedRoles: { 'team-a': ['app-a'] } });
    const mc = new MetacontrollerDriver(h.app, tenantApp('team-b', 'app-b', 'app-a', 'kv/data/team-a/db'));
    const before = (await vault.auditEntries()).length;
    const res = await mc.sync();
    const auth = res.status.conditions!.find((c) => c.type === 'VaultAuthenticated')!;
    assert.deepStrictEqual([auth.status, auth.reason], ['False', 'RoleNotAllowed']);
    assert.equal((await vault.auditEntries()).length, before, 'no request reached Vault');
    assert.equal(mc.secretValues('app-team-b-vault-secrets'), undefined);
  });
});
