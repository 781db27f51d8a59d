// charts/vaultapp installs the same objects as the kustomize manifests under metacontroller/:
// each variant of the install is rendered both ways and compared object by object (kind,
// name, namespace and content), after the normalisations listed at `normalise`. The chart's
// own choices (identity mode, hook authentication, namespaces) are checked on what it
// renders, and every variant passes a strict server-side dry-run on a real kube-apiserver.
// The comparison is the guard against drift: a change under metacontroller/ that the chart
// does not follow (or the reverse) fails here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { KubeApiError, startKubeApiServer, type KubeServer } from '../support/kube-apiserver.js';
import { createNamespace, ensureServiceMonitorCrd, installCrd } from '../support/kube-vaultapp.js';
import { CHART_DIR, ensureHelm, helmTemplate, runHelm } from '../support/helm.js';
import { ensureKubectl, ENSURE_KUBECTL_TIMEOUT_MS, kustomize, kustomizeOverlay, METACONTROLLER_DIR } from '../support/kustomize.js';
import { CERT_MANAGER_CRDS, COMPOSITE_CONTROLLER_CRD } from '../support/third-party-crds.js';
import { CHART_COPIES } from '../support/chart-copies.js';

let helm: string;
before(
  async () => {
    [helm] = await Promise.all([ensureHelm(), ensureKubectl()]);
  },
  { timeout: Math.max(30 * 60_000, ENSURE_KUBECTL_TIMEOUT_MS) },
); // a cold Go cache builds helm and kubectl first

/**
 * Helm's own labels, on every object the chart templates and on the hook's pod template, and
 * nothing else the chart may add. The other standard labels (name, component, part-of) are
 * metacontroller/'s too, and compared as they are.
 */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];

const key = (o: any) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name} (${o.apiVersion})`;

/** Objects Helm creates only while `helm test` runs: not part of the install. */
const isTestHook = (o: any) => o.metadata.annotations?.['helm.sh/hook'] === 'test';

/**
 * What differs between the two renders without changing what is installed. Each is
 * removed here, and only here:
 * 1. kustomize's Namespace object: the chart does not template its release namespace
 *    (`helm install --create-namespace` makes it). A chart that owns it would delete it on
 *    `helm uninstall`, with the HMAC and bearer-token Secrets the user created in it.
 * 2. Helm's labels (HELM_LABELS) on metadata.labels and on the Deployment's pod template:
 *    Helm users select and audit by them; no selector or ServiceMonitor selection uses them
 *    (the selectors are compared as they are). Every templated object must carry them
 *    (checked here), so this cannot hide a missing object or a changed label.
 * 3. The chart's `helm test` objects (annotation helm.sh/hook: test): `helm install` does
 *    not create them, `helm test` does, and deletes them afterwards.
 * Comments and YAML spelling (flow style, key order, quoting) vanish when both are parsed.
 */
function normalise(kustomized: any[], rendered: any[]): { kustomized: any[]; rendered: any[] } {
  const withoutHelmLabels = (labels: Record<string, string> | undefined, where: string) => {
    const out = { ...labels };
    for (const l of HELM_LABELS) {
      assert.ok(l in out, `${where} carries ${l}`);
      delete out[l];
    }
    return out;
  };
  const fromChart = structuredClone(rendered.filter((o) => !isTestHook(o))).map((o) => {
    if (o.kind === 'CustomResourceDefinition') return o; // crds/ is not templated: no labels added
    o.metadata.labels = withoutHelmLabels(o.metadata.labels, key(o));
    if (o.kind === 'Deployment') o.spec.template.metadata.labels = withoutHelmLabels(o.spec.template.metadata.labels, `${key(o)}'s pod template`);
    return o;
  });
  return { kustomized: kustomized.filter((o) => o.kind !== 'Namespace'), rendered: fromChart };
}

/** Each object missing on one side, or different in content; empty when the installs agree. */
function differences(kustomized: any[], rendered: any[]): string[] {
  const n = normalise(kustomized, rendered);
  const byKey = (objs: any[]) => new Map(objs.map((o) => [key(o), o]));
  const k = byKey(n.kustomized);
  const h = byKey(n.rendered);
  assert.equal(k.size, n.kustomized.length, 'kustomize rendered no object twice');
  assert.equal(h.size, n.rendered.length, 'the chart rendered no object twice');
  const out: string[] = [];
  for (const [name, obj] of k) {
    if (!h.has(name)) out.push(`only in kustomize: ${name}`);
    else if (!isDeepStrictEqual(obj, h.get(name))) out.push(`differs: ${name}`);
  }
  for (const name of h.keys()) if (!k.has(name)) out.push(`only in the chart: ${name}`);
  return out;
}

/** Asserts the installs agree, showing the first differing object in full when they do not. */
function assertSame(kustomized: any[], rendered: any[]): void {
  const diffs = differences(kustomized, rendered);
  const first = diffs.find((d) => d.startsWith('differs: '));
  if (first) {
    const name = first.slice('differs: '.length);
    const n = normalise(kustomized, rendered);
    const named = (objs: any[]) => objs.find((o) => key(o) === name);
    assert.deepStrictEqual(named(n.rendered), named(n.kustomized), diffs.join('\n'));
  }
  assert.deepEqual(diffs, []);
}

// Each shipped kustomize variant and the chart values that mean the same install.
const variants: { name: string; kustomize: () => any[]; values: unknown }[] = [
  { name: 'metacontroller/ (the default install)', kustomize: () => kustomize(METACONTROLLER_DIR), values: {} },
  {
    name: 'base with the TLS component',
    kustomize: () => kustomizeOverlay(['base'], ['base/tls']),
    values: { tls: { enabled: true } },
  },
  {
    name: 'metacontroller/without-servicemonitor/',
    kustomize: () => kustomizeOverlay(['without-servicemonitor']),
    values: { monitoring: { vaultAppServiceMonitors: false } },
  },
  {
    name: 'metacontroller/ with metacontroller/monitoring/',
    kustomize: () => kustomizeOverlay(['.', 'monitoring']),
    values: { monitoring: { serviceMonitor: { enabled: true }, dashboard: { enabled: true } } },
  },
  {
    name: 'base with the TLS component, with metacontroller/monitoring-tls/',
    kustomize: () => kustomizeOverlay(['base', 'monitoring-tls'], ['base/tls']),
    values: { tls: { enabled: true }, monitoring: { serviceMonitor: { enabled: true }, dashboard: { enabled: true } } },
  },
];

describe('the chart installs what kustomize installs, in every variant', () => {
  for (const v of variants) {
    it(v.name, () => {
      const kustomized = v.kustomize();
      assertSame(kustomized, helmTemplate(helm, v.values));
    });
  }

  it('negative controls: a changed value, a missing object and an extra one are each reported', () => {
    const kustomized = kustomize(METACONTROLLER_DIR);
    assert.deepEqual(differences(kustomized, helmTemplate(helm, { vault: { address: 'https://other:8200' } })), [
      'differs: Deployment vaultapp-system/vaultapp-hook (apps/v1)',
    ]);
    assert.deepEqual(differences(kustomized, helmTemplate(helm, { networkPolicy: { enabled: false } })), [
      'only in kustomize: NetworkPolicy vaultapp-system/vaultapp-hook (networking.k8s.io/v1)',
    ]);
    assert.deepEqual(differences(kustomized, helmTemplate(helm, { monitoring: { serviceMonitor: { enabled: true } } })), [
      'only in the chart: ServiceMonitor vaultapp-system/vaultapp-hook (monitoring.coreos.com/v1)',
    ]);
    assert.deepEqual(differences(kustomized, helmTemplate(helm, { podDisruptionBudget: { enabled: false } })), [
      'only in kustomize: PodDisruptionBudget vaultapp-system/vaultapp-hook (policy/v1)',
    ]);
    assert.deepEqual(differences(kustomized, helmTemplate(helm, { replicaCount: 1, topologySpreadConstraints: [] })), [
      'differs: Deployment vaultapp-system/vaultapp-hook (apps/v1)',
    ]);
    // Both install two replicas of the stateless hook, spread softly over nodes.
    const spec = kustomized.find((o) => o.kind === 'Deployment').spec;
    assert.equal(spec.replicas, 2);
    assert.equal(spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable, 'ScheduleAnyway');
    // A Helm label missing from an object is reported, not normalised away.
    const unversioned = helmTemplate(helm);
    delete unversioned.find((o) => o.kind === 'PodDisruptionBudget').metadata.labels['app.kubernetes.io/version'];
    assert.throws(
      () => differences(kustomized, unversioned),
      /PodDisruptionBudget vaultapp-system\/vaultapp-hook \(policy\/v1\) carries app.kubernetes.io\/version/,
    );
    // A label of the hook's own (not one of Helm's) is not normalised away.
    const unlabelled = helmTemplate(helm);
    delete unlabelled.find((o) => o.kind === 'Service').metadata.labels['app.kubernetes.io/name'];
    assert.deepEqual(differences(kustomized, unlabelled), ['differs: Service vaultapp-system/vaultapp-hook (v1)']);
  });
});

describe('the chart as Helm loads and packages it', () => {
  it('`helm lint --strict` passes (warnings fail it too)', () => {
    const r = runHelm(helm, ['lint', '--strict', CHART_DIR]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('`helm package` stores the copies of shared files byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vaultapp-chart-'));
    try {
      const packed = runHelm(helm, ['package', CHART_DIR, '--destination', dir]);
      assert.equal(packed.status, 0, packed.stderr);
      execFileSync('tar', ['-xzf', join(dir, 'vaultapp-0.1.0.tgz'), '-C', dir]);
      for (const { copy, source } of CHART_COPIES) {
        const inPackage = copy.replace(/^charts\//, '');
        assert.ok(readFileSync(join(dir, inPackage)).equals(readFileSync(new URL(`../../${source}`, import.meta.url))), inPackage);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the chart's own choices, on what it renders", () => {
  const find = (objs: any[], kind: string) => objs.filter((o) => o.kind === kind);
  const hookOf = (objs: any[]) => find(objs, 'Deployment')[0].spec.template.spec;
  const env = (objs: any[]) => Object.fromEntries(hookOf(objs).containers[0].env.map((e: any) => [e.name, e.value]));
  const refusal = (values: unknown) => {
    const r = runHelm(helm, ['template', 'vaultapp', CHART_DIR, '--namespace', 'vaultapp-system'], values);
    assert.notEqual(r.status, 0, 'helm refuses the values');
    return r.stderr;
  };

  it('controller identity: needs allowedRoles; the hook gets them and no token-requesting RBAC or policy', () => {
    assert.match(refusal({ identity: { mode: 'controller' } }), /identity\.mode=controller needs identity\.allowedRoles/);
    const roles = { 'team-a': ['app-a'], billing: ['billing-app', 'billing-reports'] };
    const objs = helmTemplate(helm, { identity: { mode: 'controller', allowedRoles: roles } });
    assert.equal(env(objs).VAULTAPP_IDENTITY, 'controller');
    assert.deepEqual(JSON.parse(env(objs).VAULTAPP_ALLOWED_ROLES), roles);
    assert.equal(env(objs).VAULTAPP_TOKEN_AUDIENCE, undefined);
    const tokenKinds = ['ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    for (const kind of tokenKinds) assert.deepEqual(find(objs, kind), [], kind);
  });

  it('workload identity: the token audience the hook asks for is the one the policy allows', () => {
    const objs = helmTemplate(helm, { identity: { tokenAudience: 'vault.example.com' } });
    assert.equal(env(objs).VAULTAPP_TOKEN_AUDIENCE, 'vault.example.com');
    const policy = find(objs, 'ValidatingAdmissionPolicy')[0];
    assert.equal(policy.spec.validations[0].expression, "has(object.spec.audiences) && object.spec.audiences == ['vault.example.com']");
    // The audience goes into a CEL string literal: the schema keeps quotes out of it.
    assert.match(refusal({ identity: { tokenAudience: "vault'] || true || ['" } }), /tokenAudience/);
  });

  it('hook authentication off: refused without the NetworkPolicy; else no token anywhere and the hook told so', () => {
    assert.match(refusal({ hookAuth: { mode: 'none' }, networkPolicy: { enabled: false } }), /hookAuth\.mode=none leaves the NetworkPolicy/);
    const objs = helmTemplate(helm, { hookAuth: { mode: 'none' } });
    assert.equal(env(objs).VAULTAPP_HOOK_AUTH, 'none');
    assert.equal(env(objs).VAULTAPP_AUTH_TOKEN_FILE, undefined, 'the hook refuses to start with both');
    assert.ok(!hookOf(objs).volumes.some((v: any) => v.name === 'hook-auth'));
    const cc = find(objs, 'CompositeController')[0];
    for (const h of ['sync', 'finalize']) assert.equal(cc.spec.hooks[h].webhook.authorization, undefined, h);
  });

  it('another release namespace: every reference follows it, and vaultapp-system appears nowhere', () => {
    const values = { tls: { enabled: true }, monitoring: { serviceMonitor: { enabled: true } } };
    const r = runHelm(helm, ['template', 'vaultapp', CHART_DIR, '--namespace', 'platform-vault'], values);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /vaultapp-system/);
    const objs = helmTemplate(helm, values, 'platform-vault');
    const cc = find(objs, 'CompositeController')[0];
    const cert = find(objs, 'Certificate').find((c) => c.metadata.name === 'vaultapp-hook-tls');
    for (const h of ['sync', 'finalize']) {
      const webhook = cc.spec.hooks[h].webhook;
      assert.equal(webhook.url, `https://vaultapp-hook.platform-vault/${h}`);
      assert.ok(cert.spec.dnsNames.includes(new URL(webhook.url).hostname), 'the certificate names the host called');
      assert.equal(webhook.authorization.secretRef.namespace, 'platform-vault');
      assert.equal(webhook.caBundle.secretRef.namespace, 'platform-vault');
    }
    assert.ok(cert.spec.dnsNames.includes(find(objs, 'ServiceMonitor')[0].spec.endpoints[0].tlsConfig.serverName));
    assert.equal(find(objs, 'ClusterRoleBinding')[0].subjects[0].namespace, 'platform-vault');
    assert.match(find(objs, 'ValidatingAdmissionPolicy')[0].spec.matchConditions[0].expression, /== 'system:serviceaccount:platform-vault:vaultapp-hook'$/);
  });

  it('image, resources, NetworkPolicy namespaces and monitoring labels come from the values', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const objs = helmTemplate(helm, {
      image: { repository: 'registry.example/vaultapp-hook', tag: '0.2.0', digest, pullPolicy: 'IfNotPresent' },
      resources: { requests: { cpu: '200m', memory: '128Mi' }, limits: { memory: '512Mi' } },
      networkPolicy: { metacontrollerNamespaces: ['mc-a', 'mc-b'], prometheusNamespaces: [] },
      monitoring: {
        defaultLabels: { release: 'kube-prometheus-stack' },
        serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } },
      },
    });
    const hook = hookOf(objs).containers[0];
    assert.equal(hook.image, `registry.example/vaultapp-hook:0.2.0@${digest}`);
    assert.equal(hook.imagePullPolicy, 'IfNotPresent');
    assert.deepEqual(hook.resources, { requests: { cpu: '200m', memory: '128Mi' }, limits: { memory: '512Mi' } });
    const rules = find(objs, 'NetworkPolicy')[0].spec.ingress;
    const admitted = rules.map((r: any) => r.from.map((p: any) => p.namespaceSelector.matchLabels['kubernetes.io/metadata.name']));
    assert.deepEqual(admitted, [['mc-a', 'mc-b']], 'no rule for an empty scraper list');
    assert.deepEqual(JSON.parse(env(objs).VAULTAPP_MONITORING_LABELS), { release: 'kube-prometheus-stack' });
    assert.equal(find(objs, 'ServiceMonitor')[0].metadata.labels.release, 'kube-prometheus-stack');
  });

  it('the values schema refuses a misspelt key and an unknown mode (Helm would otherwise ignore them)', () => {
    assert.match(refusal({ tls: { enable: true } }), /at '\/tls': additional properties 'enable' not allowed/);
    assert.match(refusal({ identity: { mode: 'both' } }), /identity\/mode/);
    assert.match(refusal({ networkPolicy: { metacontrollerNamespaces: [] } }), /metacontrollerNamespaces/);
  });
});

describe('what the chart renders passes a strict server-side dry-run on a real kube-apiserver', () => {
  let kube: KubeServer;
  before(
    async () => {
      let smCrd: string;
      [kube, smCrd] = await Promise.all([startKubeApiServer(), ensureServiceMonitorCrd()]);
      // The chart's own CRD as it renders it (crds/), the operator's ServiceMonitor CRD, and
      // Metacontroller's and cert-manager's kinds (test/support/third-party-crds.ts).
      const own = helmTemplate(helm).filter((o) => o.kind === 'CustomResourceDefinition');
      assert.equal(own.length, 1, 'the chart renders its CRD');
      for (const text of [
        JSON.stringify(own[0]),
        readFileSync(smCrd, 'utf8'),
        ...[COMPOSITE_CONTROLLER_CRD, ...CERT_MANAGER_CRDS].map((c) => JSON.stringify(c)),
      ]) {
        await installCrd(kube, text);
      }
      await Promise.all(['vaultapp-system', 'platform-vault'].map((ns) => createNamespace(kube, ns)));
    },
    { timeout: 60 * 60_000 },
  ); // a cold cache builds kube-apiserver and etcd first
  after(async () => kube?.stop());

  // Where each kind is created, from the API server's discovery.
  const collections = new Map<string, { plural: string; namespaced: boolean }>();
  async function collection(o: any): Promise<string> {
    const prefix = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    const id = `${o.apiVersion}/${o.kind}`;
    if (!collections.has(id)) {
      const list = await kube.request('GET', prefix);
      for (const r of list.resources) {
        if (!r.name.includes('/')) collections.set(`${o.apiVersion}/${r.kind}`, { plural: r.name, namespaced: r.namespaced });
      }
    }
    const c = collections.get(id);
    assert.ok(c, `the API server serves ${id}`);
    assert.equal(c.namespaced, o.metadata.namespace !== undefined, `${key(o)}: namespaced exactly when the kind is`);
    return `${prefix}${c.namespaced ? `/namespaces/${o.metadata.namespace}` : ''}/${c.plural}`;
  }

  async function dryRunAll(objects: any[]): Promise<string[]> {
    const refused: string[] = [];
    for (const o of objects.filter((x) => x.kind !== 'CustomResourceDefinition')) {
      try {
        await kube.request('POST', `${await collection(o)}?dryRun=All&fieldValidation=Strict`, o);
      } catch (e) {
        if (!(e instanceof KubeApiError)) throw e;
        refused.push(`${key(o)}: ${e.status} ${e.body?.message ?? e.message}`);
      }
    }
    return refused;
  }

  const cases: { name: string; values: unknown; namespace?: string }[] = [
    ...variants.map((v) => ({ name: `as ${v.name}`, values: v.values })),
    {
      name: 'controller identity',
      values: { identity: { mode: 'controller', allowedRoles: { 'team-a': ['app-a'] } } },
    },
    { name: 'hook authentication off', values: { hookAuth: { mode: 'none' } } },
    {
      name: 'another namespace, TLS, monitoring, labels, digest, resources and scheduling',
      namespace: 'platform-vault',
      values: {
        tls: { enabled: true },
        image: { digest: `sha256:${'b'.repeat(64)}`, pullPolicy: 'Always' },
        imagePullSecrets: [{ name: 'registry' }],
        monitoring: {
          defaultLabels: { release: 'kube-prometheus-stack' },
          serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' }, interval: '1m' },
          dashboard: { enabled: true },
        },
        // Values merge into the defaults: a request above the default limit needs a limit too.
        resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
        networkPolicy: { metacontrollerNamespaces: ['mc'], prometheusNamespaces: ['prom-a', 'prom-b'] },
        extraEnv: [{ name: 'VAULTAPP_REFRESH_SECONDS', value: '300' }],
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'platform', effect: 'NoSchedule' }],
      },
    },
    {
      name: 'overridden names, pod labels and annotations, a priority class, ServiceAccount annotations, a zone spread, a percentage budget',
      namespace: 'platform-vault',
      values: {
        nameOverride: 'vh',
        fullnameOverride: 'vh-main',
        tls: { enabled: true },
        monitoring: { serviceMonitor: { enabled: true }, dashboard: { enabled: true } },
        podLabels: { team: 'platform' },
        podAnnotations: { 'example.com/note': 'x' },
        priorityClassName: 'system-cluster-critical',
        serviceAccount: { annotations: { 'iam.example.com/role': 'vaultapp' } },
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
        podDisruptionBudget: { maxUnavailable: '50%' },
        test: { image: { repository: 'mirror.example/curl', digest: `sha256:${'d'.repeat(64)}` } },
      },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const objects = helmTemplate(helm, c.values, c.namespace);
      assert.ok(objects.some((o) => o.kind === 'CompositeController') && objects.some((o) => o.kind === 'Deployment'));
      assert.deepEqual(await dryRunAll(objects), []);
    });
  }

  it('negative control: a misplaced field is refused by the strict dry-run, core and third-party kinds alike', async () => {
    const kinds = ['Deployment', 'CompositeController', 'Certificate'];
    const objects = helmTemplate(helm, { tls: { enabled: true } }).filter((o) => kinds.includes(o.kind));
    for (const o of objects) o.spec.replica = 2;
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['Certificate', 'Certificate', 'CompositeController', 'Deployment']);
    const refused = await dryRunAll(objects);
    assert.equal(refused.length, objects.length, refused.join('\n'));
    for (const r of refused) assert.match(r, /unknown field "spec\.replica"/);
  });
});
