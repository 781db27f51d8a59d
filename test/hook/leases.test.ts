// Lease planning over time, and what sync and finalize make of lease results.
import { bindingOf, type LeaseRecord, type UnsignedLeaseRecord, type VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { finalize, leasesToRevoke } from '../../src/hook/finalize.js';
import { LEASES_ANNOTATION, leaseAction, nextLeaseActionSeconds, observedLeases, signLease } from '../../src/hook/carried-state/leases.js';
import { planVaultWork } from '../../src/hook/plan.js';
import { sync } from '../../src/hook/sync.js';
import type { SyncConfig, KubeObject } from '../../src/hook/types.js';
import { b64, loadExample, request } from '../fixtures/requests.js';

const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5 };
const T0 = Date.parse('2026-11-27T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) =>
  at(s)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
const PATH = 'database/creds/billing';

/** A record as the hook writes it for dbApp(): signed for that VaultApp. */
function record(over: Partial<UnsignedLeaseRecord> = {}): LeaseRecord {
  return signLease(
    {
      path: PATH,
      leaseId: `${PATH}/l1`,
      issuedAt: iso(0),
      renewedAt: iso(0),
      duration: 60,
      ttl: 60,
      renewable: true,
      maxed: false,
      token: 'v2.sealed',
      tokenExpiresAt: iso(45),
      tokenRenewedAt: iso(0),
      tokenTtl: 45,
      tokenMaxed: false,
      ...over,
    },
    bindingOf(dbApp()),
    config.hmacKey,
  );
}

function dbApp(over: Partial<VaultApp['spec']['vault']> = {}): VaultApp {
  const app = loadExample();
  app.spec.vault = {
    role: 'billing-app',
    secrets: [
      { path: PATH, key: 'username', targetKey: 'db_user' },
      { path: PATH, key: 'password', targetKey: 'db_password' },
    ],
    ...over,
  };
  app.spec.monitoring = { enabled: false };
  return app;
}

function observedSecret(records: LeaseRecord[], data = { db_user: b64('u1'), db_password: b64('p1') }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'billing-service-vault-secrets', namespace: 'default', annotations: { [LEASES_ANNOTATION]: JSON.stringify(records) } },
    data,
  };
}

describe('leaseAction: renew at two thirds, a new credential only when renewals cannot keep it alive', () => {
  const cases: [string, Partial<LeaseRecord>, number, string][] = [
    ['fresh lease, fresh token', {}, 10, 'reuse'],
    ['the token reaches two thirds of its TTL first', {}, 30, 'renew'],
    ['the lease reaches two thirds', { tokenExpiresAt: undefined, tokenTtl: undefined, tokenRenewedAt: undefined, token: undefined }, 40, 'renew'],
    [
      'a token that never expires and a lease far from its end',
      { tokenExpiresAt: undefined, tokenTtl: undefined, tokenRenewedAt: undefined, token: undefined },
      39,
      'reuse',
    ],
    [
      'the lease hit its max TTL: new credential a third of the duration before the end',
      { maxed: true, tokenExpiresAt: undefined, tokenTtl: undefined },
      40,
      'issue',
    ],
    ['the lease hit its max TTL, not yet', { maxed: true, tokenExpiresAt: undefined, tokenTtl: undefined }, 39, 'reuse'],
    ['a lease that is not renewable', { renewable: false, tokenExpiresAt: undefined, tokenTtl: undefined }, 40, 'issue'],
    ['a creating token the hook cannot renew (no sealed token) bounds the credential', { token: undefined }, 25, 'issue'],
    ['a creating token at its max TTL bounds the credential', { tokenMaxed: true }, 24, 'reuse'],
    ['a creating token at its max TTL, a third of the lease before its end', { tokenMaxed: true }, 25, 'issue'],
    ['renewals kept failing and the end is near', { tokenExpiresAt: undefined, tokenTtl: undefined }, 50, 'issue'],
    ['already expired', {}, 61, 'issue'],
  ];
  for (const [name, over, s, want] of cases) {
    it(`${name} (t=${s}s) → ${want}`, () => assert.equal(leaseAction(record(over), at(s)), want));
  }

  it('resyncAfterSeconds comes in time for the next action', () => {
    assert.equal(nextLeaseActionSeconds([record()], at(0)), 30);
    assert.equal(nextLeaseActionSeconds([record({ token: undefined })], at(0)), 25);
    assert.equal(nextLeaseActionSeconds([], at(0)), undefined);
  });
});

describe('planVaultWork', () => {
  it('reads paths without a record, keeps or renews recorded leases, and reads again when a key is missing', () => {
    const app = dbApp();
    app.spec.vault.secrets.push({ path: 'kv/data/billing/database', key: 'url', targetKey: 'db_url' });
    const r = record();
    assert.deepStrictEqual(planVaultWork(request(app, [observedSecret([r])]), at(10), config), {
      [PATH]: { action: 'reuse', record: r },
      'kv/data/billing/database': { action: 'read' },
    });
    assert.deepStrictEqual(planVaultWork(request(app, [observedSecret([r])]), at(31), config)[PATH], { action: 'renew', record: r, lease: false, token: true });
    assert.deepStrictEqual(planVaultWork(request(app, [observedSecret([r], { db_user: b64('u1') } as never)]), at(10), config)[PATH], { action: 'read' });
  });

  it('damaged lease annotations count as no record: kept while the sync reports them, read once the annotation is rewritten', () => {
    const s = observedSecret([]);
    s.metadata.annotations![LEASES_ANNOTATION] = '{not json';
    assert.deepStrictEqual(observedLeases(s, dbApp(), config.hmacKey), { trusted: [], rejected: ['not a lease record'] });
    assert.deepStrictEqual(planVaultWork(request(dbApp(), [s]), at(0), config), { [PATH]: { action: 'keep' } });
    assert.deepStrictEqual(planVaultWork(request(dbApp(), [observedSecret([])]), at(0), config), { [PATH]: { action: 'read' } });
  });
});

describe('sync with leases', () => {
  const issued: VaultMaterial = {
    auth: { ok: true },
    reads: {
      [PATH]: {
        ok: true,
        engine: 'leased',
        data: { username: 'u1', password: 'p1' },
        lease: { id: `${PATH}/l1`, durationSeconds: 60, renewable: true, sealedToken: 'v2.sealed', tokenExpiresAt: iso(45), tokenTtl: 45 },
      },
    },
  };

  it('a new credential: the Secret carries the lease record, status its expiry (not its id), resync comes for the renewal', () => {
    const res = sync(request(dbApp()), issued, at(0), config);
    const secret = res.children[0]!;
    assert.deepStrictEqual(JSON.parse(secret.metadata.annotations![LEASES_ANNOTATION]!), [record()]);
    assert.deepStrictEqual(res.status.leases, [{ path: PATH, expiresAt: iso(45), renewable: true }]);
    assert.ok(!JSON.stringify(res.status).includes('l1'));
    assert.equal(res.resyncAfterSeconds, 30);
  });

  it('a kept lease: data and version stay, nothing is read; a renewal updates the record', () => {
    const first = sync(request(dbApp()), issued, at(0), config);
    const observed = first.children.map((c) => structuredClone(c));
    const kept: VaultMaterial = {
      auth: { ok: true },
      reads: { [PATH]: { ok: true, engine: 'leased', kept: record(), tokenRenewal: { ttl: 45, requested: 45 } } },
    };
    const res = sync(request(dbApp(), observed), kept, at(30), config);
    assert.deepStrictEqual(res.children[0]!.data, observed[0]!.data);
    assert.deepStrictEqual(res.children[1], observed[1], 'the Deployment does not change');
    const r = JSON.parse(res.children[0]!.metadata.annotations![LEASES_ANNOTATION]!)[0];
    assert.deepStrictEqual([r.tokenRenewedAt, r.tokenExpiresAt, r.renewedAt], [iso(30), iso(75), iso(0)]);
  });

  it('a failed renewal keeps data and record, and says so in SecretsSynced', () => {
    const observed = sync(request(dbApp()), issued, at(0), config).children;
    const failed: VaultMaterial = {
      auth: { ok: true },
      reads: {
        [PATH]: {
          ok: false,
          kept: record(),
          problem: { code: 'LEASE_RENEWAL_FAILED', message: `cannot renew the lease of path "${PATH}": Vault is unreachable` },
        },
      },
    };
    const res = sync(request(dbApp(), observed), failed, at(40), config);
    assert.deepStrictEqual(res.children[0], observed[0]);
    const c = res.status.conditions!.find((x) => x.type === 'SecretsSynced')!;
    assert.deepStrictEqual([c.status, c.reason], ['False', 'LeaseRenewalFailed']);
    assert.ok(res.resyncAfterSeconds! <= 5);
  });

  it('rotation none keeps the pod template as it is when the credential changes; restart rolls it', () => {
    const observed = sync(request(dbApp({ rotation: 'none' })), issued, at(0), config).children;
    const next: VaultMaterial = {
      auth: { ok: true },
      reads: {
        [PATH]: { ok: true, engine: 'leased', data: { username: 'u2', password: 'p2' }, lease: { id: `${PATH}/l2`, durationSeconds: 60, renewable: true } },
      },
    };
    const secretUpdated = sync(request(dbApp({ rotation: 'none' }), observed), next, at(50), config).children;
    const none = sync(request(dbApp({ rotation: 'none' }), secretUpdated), next, at(51), config);
    assert.deepStrictEqual(none.children[1], observed[1]);
    const restart = sync(request(dbApp(), secretUpdated), next, at(51), config);
    assert.notDeepStrictEqual(restart.children[1], observed[1]);
  });

  it('injectEnv adds envFrom the Secret to every container, and changes always roll', () => {
    const res = sync(request(dbApp({ injectEnv: true, rotation: 'none' })), issued, at(0), config);
    const spec = res.children[1]!.spec as { template: { spec: { containers: { envFrom?: unknown[] }[] } } };
    assert.deepStrictEqual(spec.template.spec.containers[0]!.envFrom, [{ secretRef: { name: 'billing-service-vault-secrets' } }]);
  });
});

describe('finalize with leases', () => {
  const parent = () => ({ ...dbApp(), status: { secretName: 'billing-service-vault-secrets', observedGeneration: 2 } });

  it('revokes what is alive and releases the parent once revoked', () => {
    const req = request(parent(), [observedSecret([record(), record({ path: 'other/creds/x', leaseId: 'other/creds/x/l9' })])]);
    assert.deepStrictEqual(
      leasesToRevoke(req, at(10), config.hmacKey).map((r) => r.leaseId),
      [`${PATH}/l1`],
      'not of a path the spec does not read',
    );
    const expired = record({ leaseId: `${PATH}/old`, renewedAt: iso(-600), tokenExpiresAt: iso(-500) });
    assert.deepStrictEqual(leasesToRevoke(request(parent(), [observedSecret([expired])]), at(10), config.hmacKey), [], 'not one that expired');
    assert.deepStrictEqual(finalize(req, [{ record: record(), ok: true }], at(10), config), {
      status: { secretName: 'billing-service-vault-secrets' },
      children: [],
      finalized: true,
    });
  });

  it('Vault unreachable: keeps the Secret and its records, retries with backoff; finalizes once the lease has expired by itself', () => {
    const req = request(parent(), [observedSecret([record()])]);
    const failed = [{ record: record(), ok: false as const, message: `cannot revoke the lease of path "${PATH}": Vault is unreachable` }];
    const res = finalize(req, failed, at(10), config);
    assert.equal(res.finalized, false);
    assert.deepStrictEqual(
      res.children.map((c) => c.kind),
      ['Secret'],
    );
    assert.equal(JSON.parse(res.children[0]!.metadata.annotations![LEASES_ANNOTATION]!)[0].leaseId, `${PATH}/l1`);
    assert.equal(res.resyncAfterSeconds, 10);
    assert.equal(res.status.conditions!.at(-1)!.reason, 'LeaseRevocationFailed');
    assert.equal(finalize(req, failed, at(46), config).finalized, true, 'the creating token expired at 45 s, taking the lease with it');
  });

  // The API server refuses to change a Secret's type, so an answer that did would fail
  // at every retry: the Secret kept is the one /sync answered, records aside.
  it('keeps the Secret it cannot release as /sync shaped it: its type, the labels and annotations of the spec, the refresh state', () => {
    const app = dbApp({
      secrets: [
        { path: PATH, key: 'username', targetKey: 'username' },
        { path: PATH, key: 'password', targetKey: 'password' },
      ],
    });
    app.spec.secret = { type: 'kubernetes.io/basic-auth', labels: { team: 'billing' }, annotations: { 'example.com/owner': 'billing' } };
    const issued: VaultMaterial = {
      auth: { ok: true },
      reads: {
        [PATH]: { ok: true, engine: 'leased', data: { username: 'u1', password: 'p1' }, lease: { id: `${PATH}/l1`, durationSeconds: 60, renewable: true } },
      },
    };
    const answered = sync(request(app), issued, at(0), config).children[0]!;
    assert.equal(answered.type, 'kubernetes.io/basic-auth');
    // As the API server hands it back: Metacontroller's label and last-applied annotation added.
    const observed = structuredClone(answered);
    observed.metadata.labels = { ...observed.metadata.labels, 'controller-uid': 'u-1', 'tenant/extra': 'x' };
    observed.metadata.annotations = { ...observed.metadata.annotations, 'metacontroller.k8s.io/last-applied-configuration': '{}' };
    const req = request({ ...app, status: { secretName: answered.metadata.name } }, [observed]);
    const alive = leasesToRevoke(req, at(10), config.hmacKey);
    assert.equal(alive.length, 1);
    const res = finalize(req, [{ record: alive[0]!, ok: false, message: 'Vault is unreachable' }], at(10), config);
    assert.equal(res.finalized, false);
    assert.deepStrictEqual(res.children, [answered]);
  });
});
