import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KubeApiError, SERVICE_ACCOUNT_ISSUER, startKubeApiServer, type KubeServer } from '../support/kube-apiserver.js';

const NS = 'kube-support-test';
let kube: KubeServer;

// A cold cache builds kube-apiserver and etcd from source first, which takes many minutes.
before(
  async () => {
    kube = await startKubeApiServer();
  },
  { timeout: 60 * 60_000 },
);
after(() => kube?.stop());

test('a ServiceAccount token from TokenRequest passes TokenReview', async () => {
  await kube.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await kube.request('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'app' },
  });

  const tr = await kube.request('POST', `/api/v1/namespaces/${NS}/serviceaccounts/app/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { audiences: ['vault'], expirationSeconds: 600 },
  });
  const token: string = tr.status.token;
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  assert.equal(claims.iss, SERVICE_ACCOUNT_ISSUER);
  assert.deepEqual(claims.aud, ['vault']);

  const review = (t: string) =>
    kube.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: t, audiences: ['vault'] },
    });
  const ok = await review(token);
  assert.equal(ok.status.authenticated, true);
  assert.equal(ok.status.user.username, `system:serviceaccount:${NS}:app`);
  assert.deepEqual(ok.status.audiences, ['vault']);

  const bad = await review(`${token.slice(0, -4)}AAAA`);
  assert.notEqual(bad.status.authenticated, true);
});

test('an applied CRD becomes Established and serves its kind', async () => {
  await kube.applyYaml(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { size: { type: integer } } }
`);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = await kube.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com');
    const established = crd.status?.conditions?.find((c: { type: string }) => c.type === 'Established');
    if (established?.status === 'True') break;
    assert.ok(Date.now() < deadline, `CRD not Established: ${JSON.stringify(crd.status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  // Applying twice exercises both the create and the update path of server-side apply.
  const doc = (size: number) => `apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: ${size} }\n`;
  await kube.applyYaml(doc(1), { namespace: NS });
  const [w] = await kube.applyYaml(`---\n${doc(2)}---\n`, { namespace: NS });
  assert.equal(w.spec.size, 2);
  assert.equal(w.metadata.namespace, NS);
});

test('a server-side dry-run create of a Deployment is validated but not stored', async () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    },
  };
  const created = await kube.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments?dryRun=All`, deployment);
  assert.equal(created.metadata.name, 'web');
  assert.equal(created.spec.replicas, 1, 'defaults are applied');
  await assert.rejects(kube.request('GET', `/apis/apps/v1/namespaces/${NS}/deployments/web`), (e: unknown) => {
    return e instanceof KubeApiError && e.status === 404;
  });

  const invalid = structuredClone(deployment);
  invalid.spec.template.metadata.labels.app = 'other';
  await assert.rejects(kube.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments?dryRun=All`, invalid), (e: unknown) => {
    return e instanceof KubeApiError && e.status === 422;
  });
});

test('stop ends the server', async () => {
  await kube.stop();
  await assert.rejects(kube.request('GET', '/readyz'), /ECONNREFUSED|socket hang up|ECONNRESET/);
});
