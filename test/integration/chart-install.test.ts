// `helm install`, `upgrade` and `uninstall` of charts/vaultapp against a real kube-apiserver
// (no kubelet or controllers: the objects are stored, no pod runs, so `helm test` is not run
// here). What the release owns, what it leaves (the CRD, the user's Secrets), and that a
// second release fails where a second controller of the same VaultApps would fight the first.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHART_DIR, ensureHelm, helmTemplate, runHelm } from '../support/helm.js';
import { KubeApiError, type KubeServer, startKubeApiServer } from '../support/kube-apiserver.js';
import { createNamespace, installCrd } from '../support/kube-vaultapp.js';
import { COMPOSITE_CONTROLLER_CRD } from '../support/third-party-crds.js';

const NS = 'vaultapp-system';
const CRD = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/vaultapps.app.techweaver.io';
const USER_SECRETS = ['vaultapp-hook-hmac', 'vaultapp-hook-auth'];

let helm: string;
let kube: KubeServer;
let dir: string;
before(
  async () => {
    [helm, kube] = await Promise.all([ensureHelm(), startKubeApiServer()]);
    await installCrd(kube, JSON.stringify(COMPOSITE_CONTROLLER_CRD));
    await Promise.all([NS, 'second'].map((ns) => createNamespace(kube, ns)));
    dir = mkdtempSync(join(tmpdir(), 'vaultapp-helm-install-'));
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: kube.url, 'certificate-authority-data': Buffer.from(kube.caCert).toString('base64') } }],
      users: [{ name: 'admin', user: { token: kube.token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
      'current-context': 'test',
    };
    writeFileSync(join(dir, 'kubeconfig'), JSON.stringify(kubeconfig), { mode: 0o600 });
  },
  { timeout: 60 * 60_000 },
); // a cold cache builds helm, kube-apiserver and etcd first
after(async () => {
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const h = (args: string[], values?: unknown) => runHelm(helm, [...args, '--kubeconfig', join(dir, 'kubeconfig')], values);

/** The API path of an object the chart renders (the kinds it templates; plurals by rule). */
function pathOf(o: any): string {
  const plural = `${o.kind.toLowerCase().replace(/y$/, 'ie')}s`;
  const prefix = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${prefix}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${plural}/${o.metadata.name}`;
}

/** The stored object, or undefined when the API server has none. */
async function stored(path: string): Promise<any> {
  try {
    return await kube.request('GET', path);
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) return undefined;
    throw e;
  }
}

/** What `helm install` with `values` creates: the templated objects, without the CRD and the test hooks. */
const installed = (values: unknown = {}) =>
  helmTemplate(helm, values, NS).filter((o) => o.kind !== 'CustomResourceDefinition' && !o.metadata.annotations?.['helm.sh/hook']);

describe('helm install, upgrade and uninstall on a real kube-apiserver', () => {
  it('install: every object the chart renders is stored, owned by the release; the CRD from crds/; NOTES printed', async () => {
    for (const name of USER_SECRETS) {
      await kube.request('POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: { x: 'eA==' } });
    }
    const r = h(['install', 'vaultapp', CHART_DIR, '--namespace', NS]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /NOTES:/);
    const objs = installed();
    assert.ok(objs.length >= 10, `${objs.length} objects`);
    for (const o of objs) {
      const s = await stored(pathOf(o));
      assert.ok(s, `${o.kind} ${o.metadata.name} is stored`);
      assert.equal(s.metadata.annotations?.['meta.helm.sh/release-name'], 'vaultapp', o.kind);
      assert.equal(s.metadata.labels['app.kubernetes.io/instance'], 'vaultapp', o.kind);
    }
    assert.ok(await stored(CRD), 'the CRD');
  });

  it('upgrade: changed values change the stored objects; an object turned off is deleted', async () => {
    const values = { replicaCount: 3, image: { tag: '0.1.1' }, podDisruptionBudget: { enabled: false } };
    const r = h(['upgrade', 'vaultapp', CHART_DIR, '--namespace', NS], values);
    assert.equal(r.status, 0, r.stderr);
    const d = await stored(`/apis/apps/v1/namespaces/${NS}/deployments/vaultapp-hook`);
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.template.spec.containers[0].image, 'ghcr.io/techweaver/vaultapp-hook:0.1.1');
    assert.equal(d.metadata.labels['app.kubernetes.io/version'], '0.1.1');
    assert.equal(await stored(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/vaultapp-hook`), undefined);
  });

  it('a second release, in another namespace, fails instead of installing a second controller', async () => {
    const r = h(['install', 'second', CHART_DIR, '--namespace', 'second']);
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, /exists and cannot be imported|invalid ownership metadata/);
    const cc = await stored('/apis/metacontroller.k8s.io/v1alpha1/compositecontrollers/vaultapp-controller');
    assert.equal(cc.metadata.annotations['meta.helm.sh/release-name'], 'vaultapp');
    assert.equal(await stored('/apis/apps/v1/namespaces/second/deployments/vaultapp-hook'), undefined);
  });

  it('uninstall: the objects go; the CRD (and so every VaultApp) and the Secrets the user created stay', async () => {
    const r = h(['uninstall', 'vaultapp', '--namespace', NS]);
    assert.equal(r.status, 0, r.stderr);
    for (const o of installed()) assert.equal(await stored(pathOf(o)), undefined, `${o.kind} ${o.metadata.name} is deleted`);
    assert.ok(await stored(CRD), 'the CRD');
    for (const name of USER_SECRETS) assert.ok(await stored(`/api/v1/namespaces/${NS}/secrets/${name}`), name);
  });
});
