// The hook's RBAC (`create serviceaccounts/token`, cluster-wide) cannot be
// narrowed to an audience by RBAC itself. metacontroller/base/token-audience-policy.yaml
// closes that with a ValidatingAdmissionPolicy; this test applies the real
// manifests to a real kube-apiserver and acts as the hook (impersonation): a
// token for audience "vault" is issued, one the API server would accept is not.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, startKubeApiServer, type KubeServer } from '../support/kube-apiserver.js';

const base = new URL('../../metacontroller/base/', import.meta.url);
const HOOK = 'system:serviceaccount:vaultapp-system:vaultapp-hook';
let kube: KubeServer;

const tokenRequest = (spec: Record<string, unknown>) => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });
const asHook = { headers: { 'Impersonate-User': HOOK } };

async function requestToken(
  spec: Record<string, unknown>,
  as?: typeof asHook,
): Promise<{ status: 'issued'; audiences: string[] } | { status: 'refused'; code: number; message: string }> {
  try {
    const res = await kube.request('POST', '/api/v1/namespaces/team-a/serviceaccounts/app-a/token', tokenRequest(spec), as);
    const payload = JSON.parse(Buffer.from(res.status.token.split('.')[1], 'base64url').toString());
    return { status: 'issued', audiences: [payload.aud].flat() };
  } catch (err) {
    if (err instanceof KubeApiError) return { status: 'refused', code: err.status, message: err.message };
    throw err;
  }
}

before(async () => {
  kube = await startKubeApiServer();
  await kube.applyYaml(['vaultapp-system', 'team-a'].map((n) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${n}}`).join('\n---\n'));
  await kube.applyYaml(readFileSync(new URL('serviceaccount.yaml', base), 'utf8'));
  await kube.applyYaml('apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app-a, namespace: team-a}');
  await kube.applyYaml(readFileSync(new URL('rbac.yaml', base), 'utf8'));
  // Before the policy: the RBAC alone lets the hook mint a token the API server accepts.
  await kube.waitForAccess(HOOK, { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'team-a' });
  const unguarded = await requestToken({ expirationSeconds: 600 }, asHook);
  assert.equal(
    unguarded.status,
    'issued',
    `without the policy the hook gets an API-server token: the risk is real${unguarded.status === 'refused' ? ` (refused: ${unguarded.message})` : ''}`,
  );
  await kube.applyYaml(readFileSync(new URL('token-audience-policy.yaml', base), 'utf8'));
  // Policies take effect once the API server has compiled them: wait until the refusal shows.
  for (let i = 0; ; i++) {
    if ((await requestToken({ expirationSeconds: 600 }, asHook)).status === 'refused') break;
    if (i > 100) throw new Error('the policy did not take effect within 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
});

after(async () => kube?.stop());

describe('the hook may only request tokens for Vault (ValidatingAdmissionPolicy)', () => {
  it('a 10-minute token with audience "vault", as the hook asks for workload identity, is issued', async () => {
    const res = await requestToken({ audiences: ['vault'], expirationSeconds: 600 }, asHook);
    assert.deepStrictEqual(res, { status: 'issued', audiences: ['vault'] });
  });

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ["the API server's own audience (no audiences given)", { expirationSeconds: 600 }, /audience "vault" only/],
    ["the API server's audience by name", { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 600 }, /audience "vault" only/],
    ['"vault" and another audience', { audiences: ['vault', 'https://kubernetes.default.svc.cluster.local'], expirationSeconds: 600 }, /audience "vault" only/],
    ['a look-alike audience', { audiences: ['vault2'], expirationSeconds: 600 }, /audience "vault" only/],
    ['a token for a week', { audiences: ['vault'], expirationSeconds: 7 * 86400 }, /at most a day/],
  ];
  for (const [name, spec, message] of refused) {
    it(`refuses ${name}`, async () => {
      const res = await requestToken(spec, asHook);
      assert.equal(res.status, 'refused');
      assert.match((res as { message: string }).message, message);
    });
  }

  it('leaves everyone else alone (an admin still gets an API-server token)', async () => {
    const res = await requestToken({ expirationSeconds: 600 });
    assert.equal(res.status, 'issued');
  });

  it('is part of the install', () => {
    assert.match(readFileSync(new URL('kustomization.yaml', base), 'utf8'), /- token-audience-policy\.yaml/);
    const env = readFileSync(new URL('deployment.yaml', base), 'utf8');
    assert.match(env, /name: VAULTAPP_TOKEN_AUDIENCE\n\s+value: vault\n/, 'the hook asks for the audience the policy allows');
  });
});
