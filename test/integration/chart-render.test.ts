// What charts/vaultapp renders for the choices a platform team expects of a chart (standard
// labels, names it can override, a disruption budget and spreading, a `helm test`, NOTES),
// read from `helm template` and `helm install --dry-run` with the pinned helm.
// test/integration/helm-chart.test.ts compares the default install with kustomize's.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CHART_DIR, ensureHelm, helmTemplate, runHelm } from '../support/helm.js';

let helm: string;
before(
  async () => {
    helm = await ensureHelm();
  },
  { timeout: 30 * 60_000 },
); // a cold Go cache builds helm first

const APP_VERSION = '0.1.0';
const STANDARD_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/managed-by',
  'helm.sh/chart',
];
/** Values under which every template renders something. */
const EVERYTHING = { tls: { enabled: true }, monitoring: { serviceMonitor: { enabled: true }, dashboard: { enabled: true } } };

const templated = (objs: any[]) => objs.filter((o) => o.kind !== 'CustomResourceDefinition'); // crds/ is never templated
const kind = (objs: any[], k: string) => objs.filter((o) => o.kind === k);
const one = (objs: any[], k: string, pred: (o: any) => boolean = () => true) => {
  const found = kind(objs, k).filter(pred);
  assert.equal(found.length, 1, `one ${k}`);
  return found[0];
};
const isTest = (o: any) => o.metadata.annotations?.['helm.sh/hook'] === 'test';
const hook = (objs: any[]) => one(objs, 'Deployment');
/** Whether `selector` (matchLabels) selects an object with `labels`. */
const selects = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('standard labels', () => {
  it('every templated object, the helm test objects and the pod template carry all of them, with the release and versions', () => {
    const objs = templated(helmTemplate(helm, EVERYTHING));
    assert.ok(objs.length >= 18, `rendered ${objs.length} objects`);
    const components = new Set<string>();
    for (const o of [...objs, { kind: 'pod template of', metadata: hook(objs).spec.template.metadata }]) {
      const labels = o.metadata.labels ?? {};
      const where = `${o.kind} ${o.metadata.name ?? 'vaultapp-hook'}`;
      assert.deepEqual(
        STANDARD_LABELS.filter((l) => !(l in labels)),
        [],
        `${where} lacks none`,
      );
      assert.equal(labels['app.kubernetes.io/instance'], 'vaultapp', where);
      assert.equal(labels['app.kubernetes.io/version'], APP_VERSION, where);
      assert.equal(labels['app.kubernetes.io/part-of'], 'vaultapp', where);
      assert.equal(labels['app.kubernetes.io/managed-by'], 'Helm', where);
      assert.equal(labels['helm.sh/chart'], `vaultapp-${APP_VERSION}`, where);
      assert.equal(labels['app.kubernetes.io/name'], isTest(o) ? 'vaultapp-hook-test' : 'vaultapp-hook', where);
      components.add(labels['app.kubernetes.io/component']);
    }
    assert.deepEqual([...components].sort(), ['controller', 'hook', 'monitoring', 'test', 'tls']);
  });

  it('version follows the image tag; the selectors do not (a Deployment selector cannot change)', () => {
    const objs = helmTemplate(helm, { image: { tag: '0.2.0-rc.1' } });
    const d = hook(objs);
    assert.equal(d.metadata.labels['app.kubernetes.io/version'], '0.2.0-rc.1');
    assert.equal(d.spec.template.metadata.labels['app.kubernetes.io/version'], '0.2.0-rc.1');
    assert.deepEqual(d.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'vaultapp-hook' });
  });

  it('podLabels and podAnnotations reach the pods; podLabels cannot replace the chart’s own', () => {
    const objs = helmTemplate(helm, {
      podLabels: { team: 'platform', 'app.kubernetes.io/name': 'other' },
      podAnnotations: { 'example.com/scrape': 'false' },
    });
    const meta = hook(objs).spec.template.metadata;
    assert.equal(meta.labels.team, 'platform');
    assert.equal(meta.labels['app.kubernetes.io/name'], 'vaultapp-hook');
    assert.deepEqual(meta.annotations, { 'example.com/scrape': 'false' });
    assert.equal(hook(helmTemplate(helm)).spec.template.metadata.annotations, undefined, 'none by default');
  });

  it('priorityClassName and ServiceAccount annotations come from the values, and are absent by default', () => {
    const objs = helmTemplate(helm, { priorityClassName: 'platform-critical', serviceAccount: { annotations: { 'iam.example.com/role': 'vaultapp' } } });
    assert.equal(hook(objs).spec.template.spec.priorityClassName, 'platform-critical');
    assert.deepEqual(one(objs, 'ServiceAccount').metadata.annotations, { 'iam.example.com/role': 'vaultapp' });
    const plain = helmTemplate(helm);
    assert.equal(hook(plain).spec.template.spec.priorityClassName, undefined);
    assert.equal(one(plain, 'ServiceAccount').metadata.annotations, undefined);
  });
});

describe('availability', () => {
  it('two replicas by default; the PodDisruptionBudget selects exactly the hook’s pods and lets one go at a time', () => {
    const objs = helmTemplate(helm);
    const d = hook(objs);
    assert.equal(d.spec.replicas, 2);
    const pdb = one(objs, 'PodDisruptionBudget');
    assert.deepEqual(pdb.spec.selector.matchLabels, d.spec.selector.matchLabels);
    assert.ok(selects(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels));
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.equal(pdb.spec.minAvailable, undefined, 'a single replica must never block a drain');
    assert.equal(pdb.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow');
    assert.deepEqual(kind(helmTemplate(helm, { podDisruptionBudget: { enabled: false } }), 'PodDisruptionBudget'), []);
    assert.equal(one(helmTemplate(helm, { podDisruptionBudget: { maxUnavailable: '50%' } }), 'PodDisruptionBudget').spec.maxUnavailable, '50%');
  });

  it('replicas spread over nodes softly, counting the hook’s own pods; a user entry keeps its selector; [] removes it', () => {
    const d = hook(helmTemplate(helm));
    assert.deepEqual(d.spec.template.spec.topologySpreadConstraints, [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: d.spec.selector.matchLabels },
      },
    ]);
    const zone = { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { a: 'b' } } };
    assert.deepEqual(hook(helmTemplate(helm, { topologySpreadConstraints: [zone] })).spec.template.spec.topologySpreadConstraints, [zone]);
    assert.equal(hook(helmTemplate(helm, { topologySpreadConstraints: [] })).spec.template.spec.topologySpreadConstraints, undefined);
  });
});

/**
 * Every reference between the objects agrees with their names: the problems found, empty
 * when the install is consistent. `name` is the expected name label, `prefix` the expected
 * object-name prefix.
 */
function wiringProblems(objs: any[], ns: string, name: string, prefix: string): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const d = hook(objs);
  const pods = d.spec.template.metadata.labels;
  const svc = one(objs, 'Service');
  const host = `${svc.metadata.name}.${ns}`;
  expect(d.spec.selector.matchLabels['app.kubernetes.io/name'] === name, 'the Deployment selects the name label');
  for (const o of templated(objs)) {
    if (o.kind === 'CompositeController') continue; // fixed name: one controller per cluster
    expect(o.metadata.name.startsWith(prefix), `${o.kind} ${o.metadata.name} starts with ${prefix}`);
  }
  for (const sel of [
    svc.spec.selector,
    one(objs, 'PodDisruptionBudget').spec.selector.matchLabels,
    one(objs, 'NetworkPolicy', (o) => !isTest(o)).spec.podSelector.matchLabels,
  ]) {
    expect(selects(sel, pods), `${JSON.stringify(sel)} selects the hook's pods`);
  }
  const sm = kind(objs, 'ServiceMonitor')[0];
  if (sm) expect(selects(sm.spec.selector.matchLabels, svc.metadata.labels), "the ServiceMonitor selects the hook's Service");
  const sa = one(objs, 'ServiceAccount').metadata.name;
  expect(d.spec.template.spec.serviceAccountName === sa, 'the pods run as the ServiceAccount');
  const crb = kind(objs, 'ClusterRoleBinding')[0];
  if (crb) expect(crb.subjects[0].name === sa && crb.roleRef.name === one(objs, 'ClusterRole').metadata.name, 'the binding names the SA and the role');
  const vap = kind(objs, 'ValidatingAdmissionPolicy')[0];
  if (vap) {
    expect(vap.spec.matchConditions[0].expression.endsWith(`'system:serviceaccount:${ns}:${sa}'`), 'the token policy names the SA');
    expect(one(objs, 'ValidatingAdmissionPolicyBinding').spec.policyName === vap.metadata.name, 'the policy binding names the policy');
  }
  const cc = one(objs, 'CompositeController');
  for (const h of ['sync', 'finalize']) {
    const url = new URL(cc.spec.hooks[h].webhook.url);
    expect(url.host === host, `the ${h} webhook calls the Service (${url.host})`);
  }
  const serving = kind(objs, 'Certificate').find((c) => !c.spec.isCA);
  if (serving) {
    expect(serving.spec.dnsNames.includes(host), 'the certificate names the host called');
    const tlsVolume = d.spec.template.spec.volumes.find((v: any) => v.name === 'hook-tls');
    expect(tlsVolume?.secret.secretName === serving.spec.secretName, 'the hook mounts the serving Secret');
    expect(cc.spec.hooks.sync.webhook.caBundle.secretRef.name === serving.spec.secretName, 'the caBundle is the serving Secret');
    const ca = one(objs, 'Certificate', (c) => c.spec.isCA);
    const caIssuer = one(objs, 'Issuer', (i) => i.spec.ca);
    expect(caIssuer.spec.ca.secretName === ca.spec.secretName && serving.spec.issuerRef.name === caIssuer.metadata.name, 'the CA chain');
    expect(ca.spec.issuerRef.name === one(objs, 'Issuer', (i) => i.spec.selfSigned).metadata.name, 'the CA is self-signed');
    if (sm) expect(serving.spec.dnsNames.includes(sm.spec.endpoints[0].tlsConfig.serverName), 'the scrape verifies a name the certificate has');
    if (sm) expect(sm.spec.endpoints[0].tlsConfig.ca.secret.name === serving.spec.secretName, 'the scrape trusts the CA');
  }
  const testPod = one(objs, 'Pod', isTest);
  const url = testPod.spec.containers[0].args.at(-1);
  expect(url === `${new URL(cc.spec.hooks.sync.webhook.url).origin}/readyz`, `the helm test calls the hook's URL (${url})`);
  return problems;
}

describe('names', () => {
  const cases = [
    { name: 'the defaults', values: {}, label: 'vaultapp-hook', prefix: 'vaultapp-hook' },
    { name: 'nameOverride: the name label and the names', values: { nameOverride: 'vault-hook' }, label: 'vault-hook', prefix: 'vault-hook' },
    { name: 'fullnameOverride: the names only', values: { fullnameOverride: 'platform-vaultapp' }, label: 'vaultapp-hook', prefix: 'platform-vaultapp' },
    { name: 'both', values: { nameOverride: 'vh', fullnameOverride: 'vh-main' }, label: 'vh', prefix: 'vh-main' },
  ];
  for (const c of cases) {
    it(`${c.name}: every object and every reference between them follows`, () => {
      const objs = helmTemplate(helm, { ...EVERYTHING, ...c.values }, 'platform-vault');
      assert.deepEqual(wiringProblems(objs, 'platform-vault', c.label, c.prefix), []);
      if (c.prefix !== 'vaultapp-hook') {
        // No object or reference keeps the default name; what is left are values of the user's
        // own (the Secrets they create, the image), and the name label where it is kept.
        // Without the dashboard, whose uid it is.
        const values = { ...EVERYTHING, monitoring: { serviceMonitor: { enabled: true } }, ...c.values };
        const r = runHelm(helm, ['template', 'vaultapp', CHART_DIR, '--namespace', 'platform-vault'], values);
        assert.equal(r.status, 0, r.stderr);
        const left = new Set(r.stdout.match(/[\w./:-]*vaultapp-hook[\w.:-]*/g));
        const labels = c.label === 'vaultapp-hook' ? ['vaultapp-hook', 'vaultapp-hook-test'] : [];
        assert.deepEqual([...left].sort(), ['ghcr.io/techweaver/vaultapp-hook:0.1.0', ...labels, 'vaultapp-hook-auth', 'vaultapp-hook-hmac'].sort());
      }
    });
  }

  it('negative control: a reference left behind is found', () => {
    const objs = helmTemplate(helm, { ...EVERYTHING, fullnameOverride: 'platform-vaultapp' }, 'platform-vault');
    one(objs, 'ClusterRoleBinding').subjects[0].name = 'vaultapp-hook';
    one(objs, 'Certificate', (c) => !c.spec.isCA).spec.dnsNames = ['vaultapp-hook.platform-vault'];
    assert.deepEqual(wiringProblems(objs, 'platform-vault', 'vaultapp-hook', 'platform-vaultapp'), [
      'the binding names the SA and the role',
      'the certificate names the host called',
      'the scrape verifies a name the certificate has',
    ]);
  });

  it('the schema refuses a name that is no Service name', () => {
    for (const bad of ['Vault', 'vault_hook', '1hook', 'x'.repeat(41)]) {
      const r = runHelm(helm, ['template', 'vaultapp', CHART_DIR], { fullnameOverride: bad });
      assert.notEqual(r.status, 0, bad);
      assert.match(r.stderr, /fullnameOverride/, bad);
    }
  });
});

describe('helm test', () => {
  const testObjs = (values: unknown = {}) => helmTemplate(helm, values).filter(isTest);

  it('a restricted pod asks /readyz by the URL Metacontroller calls, with retries; a NetworkPolicy admits it alone, while it runs', () => {
    const objs = helmTemplate(helm);
    const [np, pod] = [one(objs, 'NetworkPolicy', isTest), one(objs, 'Pod', isTest)];
    assert.equal(pod.metadata.annotations['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded');
    assert.equal(np.metadata.annotations['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded,hook-failed');
    assert.ok(Number(np.metadata.annotations['helm.sh/hook-weight']) < Number(pod.metadata.annotations['helm.sh/hook-weight'] ?? 0), 'the policy first');
    const c = pod.spec.containers[0];
    assert.equal(c.image, 'docker.io/curlimages/curl:8.11.1');
    assert.deepEqual(c.command, ['curl']);
    assert.equal(c.args.at(-1), 'http://vaultapp-hook.vaultapp-system/readyz');
    assert.ok(c.args.includes('--fail') && c.args.includes('--retry'));
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    // The test pod is not one of the hook's pods: no Service, budget or policy of the hook selects it.
    const d = hook(objs);
    for (const sel of [one(objs, 'Service').spec.selector, d.spec.selector.matchLabels, one(objs, 'PodDisruptionBudget').spec.selector.matchLabels]) {
      assert.ok(!selects(sel, pod.metadata.labels), JSON.stringify(sel));
    }
    // The test policy opens the hook's pods to the test pod only, on the hook's port.
    assert.ok(selects(np.spec.podSelector.matchLabels, d.spec.template.metadata.labels));
    assert.deepEqual(np.spec.ingress, [
      { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vaultapp-hook-test' } } }], ports: [{ port: 'http', protocol: 'TCP' }] },
    ]);
    assert.ok(selects(np.spec.ingress[0].from[0].podSelector.matchLabels, pod.metadata.labels));
  });

  it('with TLS: HTTPS to the certificate’s name, trusting the CA, mounting ca.crt only (not the key)', () => {
    const pod = one(testObjs({ tls: { enabled: true } }), 'Pod');
    const c = pod.spec.containers[0];
    assert.equal(c.args.at(-1), 'https://vaultapp-hook.vaultapp-system/readyz');
    const cacert = c.args[c.args.indexOf('--cacert') + 1];
    const mount = c.volumeMounts.find((m: any) => cacert.startsWith(`${m.mountPath}/`));
    const volume = pod.spec.volumes.find((v: any) => v.name === mount.name);
    assert.deepEqual(volume.secret, { secretName: 'vaultapp-hook-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
  });

  it('its image is a value; without the NetworkPolicy there is no test policy either', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const objs = testObjs({
      networkPolicy: { enabled: false },
      hookAuth: { mode: 'token' },
      test: { image: { repository: 'mirror.example/curl', tag: '', digest } },
    });
    assert.deepEqual(
      objs.map((o) => o.kind),
      ['Pod'],
    );
    assert.equal(objs[0].spec.containers[0].image, `mirror.example/curl@${digest}`);
  });
});

describe('NOTES.txt', () => {
  /** The NOTES `helm install` prints, and the objects it would install. */
  function install(values: unknown, ns = 'vaultapp-system'): { notes: string; objs: any[] } {
    const r = runHelm(helm, ['install', 'vaultapp', CHART_DIR, '--dry-run=client', '--namespace', ns], values);
    assert.equal(r.status, 0, r.stderr);
    const at = r.stdout.indexOf('\nNOTES:\n');
    assert.ok(at >= 0, `NOTES in: ${r.stdout.slice(0, 400)}`);
    return { notes: r.stdout.slice(at), objs: helmTemplate(helm, values, ns) };
  }
  /** The `kubectl create secret` commands in the NOTES: namespace, Secret and key of each. */
  const creates = (notes: string) =>
    [...notes.matchAll(/kubectl -n (\S+) create secret generic (\S+) --from-literal=([^=\s]+)=/g)].map((m) => ({ ns: m[1], secret: m[2], key: m[3] }));
  /** The Secrets (and keys) the hook's pods need before they start. */
  function needed(objs: any[], ns: string) {
    const d = hook(objs);
    const env = Object.fromEntries(d.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    const hmac = d.spec.template.spec.volumes.find((v: any) => v.name === 'hmac-key').secret.secretName;
    const out = [{ ns, secret: hmac, key: env.VAULTAPP_HMAC_KEY_FILE.split('/').at(-1) }];
    const auth = d.spec.template.spec.volumes.find((v: any) => v.name === 'hook-auth');
    if (auth) out.push({ ns, secret: auth.secret.secretName, key: auth.secret.items[0].key });
    return out;
  }

  it('first: the commands that create exactly the Secrets, keys and namespace the hook mounts', () => {
    for (const [values, ns] of [
      [{}, 'vaultapp-system'],
      [{ hmacKey: { secretName: 'hook-key', key: 'hmac' }, hookAuth: { secretName: 'mc-token', key: 'bearer' } }, 'platform-vault'],
      [{ hookAuth: { mode: 'none' } }, 'vaultapp-system'],
    ] as const) {
      const { notes, objs } = install(values, ns);
      assert.deepEqual(creates(notes), needed(objs, ns), JSON.stringify(values));
      assert.ok(notes.indexOf('create secret') < notes.indexOf('rollout status'), 'the Secrets come first');
      assert.match(notes, new RegExp(`helm test vaultapp -n ${ns}`));
    }
  });

  it('negative control: a NOTES naming another Secret is found', () => {
    const { notes, objs } = install({});
    assert.notDeepEqual(creates(notes.replace('generic vaultapp-hook-auth', 'generic vaultapp-auth')), needed(objs, 'vaultapp-system'));
  });
});

describe('helm lint --strict', () => {
  it('passes with every template rendering and with overridden names', () => {
    for (const values of [
      EVERYTHING,
      { ...EVERYTHING, nameOverride: 'vh', fullnameOverride: 'vh-main', identity: { mode: 'controller', allowedRoles: { a: ['b'] } } },
    ]) {
      const r = runHelm(helm, ['lint', '--strict', CHART_DIR], values);
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
  });
});
