// Table tests of the pure desired-state function: a whole request in, the whole
// response out, compared structurally. Expected objects are written out here,
// not computed by the code under test.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Condition, VaultApp } from '../../src/api/vaultapp-schema.js';
import type { PathRead, VaultMaterial } from '../../src/hook/contract.js';
import { STATE_ANNOTATION } from '../../src/hook/carried-state/refresh-state.js';
import { sync } from '../../src/hook/sync.js';
import type { SyncConfig, KubeObject, SyncResponse } from '../../src/hook/types.js';
import { b64, loadExample, request } from '../fixtures/requests.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const EARLIER = '2026-11-27T11:00:00Z';
const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5 };
const labels = { 'app.kubernetes.io/managed-by': 'vaultapp', 'vaultapp.techweaver.io/name': 'billing-service' };
const DB = 'kv/data/billing/database';
const PX = 'kv/data/billing/provider-x';

const hmac = (data: Record<string, string>): string =>
  createHmac('sha256', config.hmacKey)
    .update(JSON.stringify(Object.entries(data).sort(([a], [b]) => a.localeCompare(b))))
    .digest('hex');

const kv2 = (data: Record<string, unknown>): PathRead => ({ ok: true, engine: 'kv2', data, version: 1 });
const material = (reads: Record<string, PathRead>): VaultMaterial => ({ auth: { ok: true }, reads });
const healthy = material({ [DB]: kv2({ url: 'postgres://db/billing' }), [PX]: kv2({ key: 'px-key-1' }) });
const data1 = { db_url: b64('postgres://db/billing'), provider_x_api_key: b64('px-key-1') };
const unreachable = (path: string): PathRead => ({
  ok: false,
  problem: { code: 'VAULT_UNREACHABLE', message: `cannot read path "${path}": Vault is unreachable` },
});

function secret(data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'billing-service-vault-secrets', namespace: 'default', labels }, type: 'Opaque', data };
}

function deployment(version: string, mutate: (spec: Record<string, any>) => void = () => {}): KubeObject {
  const spec: Record<string, any> = {
    replicas: 3,
    selector: { matchLabels: { app: 'billing-service' } },
    template: {
      metadata: { labels: { app: 'billing-service' }, annotations: { 'vaultapp.techweaver.io/secret-version': version } },
      spec: {
        containers: [
          {
            name: 'billing-service',
            image: 'my-registry/billing-service:1.3.0',
            ports: [{ name: 'http-metrics', containerPort: 8081 }],
            volumeMounts: [{ name: 'vault-secrets', mountPath: '/etc/secrets/vault', readOnly: true }],
          },
        ],
        volumes: [{ name: 'vault-secrets', secret: { secretName: 'billing-service-vault-secrets' } }],
      },
    },
  };
  mutate(spec);
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'billing-service', namespace: 'default', labels }, spec };
}

const service: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'billing-service-metrics', namespace: 'default', labels: { ...labels, 'vaultapp.techweaver.io/metrics-for': 'billing-service' } },
  spec: { selector: { app: 'billing-service' }, ports: [{ name: 'http-metrics', port: 8081, targetPort: 'http-metrics' }] },
};
const serviceMonitor: KubeObject = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'ServiceMonitor',
  metadata: { name: 'billing-service', namespace: 'default', labels },
  spec: {
    selector: { matchLabels: { 'vaultapp.techweaver.io/metrics-for': 'billing-service' } },
    endpoints: [{ port: 'http-metrics', path: '/actuator/prometheus', interval: '30s' }],
  },
};

/** What the API server hands back: the applied object plus server-side fields. */
function observedDeployment(
  version: string,
  status: Record<string, number> = { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
): KubeObject {
  const d = deployment(version);
  return { ...d, metadata: { ...d.metadata, generation: 1, uid: 'd-uid' }, status };
}

type C = [type: string, status: string, reason: string, message: string, time?: string];
function conditions(...cs: C[]): Condition[] {
  return cs.map(([type, status, reason, message, time]) => ({
    type,
    status: status as Condition['status'],
    reason,
    message,
    lastTransitionTime: time ?? '2026-11-27T12:00:00Z',
    observedGeneration: 1,
  }));
}

function withStatus(app: VaultApp, status: VaultApp['status']): VaultApp {
  return { ...app, status };
}

const AUTH_OK: C = ['VaultAuthenticated', 'True', 'Authenticated', 'logged in to Vault with role billing-app'];
const SYNCED: C = ['SecretsSynced', 'True', 'Synced', '2 keys from 2 Vault paths in Secret billing-service-vault-secrets'];
const DEPLOY_CREATING: C = ['DeploymentReady', 'False', 'Creating', 'the Deployment does not exist yet'];
const DEPLOY_OK: C = ['DeploymentReady', 'True', 'Available', '3 of 3 replicas of billing-service available'];
const MON_CREATING: C = ['MonitoringReady', 'False', 'Creating', 'creating the metrics Service and ServiceMonitor'];
const MON_OK: C = ['MonitoringReady', 'True', 'Configured', 'ServiceMonitor billing-service scrapes Service billing-service-metrics'];
const READY: C = ['Ready', 'True', 'Ready', 'secrets synced, Deployment available, monitoring configured'];
const AUTH_UNKNOWN_MSG = 'a Vault token for role billing-app is cached, but Vault did not answer: whether it still accepts it is not known';
const AUTH_UNKNOWN: C = ['VaultAuthenticated', 'Unknown', 'VaultUnreachable', AUTH_UNKNOWN_MSG];
const at = (c: C, time: string): C => [c[0], c[1], c[2], c[3], time];

interface Case {
  name: string;
  parent?: VaultApp;
  observed?: KubeObject[];
  material: VaultMaterial;
  v2?: boolean;
  serviceMonitors?: boolean;
  config?: Partial<SyncConfig>;
  want: SyncResponse;
}

const example = loadExample();
const steadyStatus = {
  conditions: conditions(at(AUTH_OK, EARLIER), at(SYNCED, EARLIER), at(DEPLOY_OK, EARLIER), at(MON_OK, EARLIER), at(READY, EARLIER)),
  secretName: 'billing-service-vault-secrets',
  lastSecretUpdateTime: EARLIER,
};
/**
 * The Secret as the hook wrote it at EARLIER, its state annotation included: what the
 * status says about the data (lastSecretUpdateTime) comes from that state, not from the
 * parent's status, which may be one or two answers old.
 */
function writtenAt(time: string, data: Record<string, string>): KubeObject {
  const first = sync(request(example), healthy, new Date(time), config).children.find((c) => c.kind === 'Secret')!;
  const plain = secret(data);
  return { ...plain, metadata: { ...plain.metadata, annotations: { [STATE_ANNOTATION]: first.metadata.annotations![STATE_ANNOTATION]! } } };
}
const steadyObserved = [writtenAt(EARLIER, data1), observedDeployment(hmac(data1)), service, serviceMonitor];

const withMonitoringLabels = (app: VaultApp, monitoringLabels: Record<string, string>): VaultApp => ({
  ...app,
  spec: { ...app.spec, monitoring: { ...app.spec.monitoring!, labels: monitoringLabels } },
});

const cases: Case[] = [
  {
    name: 'first sync creates every child; the version comes from the data being created',
    material: healthy,
    want: {
      status: {
        conditions: conditions(AUTH_OK, SYNCED, DEPLOY_CREATING, MON_CREATING, [
          'Ready',
          'False',
          'Creating',
          'DeploymentReady: the Deployment does not exist yet | MonitoringReady: creating the metrics Service and ServiceMonitor',
        ]),
        secretName: 'billing-service-vault-secrets',
        lastSecretUpdateTime: '2026-11-27T12:00:00Z',
      },
      children: [secret(data1), deployment(hmac(data1)), service, serviceMonitor],
      resyncAfterSeconds: 300,
    },
  },
  {
    name: 'steady state changes nothing: transition times and lastSecretUpdateTime are kept',
    parent: withStatus(example, steadyStatus),
    observed: steadyObserved,
    material: healthy,
    want: { status: steadyStatus, children: [secret(data1), deployment(hmac(data1)), service, serviceMonitor], resyncAfterSeconds: 300 },
  },
  {
    name: 'hook v2 keys children by namespace/name; the result is the same',
    parent: withStatus(example, steadyStatus),
    observed: steadyObserved,
    v2: true,
    material: healthy,
    want: { status: steadyStatus, children: [secret(data1), deployment(hmac(data1)), service, serviceMonitor], resyncAfterSeconds: 300 },
  },
  {
    name: 'a value changed in Vault: new Secret data now, the Deployment keeps the observed version until the Secret is updated',
    parent: withStatus(example, steadyStatus),
    observed: steadyObserved,
    material: material({ [DB]: kv2({ url: 'postgres://db/billing2' }), [PX]: kv2({ key: 'px-key-1' }) }),
    want: {
      status: { ...steadyStatus, lastSecretUpdateTime: '2026-11-27T12:00:00Z' },
      children: [secret({ ...data1, db_url: b64('postgres://db/billing2') }), deployment(hmac(data1)), service, serviceMonitor],
      resyncAfterSeconds: 300,
    },
  },
  {
    name: 'Vault unreachable: the observed data is kept as it is, the Deployment is kept, SecretsSynced is False',
    parent: withStatus(example, steadyStatus),
    observed: steadyObserved,
    material: material({ [DB]: unreachable(DB), [PX]: unreachable(PX) }),
    want: {
      status: {
        conditions: conditions(
          AUTH_UNKNOWN,
          [
            'SecretsSynced',
            'False',
            'VaultUnreachable',
            `cannot read path "${DB}": Vault is unreachable (targetKey db_url); cannot read path "${PX}": Vault is unreachable (targetKey provider_x_api_key); Secret billing-service-vault-secrets keeps its current data`,
          ],
          at(DEPLOY_OK, EARLIER),
          at(MON_OK, EARLIER),
          [
            'Ready',
            'False',
            'VaultUnreachable',
            `VaultAuthenticated: ${AUTH_UNKNOWN_MSG} | SecretsSynced: cannot read path "${DB}": Vault is unreachable (targetKey db_url); cannot read path "${PX}": Vault is unreachable (targetKey provider_x_api_key); Secret billing-service-vault-secrets keeps its current data`,
          ],
        ),
        secretName: 'billing-service-vault-secrets',
        lastSecretUpdateTime: EARLIER,
      },
      children: [secret(data1), deployment(hmac(data1)), service, serviceMonitor],
      resyncAfterSeconds: 5,
    },
  },
  {
    name: 'Vault unreachable on the first sync: no Secret and no Deployment yet, nothing half-made',
    material: material({ [DB]: unreachable(DB), [PX]: unreachable(PX) }),
    want: {
      status: {
        conditions: conditions(
          AUTH_UNKNOWN,
          [
            'SecretsSynced',
            'False',
            'VaultUnreachable',
            `cannot read path "${DB}": Vault is unreachable (targetKey db_url); cannot read path "${PX}": Vault is unreachable (targetKey provider_x_api_key); Secret billing-service-vault-secrets not created yet`,
          ],
          ['DeploymentReady', 'False', 'WaitingForSecret', 'the Deployment is created once Secret billing-service-vault-secrets can be filled from Vault'],
          MON_CREATING,
          [
            'Ready',
            'False',
            'VaultUnreachable',
            `VaultAuthenticated: ${AUTH_UNKNOWN_MSG} | SecretsSynced: cannot read path "${DB}": Vault is unreachable (targetKey db_url); cannot read path "${PX}": Vault is unreachable (targetKey provider_x_api_key); Secret billing-service-vault-secrets not created yet | DeploymentReady: the Deployment is created once Secret billing-service-vault-secrets can be filled from Vault | MonitoringReady: creating the metrics Service and ServiceMonitor`,
          ],
        ),
      },
      children: [service, serviceMonitor],
      resyncAfterSeconds: 5,
    },
  },
  {
    name: "monitoring labels: the hook's defaults under the VaultApp's own, on the ServiceMonitor only; the Service is unchanged",
    parent: withStatus(withMonitoringLabels(example, { release: 'team-prometheus', team: 'billing' }), steadyStatus),
    observed: steadyObserved,
    config: { monitoringLabels: { release: 'kube-prometheus-stack', 'prometheus.example.com/shard': 'a' } },
    material: healthy,
    want: {
      status: steadyStatus,
      children: [
        secret(data1),
        deployment(hmac(data1)),
        service,
        {
          ...serviceMonitor,
          metadata: {
            name: 'billing-service',
            namespace: 'default',
            labels: { release: 'team-prometheus', 'prometheus.example.com/shard': 'a', team: 'billing', ...labels },
          },
        },
      ],
      resyncAfterSeconds: 300,
    },
  },
  {
    name: "monitoring labels given only by the hook's configuration reach the ServiceMonitor",
    parent: withStatus(example, steadyStatus),
    observed: steadyObserved,
    config: { monitoringLabels: { release: 'kube-prometheus-stack' } },
    material: healthy,
    want: {
      status: steadyStatus,
      children: [
        secret(data1),
        deployment(hmac(data1)),
        service,
        {
          ...serviceMonitor,
          metadata: { name: 'billing-service', namespace: 'default', labels: { release: 'kube-prometheus-stack', ...labels } },
        },
      ],
      resyncAfterSeconds: 300,
    },
  },
];

/**
 * The answer without the Secret's refresh state, which is made of MACs (test/hook/refresh.test.ts
 * tests it); here only whether it is there and when it says the data was read.
 */
function withoutRefreshState(res: SyncResponse): { res: SyncResponse; readAt?: string } {
  const secret = res.children.find((c) => c.kind === 'Secret');
  const text = secret?.metadata.annotations?.[STATE_ANNOTATION];
  if (!secret || text === undefined) return { res };
  const { [STATE_ANNOTATION]: _state, ...rest } = secret.metadata.annotations!;
  const { annotations: _all, ...metadata } = secret.metadata;
  const stripped = { ...secret, metadata: Object.keys(rest).length > 0 ? { ...metadata, annotations: rest } : metadata };
  return { res: { ...res, children: res.children.map((c) => (c === secret ? stripped : c)) }, readAt: (JSON.parse(text) as { readAt: string }).readAt };
}

describe('sync: whole request in, whole response out', () => {
  for (const c of cases) {
    it(c.name, () => {
      const req = request(c.parent ?? example, c.observed ?? [], { v2: c.v2, serviceMonitors: c.serviceMonitors });
      const { res, readAt } = withoutRefreshState(sync(req, c.material, NOW, { ...config, ...c.config }));
      assert.deepStrictEqual(res, c.want);
      const synced = c.want.status.conditions!.find((x) => x.type === 'SecretsSynced')!.status === 'True';
      const kept = c.observed?.some((o) => o.metadata.annotations?.[STATE_ANNOTATION]) ? EARLIER : undefined;
      assert.equal(readAt, synced ? '2026-11-27T12:00:00Z' : kept, 'a Secret synced from Vault says when it was read; one kept, when it was read before');
    });
  }
});

describe('sync: focused cases', () => {
  const run = (parent: VaultApp, m: VaultMaterial = healthy, observed: KubeObject[] = [], opts = {}) => sync(request(parent, observed, opts), m, NOW, config);
  const cond = (res: SyncResponse, type: string) => res.status.conditions!.find((c) => c.type === type)!;
  const kinds = (res: SyncResponse) => res.children.map((c) => c.kind);

  it('a missing key names the path, the key and the targetKey, never a value', () => {
    const res = run(withStatus(example, steadyStatus), material({ [DB]: kv2({ uri: 's3cr3t-value' }), [PX]: kv2({ key: 'px-key-1' }) }), steadyObserved);
    const c = cond(res, 'SecretsSynced');
    assert.equal(c.reason, 'KeyNotFound');
    assert.equal(c.message, `key "url" at path "${DB}" (targetKey db_url) not found; Secret billing-service-vault-secrets keeps its current data`);
    assert.ok(!JSON.stringify(res.status).includes('s3cr3t'));
    assert.deepStrictEqual(withoutRefreshState(res).res.children[0], secret(data1));
    assert.equal(res.children[0]!.metadata.annotations![STATE_ANNOTATION], steadyObserved[0]!.metadata.annotations![STATE_ANNOTATION], 'the state as observed');
  });

  it('permission denied and an object value are reported per path with their own reasons', () => {
    const res = run(
      example,
      material({
        [DB]: { ok: false, problem: { code: 'VAULT_PERMISSION_DENIED', message: `cannot read path "${DB}": permission denied (403)` } },
        [PX]: kv2({ key: { nested: true } }),
      }),
    );
    assert.equal(cond(res, 'SecretsSynced').reason, 'ValueNotScalar');
    assert.match(cond(res, 'SecretsSynced').message, /key "key" at path "kv\/data\/billing\/provider-x" \(targetKey provider_x_api_key\) is an object/);
    assert.match(cond(res, 'SecretsSynced').message, /permission denied \(403\) \(targetKey db_url\)/);
  });

  it('a failed login keeps the data and says so in VaultAuthenticated', () => {
    const res = run(
      withStatus(example, steadyStatus),
      {
        auth: {
          ok: false,
          problem: { code: 'VAULT_AUTH_FAILED', message: 'cannot log in to Vault with role billing-app: Vault answered 400 (invalid role name)' },
        },
        reads: {},
      },
      steadyObserved,
    );
    assert.deepStrictEqual([cond(res, 'VaultAuthenticated').status, cond(res, 'VaultAuthenticated').reason], ['False', 'AuthenticationFailed']);
    assert.deepStrictEqual(withoutRefreshState(res).res.children[0], secret(data1));
    // The state remembers it for the syncs that ask Vault nothing; its readAt and updatedAt stay.
    const state = JSON.parse(res.children[0]!.metadata.annotations![STATE_ANNOTATION]!);
    assert.deepStrictEqual([state.login, state.readAt, state.updatedAt], ['failed', EARLIER, EARLIER]);
    assert.equal(kinds(res).join(), 'Secret,Deployment,Service,ServiceMonitor');
  });

  describe('VaultAuthenticated says what is known while Vault is down', () => {
    const auth = (res: SyncResponse) => {
      const c = cond(res, 'VaultAuthenticated');
      return [c.status, c.reason, c.message];
    };
    it("a login Vault never answered is Unknown, with the login's message", () => {
      const message = 'cannot log in to Vault with role billing-app: Vault is unreachable (connect ECONNREFUSED)';
      const res = run(withStatus(example, steadyStatus), { auth: { ok: false, problem: { code: 'VAULT_UNREACHABLE', message } }, reads: {} }, steadyObserved);
      assert.deepStrictEqual(auth(res), ['Unknown', 'VaultUnreachable', message]);
    });
    it('a path still fresh (no request) and one Vault did not answer: Unknown, not "logged in"', () => {
      const res = run(withStatus(example, steadyStatus), material({ [DB]: { ok: true, unchanged: true }, [PX]: unreachable(PX) }), steadyObserved);
      assert.deepStrictEqual(auth(res), AUTH_UNKNOWN.slice(1));
    });
    it('a sealed Vault (503) answers nothing about the token either', () => {
      const sealed: PathRead = { ok: false, problem: { code: 'VAULT_SEALED', message: `cannot read path "${DB}": Vault is sealed or unavailable (503)` } };
      const res = run(withStatus(example, steadyStatus), material({ [DB]: sealed, [PX]: unreachable(PX) }), steadyObserved);
      assert.deepStrictEqual(auth(res), AUTH_UNKNOWN.slice(1));
    });
    it('one path read and one unanswered: Vault accepted the token, so True', () => {
      const res = run(withStatus(example, steadyStatus), material({ [DB]: kv2({ url: 'postgres://db/billing' }), [PX]: unreachable(PX) }), steadyObserved);
      assert.deepStrictEqual(auth(res), AUTH_OK.slice(1));
    });
    it("a 403 is an answer: True for the login, the read's problem is SecretsSynced's", () => {
      const denied: PathRead = { ok: false, problem: { code: 'VAULT_PERMISSION_DENIED', message: `cannot read path "${PX}": permission denied (403)` } };
      const res = run(withStatus(example, steadyStatus), material({ [DB]: { ok: true, unchanged: true }, [PX]: denied }), steadyObserved);
      assert.deepStrictEqual(auth(res), AUTH_OK.slice(1));
    });
  });

  it('the error backoff grows with the time SecretsSynced has been False, up to the resync interval', () => {
    const failing = (since: string) =>
      withStatus(example, { ...steadyStatus, conditions: conditions(at(AUTH_OK, EARLIER), ['SecretsSynced', 'False', 'VaultUnreachable', 'x', since]) });
    const m = material({ [DB]: unreachable(DB), [PX]: unreachable(PX) });
    assert.equal(run(failing('2026-11-27T11:59:40Z'), m, steadyObserved).resyncAfterSeconds, 20);
    assert.equal(run(failing('2026-11-27T11:59:59Z'), m, steadyObserved).resyncAfterSeconds, 5);
    assert.equal(run(failing('2026-11-27T10:00:00Z'), m, steadyObserved).resyncAfterSeconds, 300);
  });

  it('monitoring disabled: no Service and no ServiceMonitor, MonitoringReady True', () => {
    const app = structuredClone(example);
    app.spec.monitoring = { enabled: false };
    const res = run(app);
    assert.deepStrictEqual(kinds(res), ['Secret', 'Deployment']);
    assert.deepStrictEqual([cond(res, 'MonitoringReady').status, cond(res, 'MonitoringReady').reason], ['True', 'Disabled']);
  });

  it('without the ServiceMonitor child type (the variant for clusters without the Prometheus Operator) only the Service is made', () => {
    const res = run(example, healthy, [service], { serviceMonitors: false });
    assert.deepStrictEqual(kinds(res), ['Secret', 'Deployment', 'Service']);
    assert.deepStrictEqual([cond(res, 'MonitoringReady').status, cond(res, 'MonitoringReady').reason], ['True', 'ServiceOnly']);
  });

  it('a monitoring port no container declares is reported, and no Service is made', () => {
    const app = structuredClone(example);
    app.spec.monitoring!.port = 'metrics';
    const res = run(app);
    assert.deepStrictEqual(kinds(res), ['Secret', 'Deployment']);
    assert.equal(cond(res, 'MonitoringReady').reason, 'PortNotFound');
    assert.match(cond(res, 'MonitoringReady').message, /monitoring.port "metrics"/);
  });

  it("labels that got past validation (an older CRD, a hand-made config) cannot replace the hook's own", () => {
    const reserved = { 'app.kubernetes.io/managed-by': 'helm', 'vaultapp.techweaver.io/name': 'someone-else', 'vaultapp.techweaver.io/metrics-for': 'x' };
    const app = structuredClone(example);
    app.spec.monitoring!.labels = reserved;
    const res = sync(request(app, []), healthy, NOW, { ...config, monitoringLabels: reserved });
    const sm = res.children.find((c) => c.kind === 'ServiceMonitor')!;
    assert.deepStrictEqual(sm.metadata.labels, labels);
    assert.deepStrictEqual(sm.spec, serviceMonitor.spec, 'the selector still names the metrics Service');
    assert.deepStrictEqual(
      res.children.find((c) => c.kind === 'Service'),
      service,
    );
  });

  it('a user volume and mount at the injected name and path are kept and reported, not overwritten', () => {
    const app = structuredClone(example);
    const pod = app.spec.deploymentSpec!.template.spec!;
    pod.volumes = [{ name: 'vault-secrets', emptyDir: {} }];
    pod.containers[0]!.volumeMounts = [{ name: 'other', mountPath: '/etc/secrets/vault' }];
    const res = run(app);
    const spec = res.children[1]!.spec as any;
    assert.deepStrictEqual(spec.template.spec.volumes, [{ name: 'vault-secrets', emptyDir: {} }]);
    assert.deepStrictEqual(spec.template.spec.containers[0].volumeMounts, [{ name: 'other', mountPath: '/etc/secrets/vault' }]);
    assert.equal(cond(res, 'DeploymentReady').reason, 'VolumeConflict');
    assert.match(cond(res, 'DeploymentReady').message, /volumes\[0\].*containers\[0\]\.volumeMounts\[0\] \(container billing-service\)/);
  });

  it('everything the user wrote survives; the mount goes into every container and init container; no replicas when none was set', () => {
    const app = structuredClone(example);
    delete app.spec.deploymentSpec!.replicas;
    const pod = app.spec.deploymentSpec!.template.spec!;
    pod.initContainers = [{ name: 'migrate', image: 'migrate:1' }];
    pod.containers.push({ name: 'sidecar', image: 'sidecar:1', volumeMounts: [{ name: 'cache', mountPath: '/cache' }] });
    pod.volumes = [{ name: 'cache', emptyDir: {} }];
    app.spec.deploymentSpec!.strategy = { type: 'Recreate' };
    app.spec.deploymentSpec!.template.metadata!.annotations = { team: 'billing' };
    const spec = run(app).children[1]!.spec as any;
    assert.equal('replicas' in spec, false);
    assert.deepStrictEqual(spec.strategy, { type: 'Recreate' });
    assert.equal(spec.template.metadata.annotations.team, 'billing');
    assert.deepStrictEqual(
      spec.template.spec.volumes.map((v: any) => v.name),
      ['cache', 'vault-secrets'],
    );
    assert.deepStrictEqual(spec.template.spec.initContainers[0].volumeMounts, [{ name: 'vault-secrets', mountPath: '/etc/secrets/vault', readOnly: true }]);
    assert.deepStrictEqual(
      spec.template.spec.containers[1].volumeMounts.map((m: any) => m.name),
      ['cache', 'vault-secrets'],
    );
    assert.equal(example.spec.deploymentSpec!.template.spec!.volumes, undefined, 'the parent is not mutated');
  });

  it('the version annotation is an HMAC keyed by the configured key, not a plain hash', () => {
    const a = sync(request(example), healthy, NOW, config).children[1]!.spec as any;
    const b = sync(request(example), healthy, NOW, { ...config, hmacKey: 'another-key-0123456789' }).children[1]!.spec as any;
    assert.notEqual(
      a.template.metadata.annotations['vaultapp.techweaver.io/secret-version'],
      b.template.metadata.annotations['vaultapp.techweaver.io/secret-version'],
    );
  });

  it('a rollout in progress is reported from the observed Deployment status', () => {
    const res = run(withStatus(example, steadyStatus), healthy, [
      secret(data1),
      observedDeployment(hmac(data1), { observedGeneration: 1, replicas: 4, updatedReplicas: 3, availableReplicas: 2 }),
      service,
      serviceMonitor,
    ]);
    assert.deepStrictEqual([cond(res, 'DeploymentReady').status, cond(res, 'DeploymentReady').reason], ['False', 'Progressing']);
    assert.equal(cond(res, 'DeploymentReady').lastTransitionTime, '2026-11-27T12:00:00Z');
    assert.equal(cond(res, 'Ready').reason, 'Progressing');
  });

  it('one path, several keys: every key comes from the one read', () => {
    const app = structuredClone(example);
    app.spec.vault.secrets = [
      { path: 'database/creds/billing', key: 'username', targetKey: 'db_user' },
      { path: 'database/creds/billing', key: 'password', targetKey: 'db_password' },
    ];
    const res = run(
      app,
      material({
        'database/creds/billing': {
          ok: true,
          engine: 'leased',
          data: { username: 'v-u1', password: 'p1' },
          lease: { id: 'database/creds/billing/abc', durationSeconds: 60, renewable: true },
        },
      }),
    );
    assert.deepStrictEqual(res.children[0]!.data, { db_user: b64('v-u1'), db_password: b64('p1') });
    assert.equal(cond(res, 'SecretsSynced').message, '2 keys from 1 Vault paths in Secret billing-service-vault-secrets');
  });
});
