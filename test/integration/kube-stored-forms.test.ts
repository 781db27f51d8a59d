// The hook writes resource quantities as the API server stores them
// (src/hook/stored-forms/quantity.ts) so that Metacontroller does not find every Deployment changed
// on every sync. Here a real kube-apiserver is the judge: generated quantities
// (strings and numbers, decimal SI, binary SI, exponents, fractions finer than milli
// and nano) go in as container requests (a resource list: rounded up to milli) and
// emptyDir size limits (not rounded) of dry-run Deployments, and what the API server
// would store must equal what the hook computes, for every one it claims to know.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { desiredWorkload } from '../../src/hook/children/workload.js';
import { storedQuantity } from '../../src/hook/stored-forms/quantity.js';
import { loadExample } from '../fixtures/requests.js';
import { startKubeApiServer, type KubeServer } from '../support/kube-apiserver.js';

let kube: KubeServer;
before(async () => {
  kube = await startKubeApiServer();
});
after(() => kube?.stop());

const seed = Number(process.env.VAULTAPP_FUZZ_SEED ?? Date.now() % 2 ** 31);
const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
// Non-negative (requests must be).
const quantity: fc.Arbitrary<string | number> = fc.oneof(
  fc
    .tuple(
      digits(1, 7),
      fc.option(digits(0, 12), { nil: undefined }),
      fc.constantFrom('', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'E', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'e0', 'e3', 'e-3', 'e6', 'E2', 'e-9', 'e-12', 'e18'),
    )
    .map(([w, f, s]) => `${w}${f ? `.${f}` : ''}${s}`),
  fc.tuple(fc.integer({ min: 0, max: 4096 }), fc.constantFrom(1, 2, 4, 8, 10, 100, 1000, 1024)).map(([n, d]) => n / d),
  fc.constantFrom(
    '0.5',
    0.5,
    1.375,
    '1.375',
    '1.500',
    '1.5Gi',
    '0.5Gi',
    '1024Mi',
    '100Mi',
    '1000m',
    '1000k',
    '1e3',
    '1.5e3',
    '0.1m',
    '.5',
    '5.',
    '1.1Gi',
    '0.5Ki',
    '1E',
    '2048Ki',
    '0.0000000001',
    '007',
    '+1',
    '0',
  ),
);

interface Stored {
  spec: {
    template: {
      spec: { containers: Array<{ resources: { requests: { cpu: string; memory: string } } }>; volumes: Array<{ emptyDir: { sizeLimit: string } }> };
    };
  };
}

async function storedForms(values: Array<string | number>): Promise<{ requests: string[]; sizeLimits: string[] }> {
  // Two quantities per container (cpu, memory), one more per emptyDir volume.
  const containers = [];
  for (let i = 0; i < values.length; i += 2) {
    containers.push({ name: `c${i / 2}`, image: 'registry.example/app:1', resources: { requests: { cpu: values[i], memory: values[i + 1] ?? '1' } } });
  }
  const volumes = values.map((v, i) => ({ name: `v${i}`, emptyDir: { sizeLimit: v } }));
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'quantities', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'q' } }, template: { metadata: { labels: { app: 'q' } }, spec: { containers, volumes } } },
  };
  const stored = await kube.request<Stored>('POST', '/apis/apps/v1/namespaces/default/deployments?dryRun=All&fieldValidation=Strict', deployment);
  return {
    requests: stored.spec.template.spec.containers.flatMap((c) => [c.resources.requests.cpu, c.resources.requests.memory]).slice(0, values.length),
    sizeLimits: stored.spec.template.spec.volumes.map((v) => v.emptyDir.sizeLimit),
  };
}

describe("resource quantities: the hook's canonical form is the API server's", () => {
  it('for every generated quantity the hook can parse, the same string; the others left as written', async () => {
    const samples = fc.sample(quantity, { numRuns: 400, seed });
    let compared = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < samples.length; i += 100) {
      const batch = samples.slice(i, i + 100);
      const stored = await storedForms(batch);
      batch.forEach((input, j) => {
        const request = storedQuantity(input, { resourceList: true });
        const sizeLimit = storedQuantity(input);
        if (request === undefined || sizeLimit === undefined) return;
        compared++;
        if (request !== stored.requests[j]) mismatches.push(`${JSON.stringify(input)} as a request: hook ${request}, API server ${stored.requests[j]}`);
        if (sizeLimit !== stored.sizeLimits[j])
          mismatches.push(`${JSON.stringify(input)} as a sizeLimit: hook ${sizeLimit}, API server ${stored.sizeLimits[j]}`);
      });
    }
    assert.deepEqual(mismatches, [], `seed ${seed}`);
    assert.ok(compared >= 380, `${compared} of ${samples.length} compared`);
  });
});

describe('empty lists: the hook drops the ones the API server drops', () => {
  it("a pod template full of empty lists: the stored Deployment has none of them, and the hook's desired pod spec equals the stored one", async () => {
    const app = loadExample();
    const pod = app.spec.deploymentSpec!.template.spec! as unknown as Record<string, unknown>;
    const container = (pod.containers as Array<Record<string, unknown>>)[0]!;
    Object.assign(container, {
      command: [],
      args: [],
      env: [],
      envFrom: [],
      ports: [],
      volumeMounts: [],
      volumeDevices: [],
      securityContext: { capabilities: { add: [], drop: [] } },
      readinessProbe: { exec: { command: ['true'] } },
      livenessProbe: { httpGet: { path: '/healthz', port: 8080, httpHeaders: [] } },
    });
    Object.assign(pod, {
      initContainers: [],
      imagePullSecrets: [],
      tolerations: [],
      hostAliases: [],
      topologySpreadConstraints: [],
      readinessGates: [],
      affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'cfg', configMap: { name: 'cfg', items: [] } },
      ],
    });
    const desired = desiredWorkload(app, 'v1').workload;
    const stored = await kube.request<{ spec: { template: { spec: unknown } } }>(
      'POST',
      '/apis/apps/v1/namespaces/default/deployments?dryRun=All&fieldValidation=Strict',
      { ...desired, metadata: { ...desired.metadata, namespace: 'default' } },
    );
    const want = (desired.spec as { template: { spec: unknown } }).template.spec;
    // Every field the hook sets is stored as it is (the API server adds its defaults around them).
    assert.deepEqual(subsetDiffs(want, stored.spec.template.spec), []);
    assert.deepEqual((want as { volumes: unknown[] }).volumes[0], { name: 'scratch', emptyDir: {} }, 'empty maps stay');
  });
});

// A StatefulSet's claim templates: storage quantities (a resource list) and the lists the
// API server drops, for the whole spec the hook asks for (serviceName left out: optional).
describe("StatefulSets: the hook's spec is the stored one", () => {
  it("claim-template storage quantities: the hook's canonical form is the API server's", async () => {
    // A claim must ask for more than zero.
    const samples = fc
      .sample(quantity, { numRuns: 240, seed })
      .filter((q) => Number.parseFloat(String(q)) > 0)
      .slice(0, 200);
    const app = loadExample('statefulset.yaml');
    const sts = app.spec.statefulSetSpec! as any;
    sts.volumeClaimTemplates = samples.map((q, i) => ({
      metadata: { name: `c${i}` },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: q } } },
    }));
    sts.template.spec.containers[0].volumeMounts = [];
    const desired = desiredWorkload(app, 'v1').workload;
    const stored = await kube.request<{ spec: { volumeClaimTemplates: Array<{ spec: { resources: { requests: { storage: string } } } }> } }>(
      'POST',
      '/apis/apps/v1/namespaces/default/statefulsets?dryRun=All&fieldValidation=Strict',
      desired,
    );
    const mismatches: string[] = [];
    let compared = 0;
    samples.forEach((q, i) => {
      if (storedQuantity(q, { resourceList: true }) === undefined) return;
      compared++;
      const want = (desired.spec as any).volumeClaimTemplates[i].spec.resources.requests.storage;
      const got = stored.spec.volumeClaimTemplates[i]!.spec.resources.requests.storage;
      if (want !== got) mismatches.push(`${JSON.stringify(q)}: hook ${want}, API server ${got}`);
    });
    assert.deepEqual(mismatches, [], `seed ${seed}`);
    assert.ok(compared >= 180, `${compared} of ${samples.length} compared`);
  });

  it('a StatefulSet full of empty lists, without serviceName: every field the hook sets is stored as it is', async () => {
    const app = loadExample('statefulset.yaml');
    const sts = app.spec.statefulSetSpec! as any;
    delete sts.serviceName;
    Object.assign(sts.template.spec.containers[0], { env: [], args: [], ports: [{ name: 'http-metrics', containerPort: 9090 }] });
    Object.assign(sts.template.spec, { tolerations: [], imagePullSecrets: [], volumes: [{ name: 'scratch', emptyDir: {} }] });
    sts.volumeClaimTemplates[0].metadata.finalizers = [];
    sts.volumeClaimTemplates[0].spec.resources = { requests: { storage: '0.5Gi' }, limits: { storage: 1.5 } };
    sts.volumeClaimTemplates.push({
      metadata: { name: 'wal' },
      spec: { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem', resources: { requests: { storage: '1000Mi' } } },
    });
    sts.volumeClaimTemplates.push({
      metadata: { name: 'copy', labels: { a: 'b' } },
      spec: { accessModes: ['ReadWriteOnce'], dataSource: { kind: 'PersistentVolumeClaim', name: 'src' }, resources: { requests: { storage: '1Gi' } } },
    });
    sts.volumeClaimTemplates.push({
      metadata: { name: 'snap' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Block',
        dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 's1' },
        resources: { requests: { storage: '1Gi' } },
      },
    });
    sts.volumeClaimTemplates.push({
      metadata: { name: 'ref' },
      spec: { accessModes: ['ReadWriteOnce'], dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'src' }, resources: { requests: { storage: '1Gi' } } },
    });
    const desired = desiredWorkload(app, 'v1').workload;
    assert.equal(desired.kind, 'StatefulSet');
    const stored = await kube.request<{ spec: { volumeClaimTemplates: unknown } }>(
      'POST',
      '/apis/apps/v1/namespaces/default/statefulsets?dryRun=All&fieldValidation=Strict',
      desired,
    );
    assert.deepEqual(subsetDiffs(desired.spec, stored.spec), []);
    // Metacontroller replaces this list whole (its items have no key it merges by): it must
    // be exactly the stored one, server defaults included, or every sync sends an update.
    assert.deepStrictEqual((desired.spec as { volumeClaimTemplates: unknown }).volumeClaimTemplates, stored.spec.volumeClaimTemplates);
  });
});

/** Paths where `want` is not found as such in `got` (got may hold more: defaults). */
function subsetDiffs(want: unknown, got: unknown, path = ''): string[] {
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return [`${path}: want ${JSON.stringify(want)}, stored ${JSON.stringify(got)}`];
    return want.flatMap((w, i) => subsetDiffs(w, got[i], `${path}[${i}]`));
  }
  if (want !== null && typeof want === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return [`${path}: want an object, stored ${JSON.stringify(got)}`];
    return Object.entries(want).flatMap(([k, w]) => subsetDiffs(w, (got as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return want === got ? [] : [`${path}: want ${JSON.stringify(want)}, stored ${JSON.stringify(got)}`];
}
