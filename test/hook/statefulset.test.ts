// spec.statefulSetSpec: the StatefulSet child (the same volume, mount, version
// annotation and rotation modes as a Deployment), its readiness, the stored form of its
// claim templates, a claim template in the Secret volume's place, a CompositeController
// without statefulsets, and an observed Deployment of the same name, which is never read.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { validateVaultApp } from '../../src/api/validate.js';
import type { PathRead, VaultMaterial } from '../../src/hook/contract.js';
import { identityOf } from '../../src/hook/children/workload.js';
import { statefulSetReadiness } from '../../src/hook/children/readiness.js';
import { sync } from '../../src/hook/sync.js';
import type { KubeObject, SyncConfig, SyncResponse } from '../../src/hook/types.js';
import { b64, loadExample, request } from '../fixtures/requests.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5 };
const DB = 'kv/data/ledger/database';
const labels = { 'app.kubernetes.io/managed-by': 'vaultapp', 'vaultapp.techweaver.io/name': 'ledger' };
const kv2 = (data: Record<string, unknown>): PathRead => ({ ok: true, engine: 'kv2', data, version: 1 });
const material = (password: string): VaultMaterial => ({ auth: { ok: true }, reads: { [DB]: kv2({ password }) } });
const hmac = (data: Record<string, string>): string =>
  createHmac('sha256', config.hmacKey)
    .update(JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex');
const data1 = { db_password: b64('pw-1') };
const data2 = { db_password: b64('pw-2') };

const example = (): VaultApp => loadExample('statefulset.yaml');
const secret = (data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'ledger-vault-secrets', namespace: 'default', labels },
  type: 'Opaque',
  data,
});
const kindOf = (res: SyncResponse, kind: string) => res.children.find((c) => c.kind === kind);
const cond = (res: SyncResponse, type: string) => res.status.conditions!.find((c) => c.type === type)!;
const versionOf = (o: KubeObject | undefined) => (o?.spec as any)?.template?.metadata?.annotations?.['vaultapp.techweaver.io/secret-version'];

function statefulSet(version: string, status: Record<string, unknown> = {}, generation = 1): KubeObject {
  const res = sync(request(example()), material('pw-1'), NOW, config);
  const sts = structuredClone(kindOf(res, 'StatefulSet')!);
  (sts.spec as any).template.metadata.annotations['vaultapp.techweaver.io/secret-version'] = version;
  return { ...sts, metadata: { ...sts.metadata, generation }, status };
}

describe('a VaultApp with statefulSetSpec', () => {
  it("gets a StatefulSet (no Deployment): the user's spec with the Secret volume, read-only mounts and the version annotation", () => {
    const res = sync(request(example()), material('pw-1'), NOW, config);
    assert.deepStrictEqual(
      res.children.map((c) => c.kind),
      ['Secret', 'StatefulSet', 'Service', 'ServiceMonitor'],
    );
    assert.deepStrictEqual(kindOf(res, 'StatefulSet'), {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'ledger', namespace: 'default', labels },
      spec: {
        replicas: 3,
        serviceName: 'ledger',
        selector: { matchLabels: { app: 'ledger' } },
        template: {
          metadata: { labels: { app: 'ledger' }, annotations: { 'vaultapp.techweaver.io/secret-version': hmac(data1) } },
          spec: {
            containers: [
              {
                name: 'ledger',
                image: 'my-registry/ledger:2.4.1',
                ports: [{ name: 'http-metrics', containerPort: 9090 }],
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/ledger' },
                  { name: 'vault-secrets', mountPath: '/etc/secrets/vault', readOnly: true },
                ],
              },
            ],
            volumes: [{ name: 'vault-secrets', secret: { secretName: 'ledger-vault-secrets' } }],
          },
        },
        // With the defaults the API server stores (Metacontroller replaces this list whole).
        volumeClaimTemplates: [
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, volumeMode: 'Filesystem' },
            status: { phase: 'Pending' },
          },
        ],
      },
    });
    // The metrics Service selects the StatefulSet's pods.
    assert.deepStrictEqual((kindOf(res, 'Service')!.spec as any).selector, { app: 'ledger' });
    assert.equal(cond(res, 'StatefulSetReady').reason, 'Creating');
    assert.equal(
      res.status.conditions!.some((c) => c.type === 'DeploymentReady'),
      false,
    );
  });

  it('rotation restart: the pods roll once the Secret holds the new data; rotation none keeps the observed version', () => {
    const observed = [secret(data1), statefulSet(hmac(data1))];
    const res = sync(request(example(), observed), material('pw-2'), NOW, config);
    assert.deepStrictEqual(kindOf(res, 'Secret')!.data, data2);
    assert.equal(versionOf(kindOf(res, 'StatefulSet')), hmac(data1), 'not before the Secret is updated');
    const next = sync(request(example(), [secret(data2), statefulSet(hmac(data1))]), material('pw-2'), NOW, config);
    assert.equal(versionOf(kindOf(next, 'StatefulSet')), hmac(data2));

    const none = example();
    none.spec.vault.rotation = 'none';
    const kept = sync(request(none, [secret(data2), statefulSet(hmac(data1))]), material('pw-2'), NOW, config);
    assert.equal(versionOf(kindOf(kept, 'StatefulSet')), hmac(data1));
  });

  it('claim templates are written as the API server stores them: quantities canonical, empty lists gone', () => {
    const app = example();
    const claim = (app.spec.statefulSetSpec as any).volumeClaimTemplates[0];
    claim.spec.resources = { requests: { storage: '1.5Gi' }, limits: { storage: 2147483648 } };
    claim.spec.dataSourceRef = undefined;
    claim.metadata.finalizers = [];
    const sts = kindOf(sync(request(app), material('pw-1'), NOW, config), 'StatefulSet')!.spec as any;
    assert.deepStrictEqual(sts.volumeClaimTemplates[0].spec.resources, { requests: { storage: '1536Mi' }, limits: { storage: '2147483648' } });
    assert.equal('finalizers' in sts.volumeClaimTemplates[0].metadata, false);
    // What the user wrote stands; only absent defaults are added.
    const own = example();
    (own.spec.statefulSetSpec as any).volumeClaimTemplates[0].spec.volumeMode = 'Block';
    (own.spec.statefulSetSpec as any).volumeClaimTemplates[0].spec.dataSource = { kind: 'VolumeSnapshot', name: 'snap', apiGroup: 'snapshot.storage.k8s.io' };
    (own.spec.statefulSetSpec as any).volumeClaimTemplates.push({
      metadata: { name: 'copy' },
      spec: { dataSource: { kind: 'PersistentVolumeClaim', name: 'src' } },
    });
    const written = (kindOf(sync(request(own), material('pw-1'), NOW, config), 'StatefulSet')!.spec as any).volumeClaimTemplates;
    assert.equal(written[0].spec.volumeMode, 'Block');
    assert.equal(written[0].spec.dataSource.apiGroup, 'snapshot.storage.k8s.io');
    assert.deepStrictEqual(written[1].spec, { dataSource: { kind: 'PersistentVolumeClaim', name: 'src', apiGroup: null }, volumeMode: 'Filesystem' });
    const empty = example();
    (empty.spec.statefulSetSpec as any).volumeClaimTemplates = [];
    (empty.spec.statefulSetSpec as any).template.spec.containers[0].volumeMounts = [];
    const none = kindOf(sync(request(empty), material('pw-1'), NOW, config), 'StatefulSet')!.spec as any;
    assert.equal('volumeClaimTemplates' in none, false);
    assert.equal(example().spec.statefulSetSpec!.volumeClaimTemplates!.length, 1, 'the parent is not mutated');
  });

  it('a claim template named vault-secrets is reported, and neither the volume nor a mount is added', () => {
    const app = example();
    (app.spec.statefulSetSpec as any).volumeClaimTemplates.push({
      metadata: { name: 'vault-secrets' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const res = sync(request(app), material('pw-1'), NOW, config);
    const pod = (kindOf(res, 'StatefulSet')!.spec as any).template.spec;
    assert.equal(pod.volumes, undefined);
    assert.deepStrictEqual(pod.containers[0].volumeMounts, [{ name: 'data', mountPath: '/var/lib/ledger' }]);
    assert.equal(cond(res, 'StatefulSetReady').reason, 'VolumeConflict');
    assert.match(cond(res, 'StatefulSetReady').message, /statefulSetSpec\.volumeClaimTemplates\[1\] is named "vault-secrets"/);
    assert.equal(cond(res, 'Ready').status, 'False');
  });

  it('a claim template with a hostile shape (no metadata, a string, a list) is passed on, not crashed on', () => {
    const app = example();
    (app.spec.statefulSetSpec as any).volumeClaimTemplates = [
      {},
      { metadata: 'x' },
      { metadata: { name: ['vault-secrets'] } },
      { spec: { resources: 'x' } },
      { __proto__: { metadata: { name: 'vault-secrets' } } },
    ];
    const res = sync(request(app), material('pw-1'), NOW, config);
    assert.equal(cond(res, 'StatefulSetReady').reason, 'Creating');
    assert.deepStrictEqual((kindOf(res, 'StatefulSet')!.spec as any).template.spec.volumes, [
      { name: 'vault-secrets', secret: { secretName: 'ledger-vault-secrets' } },
    ]);
  });

  it('a CompositeController without statefulsets: no StatefulSet in the answer, a condition that says what to apply; the Secret is still made', () => {
    const res = sync(request(example(), [], { statefulSets: false }), material('pw-1'), NOW, config);
    assert.deepStrictEqual(
      res.children.map((c) => c.kind),
      ['Secret', 'Service', 'ServiceMonitor'],
    );
    assert.equal(cond(res, 'StatefulSetReady').reason, 'ChildTypeNotManaged');
    assert.match(cond(res, 'StatefulSetReady').message, /does not declare apps\/v1 statefulsets/);
  });

  it('an observed Deployment of the same name is never read: not its version, not its readiness, not as a workload that exists; it is left out', () => {
    const app = example();
    app.spec.vault.rotation = 'none';
    const planted: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ledger', namespace: 'default', labels, generation: 1 },
      spec: { replicas: 3, template: { metadata: { annotations: { 'vaultapp.techweaver.io/secret-version': 'planted' } }, spec: { containers: [] } } },
      status: { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
    };
    const res = sync(request(app, [secret(data1), planted]), material('pw-1'), NOW, config);
    assert.equal(kindOf(res, 'Deployment'), undefined, 'left out: Metacontroller deletes it');
    assert.equal(versionOf(kindOf(res, 'StatefulSet')), hmac(data1));
    assert.equal(cond(res, 'StatefulSetReady').reason, 'Creating');
    // And the other way round: a Deployment VaultApp ignores an observed StatefulSet.
    const seed = loadExample();
    const sts = {
      ...statefulSet('planted', { observedGeneration: 1, replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentRevision: 'r', updateRevision: 'r' }),
      metadata: { name: 'billing-service', namespace: 'default', labels, generation: 1 },
    };
    const dep = sync(
      request(seed, [sts]),
      { auth: { ok: true }, reads: { 'kv/data/billing/database': kv2({ url: 'u' }), 'kv/data/billing/provider-x': kv2({ key: 'k' }) } },
      NOW,
      config,
    );
    assert.deepStrictEqual(
      dep.children.map((c) => c.kind),
      ['Secret', 'Deployment', 'Service', 'ServiceMonitor'],
    );
    assert.equal(cond(dep, 'DeploymentReady').reason, 'Creating');
  });

  it('a hostile observed StatefulSet (spec a string, generation an object without toString, template annotations a list) is never a crash', () => {
    const odd: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'ledger', generation: { toString: null } as unknown as number },
      spec: 'x' as unknown as Record<string, unknown>,
      status: { conditions: {}, readyReplicas: '3' },
    };
    const res = sync(request(example(), [secret(data1), odd]), material('pw-1'), NOW, config);
    assert.equal(versionOf(kindOf(res, 'StatefulSet')), hmac(data1));
    assert.equal(cond(res, 'StatefulSetReady').status, 'False');
    const listed = statefulSet(hmac(data1));
    (listed.spec as any).template.metadata.annotations = ['x'];
    const none = example();
    none.spec.vault.rotation = 'none';
    assert.equal(versionOf(kindOf(sync(request(none, [secret(data1), listed]), material('pw-1'), NOW, config), 'StatefulSet')), hmac(data1));
  });

  it("the Vault identity is the StatefulSet pods' service account", () => {
    const app = example();
    assert.equal(identityOf(app).serviceAccount, 'default');
    app.spec.statefulSetSpec!.template.spec!.serviceAccountName = 'ledger-sa';
    assert.deepStrictEqual(identityOf(app), { namespace: 'default', serviceAccount: 'ledger-sa', role: 'ledger' });
  });

  it('ready when the StatefulSet has rolled out: the Ready condition names it', () => {
    const done = statefulSet(hmac(data1), {
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      updatedReplicas: 3,
      currentReplicas: 3,
      currentRevision: 'ledger-7d9',
      updateRevision: 'ledger-7d9',
    });
    const res = sync(request(example(), [secret(data1), done]), material('pw-1'), NOW, config);
    assert.deepStrictEqual(
      res.children.map((c) => c.kind),
      ['Secret', 'StatefulSet', 'Service', 'ServiceMonitor'],
    );
    assert.equal(cond(res, 'StatefulSetReady').status, 'True');
    assert.match(cond(res, 'StatefulSetReady').message, /3 of 3 replicas of ledger ready/);
  });
});

describe('statefulSetReadiness', () => {
  const sts = (spec: Record<string, unknown>, status: unknown, generation: unknown = 2): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', generation: generation as number },
    spec,
    status,
  });
  const rolled = {
    observedGeneration: 2,
    replicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    updatedReplicas: 3,
    currentRevision: 'db-2',
    updateRevision: 'db-2',
  };
  const cases: { name: string; obj: KubeObject | undefined; ready: boolean; says: RegExp }[] = [
    { name: 'not there', obj: undefined, ready: false, says: /does not exist yet/ },
    { name: 'generation not observed', obj: sts({ replicas: 3 }, { ...rolled, observedGeneration: 1 }), ready: false, says: /observe generation 2/ },
    { name: 'rolled out', obj: sts({ replicas: 3 }, rolled), ready: true, says: /3 of 3 replicas of db ready/ },
    { name: 'a pod not ready', obj: sts({ replicas: 3 }, { ...rolled, readyReplicas: 2 }), ready: false, says: /2 of 3 replicas of db ready/ },
    {
      name: 'ready but not yet available (minReadySeconds)',
      obj: sts({ replicas: 3 }, { ...rolled, availableReplicas: 1 }),
      ready: false,
      says: /1 of 3 ready replicas of db available/,
    },
    {
      name: 'rolling: revisions differ',
      obj: sts({ replicas: 3 }, { ...rolled, updatedReplicas: 3, currentRevision: 'db-1' }),
      ready: false,
      says: /current revision db-1, update revision db-2/,
    },
    {
      name: 'rolling: replicas not updated',
      obj: sts({ replicas: 3 }, { ...rolled, updatedReplicas: 1, currentRevision: 'db-1' }),
      ready: false,
      says: /1 of 3 replicas of db updated/,
    },
    { name: 'scaling down', obj: sts({ replicas: 1 }, { ...rolled, replicas: 3 }), ready: false, says: /2 replicas of db pending termination/ },
    {
      name: 'partition 2 of 3: one replica updated is done',
      obj: sts(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
        { ...rolled, updatedReplicas: 1, currentRevision: 'db-1' },
      ),
      ready: true,
      says: /below partition 2 keep the previous revision/,
    },
    {
      name: 'partition 1 of 3: one of two updated',
      obj: sts(
        { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } },
        { ...rolled, updatedReplicas: 1, currentRevision: 'db-1' },
      ),
      ready: false,
      says: /1 of 2 replicas of db above partition 1 updated/,
    },
    {
      name: 'OnDelete with old pods: ready, and says the pods need deleting',
      obj: sts({ replicas: 3, updateStrategy: { type: 'OnDelete' } }, { ...rolled, updatedReplicas: 0, currentRevision: 'db-1' }),
      ready: true,
      says: /OnDelete: pods take the current template/,
    },
    {
      name: 'no replicas field: one wanted',
      obj: sts({}, { ...rolled, replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 }),
      ready: true,
      says: /1 of 1/,
    },
    {
      name: 'hostile status: strings and objects in place of numbers',
      obj: sts({ replicas: '3' }, { observedGeneration: '9', readyReplicas: { n: 3 }, updateRevision: ['x'] }),
      ready: false,
      says: /observe generation 2/,
    },
    { name: 'hostile status: a list', obj: sts({ replicas: 1 }, [1, 2, 3], 0), ready: false, says: /0 of 1 replicas of db ready/ },
    {
      name: 'a revision of 100,000 characters is not echoed',
      obj: sts({ replicas: 1 }, { ...rolled, replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1, currentRevision: 'r'.repeat(100_000) }),
      ready: false,
      says: /current revision \(none\), update revision db-2/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = statefulSetReadiness(c.obj);
      assert.equal(r.ready, c.ready, r.message);
      assert.match(r.message, c.says);
    });
  }
});

describe("validation of the workload choice (the hook's twins of the CEL rules)", () => {
  const fields = (a: unknown) => {
    const r = validateVaultApp(a);
    return r.ok ? 'ok' : r.errors.map((e) => `${e.field}: ${e.message}`);
  };
  it('the example is valid; both kinds or neither are refused on spec, naming both fields', () => {
    assert.equal(fields(example()), 'ok');
    const both: any = example();
    both.spec.deploymentSpec = structuredClone(both.spec.statefulSetSpec);
    assert.deepStrictEqual(fields(both), ['spec: give exactly one of deploymentSpec and statefulSetSpec']);
    const neither: any = example();
    delete neither.spec.statefulSetSpec;
    assert.deepStrictEqual(fields(neither), ['spec: give exactly one of deploymentSpec and statefulSetSpec']);
  });
  it('statefulSetSpec is typed like deploymentSpec where the hook reads it', () => {
    const bad: any = example();
    bad.spec.statefulSetSpec.template.spec.containers[0].volumeMounts = 'data';
    bad.spec.statefulSetSpec.volumeClaimTemplates = [{ metadata: { name: 7 } }];
    assert.deepStrictEqual(fields(bad), [
      'spec.statefulSetSpec.template.spec.containers[0].volumeMounts: must be array',
      'spec.statefulSetSpec.volumeClaimTemplates[0].metadata.name: must be string',
    ]);
  });
});
