// The install's least-privilege and authentication wiring, read from the
// manifests themselves: a hardened hook pod; the bearer token mounted into the
// hook is the very Secret key both webhooks' `authorization` names; a
// NetworkPolicy that lets only Metacontroller (and the metrics scraper) reach the
// hook's port; the opt-in TLS component consistent with the webhooks' caBundle;
// the core objects accepted by a real API server (strict server-side dry-run);
// and the install guide's Vault policy granting read on exactly the example's paths.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadExample } from '../fixtures/requests.js';
import { startKubeApiServer, type KubeServer } from '../support/kube-apiserver.js';
import { ensureKubectl, kustomizeText } from '../support/kustomize.js';

const base = new URL('../../metacontroller/base/', import.meta.url);
const read = (file: string, dir = base): any[] =>
  parseAllDocuments(readFileSync(new URL(file, dir), 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean);
const one = (file: string, kind: string, dir = base): any => {
  const found = read(file, dir).find((o) => o.kind === kind);
  assert.ok(found, `${kind} in ${file}`);
  return found;
};

const deployment = one('deployment.yaml', 'Deployment');
const pod = deployment.spec.template.spec;
const hook = pod.containers.find((c: any) => c.name === 'hook');
const cc = one('compositecontroller.yaml', 'CompositeController');
const policy = one('networkpolicy.yaml', 'NetworkPolicy');
const service = one('service.yaml', 'Service');

describe('the hook pod is least-privilege', () => {
  it('pod: non-root (uid and gid not 0), seccomp RuntimeDefault, no host namespaces, no hostPath', () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0 && pod.securityContext.runAsGroup > 0);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) assert.notEqual(pod[f], true, f);
    assert.ok(
      pod.volumes.every((v: any) => !v.hostPath),
      'no hostPath volume',
    );
  });

  it('every container: read-only root filesystem, no privilege escalation, not privileged, all capabilities dropped', () => {
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      const sc = c.securityContext;
      assert.equal(sc.readOnlyRootFilesystem, true, c.name);
      assert.equal(sc.allowPrivilegeEscalation, false, c.name);
      assert.notEqual(sc.privileged, true, c.name);
      assert.deepStrictEqual(sc.capabilities.drop, ['ALL'], c.name);
      assert.ok(!sc.capabilities.add, c.name);
    }
  });

  it("mounted Secrets are read-only and readable by the pod's group only (0440 with fsGroup)", () => {
    assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup);
    for (const v of pod.volumes.filter((x: any) => x.secret)) assert.equal(v.secret.defaultMode, 0o440, v.name);
    for (const m of hook.volumeMounts) assert.equal(m.readOnly, true, m.name);
  });
});

describe('hook authentication is wired end to end', () => {
  const env = (name: string) => hook.env.find((e: any) => e.name === name)?.value as string | undefined;

  it('the hook reads its bearer token from a mounted Secret key, and both webhooks send that same key', () => {
    const file = env('VAULTAPP_AUTH_TOKEN_FILE');
    assert.ok(file, 'VAULTAPP_AUTH_TOKEN_FILE is set (the hook refuses to start in a cluster without authentication)');
    assert.notEqual(env('VAULTAPP_HOOK_AUTH'), 'none');
    const mount = hook.volumeMounts.find((m: any) => file!.startsWith(`${m.mountPath}/`));
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    const item = volume.secret.items.find((i: any) => `${mount.mountPath}/${i.path}` === file);
    assert.ok(item, `${file} is an item of Secret ${volume.secret.secretName}`);
    for (const h of ['sync', 'finalize']) {
      const auth = cc.spec.hooks[h].webhook.authorization;
      assert.deepStrictEqual(
        auth,
        { type: 'Bearer', secretRef: { name: volume.secret.secretName, namespace: deployment.metadata.namespace, key: item.key } },
        h,
      );
    }
  });

  it("the webhooks call the hook's Service, on the port the NetworkPolicy opens", () => {
    for (const h of ['sync', 'finalize']) {
      const url = new URL(cc.spec.hooks[h].webhook.url);
      assert.equal(url.hostname, `${service.metadata.name}.${service.metadata.namespace}`);
      assert.equal(url.pathname, `/${h}`);
    }
    assert.equal(service.spec.ports[0].targetPort, 'http');
  });
});

describe('the NetworkPolicy', () => {
  it("selects the hook's pods and makes ingress default-deny", () => {
    for (const [k, v] of Object.entries(policy.spec.podSelector.matchLabels)) assert.equal(deployment.spec.template.metadata.labels[k], v);
    assert.ok(policy.spec.policyTypes.includes('Ingress'));
  });

  it("admits only the metacontroller namespace and the metrics scraper, and only to the hook's named port", () => {
    const namespaces = policy.spec.ingress.flatMap((rule: any) => {
      assert.ok(rule.from?.length > 0, 'no rule admits everyone');
      assert.deepStrictEqual(rule.ports, [{ port: 'http', protocol: 'TCP' }]);
      return rule.from.map((peer: any) => {
        assert.deepStrictEqual(Object.keys(peer), ['namespaceSelector'], 'no ipBlock, no pod-only peer');
        return peer.namespaceSelector.matchLabels['kubernetes.io/metadata.name'];
      });
    });
    assert.deepStrictEqual(namespaces.sort(), ['metacontroller', 'monitoring']);
    assert.ok(hook.ports.some((p: any) => p.name === 'http'));
  });

  it('is part of the install', () => {
    assert.ok(one('kustomization.yaml', 'Kustomization').resources.includes('networkpolicy.yaml'));
    for (const r of one('kustomization.yaml', 'Kustomization').resources as string[]) assert.ok(existsSync(new URL(r, base)), r);
  });
});

describe('the opt-in TLS component (metacontroller/base/tls)', () => {
  const tls = new URL('tls/', base);
  const component = one('kustomization.yaml', 'Component', tls);
  const certs = read('certificates.yaml', tls);
  const serving = certs.find((c) => c.kind === 'Certificate' && !c.spec.isCA);
  const patch = one('deployment-tls.yaml', 'Deployment', tls);

  it('the hook serves the certificate cert-manager writes, and the webhooks trust its CA through caBundle', () => {
    const container = patch.spec.template.spec.containers[0];
    const files = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
    const volume = patch.spec.template.spec.volumes[0];
    assert.equal(volume.secret.secretName, serving.spec.secretName);
    assert.equal(files.VAULTAPP_TLS_CERT_FILE, `${container.volumeMounts[0].mountPath}/tls.crt`);
    assert.equal(files.VAULTAPP_TLS_KEY_FILE, `${container.volumeMounts[0].mountPath}/tls.key`);
    const ccPatch = component.patches.find((p: any) => p.target?.kind === 'CompositeController').patch as string;
    assert.equal(
      (ccPatch.match(new RegExp(`secretRef: \\{ name: ${serving.spec.secretName}, namespace: vaultapp-system, key: ca.crt \\}`, 'g')) ?? []).length,
      2,
    );
    for (const h of ['sync', 'finalize']) {
      const url = new URL(ccPatch.match(new RegExp(`https://[^\\s]+/${h}`))![0]);
      assert.ok(serving.spec.dnsNames.includes(url.hostname), `the certificate names ${url.hostname}`);
    }
  });

  it('renders on top of the base', async () => {
    await ensureKubectl();
    const out = kustomizeText(new URL('../', base).pathname);
    assert.match(out, /kind: NetworkPolicy/);
    assert.match(out, /authorization:\n\s+secretRef:/);
  });
});

describe("the core objects pass a real API server's strict server-side dry-run", () => {
  let kube: KubeServer;
  before(async () => {
    kube = await startKubeApiServer();
    await kube.applyYaml(readFileSync(new URL('namespace.yaml', base), 'utf8'));
  });
  after(async () => kube?.stop());

  const objects: [string, string, string][] = [
    ['deployment.yaml', 'Deployment', '/apis/apps/v1/namespaces/vaultapp-system/deployments'],
    ['networkpolicy.yaml', 'NetworkPolicy', '/apis/networking.k8s.io/v1/namespaces/vaultapp-system/networkpolicies'],
    ['service.yaml', 'Service', '/api/v1/namespaces/vaultapp-system/services'],
    ['serviceaccount.yaml', 'ServiceAccount', '/api/v1/namespaces/vaultapp-system/serviceaccounts'],
  ];
  for (const [file, kind, path] of objects) {
    it(`${kind} (${file})`, async () => {
      await kube.request('POST', `${path}?dryRun=All&fieldValidation=Strict`, one(file, kind));
    });
  }

  it("the Deployment with the TLS component's patch applied", async () => {
    const patched = structuredClone(deployment);
    const p = one('deployment-tls.yaml', 'Deployment', new URL('tls/', base)).spec.template.spec;
    patched.spec.template.spec.containers[0].env.push(...p.containers[0].env);
    patched.spec.template.spec.containers[0].volumeMounts.push(...p.containers[0].volumeMounts);
    patched.spec.template.spec.containers[0].readinessProbe.httpGet.scheme = 'HTTPS';
    patched.spec.template.spec.volumes.push(...p.volumes);
    await kube.request('POST', '/apis/apps/v1/namespaces/vaultapp-system/deployments?dryRun=All&fieldValidation=Strict', patched);
  });
});

describe("docs/install.md's Vault policy for the example", () => {
  it('grants read, and only read, on exactly the paths the example VaultApp reads', () => {
    const guide = readFileSync(new URL('../../docs/install.md', import.meta.url), 'utf8');
    const block = guide.match(/vault policy write read-billing-secrets - <<'HCL'\n([\s\S]*?)\nHCL/)?.[1];
    assert.ok(block, 'the policy block is in docs/install.md');
    const rules = [...block.matchAll(/path "([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}/g)].map((m) => ({
      path: m[1]!,
      caps: m[2]!.split(',').map((c) => c.trim().replace(/"/g, '')),
    }));
    assert.equal(rules.length, block.split('\n').filter((l) => l.trim()).length, 'every line is a path rule');
    const example = [...new Set(loadExample().spec.vault.secrets.map((s) => s.path))].sort();
    assert.deepStrictEqual(rules.map((r) => r.path).sort(), example);
    for (const r of rules) {
      assert.deepStrictEqual(r.caps, ['read'], r.path);
      assert.ok(!r.path.includes('*') && !r.path.includes('+'), `no glob in ${r.path}`);
    }
  });
});
