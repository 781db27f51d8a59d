// State the hook carries on the managed Secret is acted on only when the hook wrote it
// for this VaultApp (DESIGN.md, principle 6): the checks of src/hook/carried-state/leases.ts
// observedLeases, and what sync, the plan and finalize make of a rejected record.
import { bindingOf, leaseIdWithin, type LeaseRecord, type UnsignedLeaseRecord, type VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { stateMac, stateMacMatches } from '../../src/hook/carried-state/mac.js';
import { leasesToRevoke } from '../../src/hook/finalize.js';
import { LEASES_ANNOTATION, observedLeases, signLease } from '../../src/hook/carried-state/leases.js';
import { planVaultWork } from '../../src/hook/plan.js';
import { sync } from '../../src/hook/sync.js';
import type { SyncConfig, KubeObject } from '../../src/hook/types.js';
import type { VaultReader } from '../../src/vault/reader.js';
import { b64, loadExample, request } from '../fixtures/requests.js';
import { build } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';

const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5 };
const NOW = new Date('2026-11-27T12:00:10Z');
const PATH = 'database/creds/billing';

function dbApp(meta: Partial<VaultApp['metadata']> = {}): VaultApp {
  const app = loadExample();
  app.metadata = { ...app.metadata, ...meta };
  app.spec.vault = {
    role: 'billing-app',
    secrets: [
      { path: PATH, key: 'username', targetKey: 'db_user' },
      { path: PATH, key: 'password', targetKey: 'db_password' },
    ],
  };
  app.spec.monitoring = { enabled: false };
  return app;
}

const unsigned = (over: Partial<UnsignedLeaseRecord> = {}): UnsignedLeaseRecord => ({
  path: PATH,
  leaseId: `${PATH}/l1`,
  issuedAt: '2026-11-27T12:00:00Z',
  renewedAt: '2026-11-27T12:00:00Z',
  duration: 60,
  ttl: 60,
  renewable: true,
  maxed: false,
  ...over,
});
const signedFor = (app: VaultApp, over: Partial<UnsignedLeaseRecord> = {}): LeaseRecord => signLease(unsigned(over), bindingOf(app), config.hmacKey);
const DATA = { db_user: b64('u1'), db_password: b64('p1') };

function secretWith(annotation: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'billing-service-vault-secrets', namespace: 'default', annotations: { [LEASES_ANNOTATION]: annotation } },
    data: DATA,
  };
}

describe('observedLeases: only records the hook wrote for this VaultApp', () => {
  const app = dbApp();
  const other = dbApp({ namespace: 'team-b', uid: 'another-uid' });
  const cases: [string, unknown, { trusted: number; rejected: string[] }][] = [
    ['a record the hook signed for this VaultApp', [signedFor(app)], { trusted: 1, rejected: [] }],
    ['no MAC (written before records were signed, or by hand)', [unsigned()], { trusted: 0, rejected: ['not a lease record'] }],
    [
      "a MAC of the right shape but not the hook's",
      [{ ...unsigned(), mac: 'A'.repeat(43) }],
      { trusted: 0, rejected: ['not written by the hook for this VaultApp'] },
    ],
    ['a multi-byte MAC of 43 characters', [{ ...unsigned(), mac: 'é'.repeat(43) }], { trusted: 0, rejected: ['not written by the hook for this VaultApp'] }],
    ['copied from another VaultApp (other namespace and uid)', [signedFor(other)], { trusted: 0, rejected: ['not written by the hook for this VaultApp'] }],
    [
      'copied from a deleted and re-created VaultApp of the same name (other uid)',
      [signedFor(dbApp({ uid: 'old-uid' }))],
      { trusted: 0, rejected: ['not written by the hook for this VaultApp'] },
    ],
    [
      'the lease id edited to reach another endpoint',
      [{ ...signedFor(app), leaseId: '../../../auth/token/revoke-self' }],
      { trusted: 0, rejected: ['not written by the hook for this VaultApp'] },
    ],
    [
      'the renewal time edited to make a renewal due',
      [{ ...signedFor(app), renewedAt: '2026-01-01T00:00:00Z' }],
      { trusted: 0, rejected: ['not written by the hook for this VaultApp'] },
    ],
    [
      "another VaultApp's sealed token grafted in",
      [{ ...signedFor(app), token: signedFor(other, { token: 'v2.theirs' }).token }],
      { trusted: 0, rejected: ['not written by the hook for this VaultApp'] },
    ],
    [
      'signed, but the lease id is not under its path',
      [signedFor(app, { leaseId: 'sys/leases/revoke-prefix/database' })],
      { trusted: 0, rejected: ['a lease id outside its path'] },
    ],
    [
      'signed, for a path the spec no longer reads: dropped, not an attack',
      [signedFor(app, { path: 'database/creds/old', leaseId: 'database/creds/old/l0' })],
      { trusted: 0, rejected: [] },
    ],
    ['two records for one path', [signedFor(app), signedFor(app, { leaseId: `${PATH}/l2` })], { trusted: 1, rejected: ['a second record for one path'] }],
    [
      'the same genuine record 65 times',
      Array.from({ length: 65 }, () => signedFor(app)),
      { trusted: 1, rejected: Array(64).fill('a second record for one path') },
    ],
    ['not a list', { path: PATH }, { trusted: 0, rejected: ['not a lease record'] }],
    ['a list of odd things', [null, 1, 'x', [], { __proto__: { path: PATH } }], { trusted: 0, rejected: Array(5).fill('not a lease record') }],
  ];
  for (const [name, value, want] of cases) {
    it(name, () => {
      const got = observedLeases(secretWith(JSON.stringify(value)), app, config.hmacKey);
      assert.deepStrictEqual({ trusted: got.trusted.length, rejected: got.rejected }, want);
    });
  }

  it('a genuine record among 1,500 forged ones is found; beyond 2,048 entries the rest is not examined', () => {
    const forged = (i: number) => ({ ...signedFor(app), leaseId: `${PATH}/forged-${i}`, path: `database/creds/x${i}` });
    const hidden = [...Array.from({ length: 1500 }, (_, i) => forged(i)), signedFor(app)];
    assert.deepStrictEqual(observedLeases(secretWith(JSON.stringify(hidden)), app, config.hmacKey).trusted, [signedFor(app)]);
    const beyond = [...Array.from({ length: 2048 }, (_, i) => forged(i)), signedFor(app)];
    const got = observedLeases(secretWith(JSON.stringify(beyond)), app, config.hmacKey);
    assert.deepStrictEqual([got.trusted.length, got.rejected[0], got.rejected.length], [0, 'too many records', 2049]);
  });

  it('unparseable or oversized text is rejected, an absent or empty annotation is no record', () => {
    assert.deepStrictEqual(observedLeases(secretWith('{oops'), app, config.hmacKey).rejected, ['not a lease record']);
    assert.deepStrictEqual(observedLeases(secretWith(`[${' '.repeat(1100 * 1024)}]`), app, config.hmacKey).rejected, ['not a lease record']);
    assert.deepStrictEqual(observedLeases(secretWith(''), app, config.hmacKey), { trusted: [], rejected: [] });
    assert.deepStrictEqual(observedLeases(undefined, app, config.hmacKey), { trusted: [], rejected: [] });
  });

  it('fields the hook does not write are dropped from a trusted record', () => {
    const r = { ...signedFor(app), extra: 'x' };
    assert.ok(!('extra' in observedLeases(secretWith(JSON.stringify([r])), app, config.hmacKey).trusted[0]!));
  });

  it('the MAC does not depend on key order, and is bound to namespace, name and uid', () => {
    const b = bindingOf(app);
    assert.equal(stateMac('k', 'p', b, ['a', 1]), stateMac('k', 'p', { uid: b.uid, name: b.name, namespace: b.namespace }, ['a', 1]));
    for (const changed of [
      { ...b, namespace: 'x' },
      { ...b, name: 'x' },
      { ...b, uid: 'x' },
    ]) {
      assert.equal(stateMacMatches('k', 'p', changed, ['a', 1], stateMac('k', 'p', b, ['a', 1])), false);
    }
    assert.equal(stateMacMatches('k', 'other-purpose', b, ['a', 1], stateMac('k', 'p', b, ['a', 1])), false);
    assert.equal(stateMacMatches('other-key', 'p', b, ['a', 1], stateMac('k', 'p', b, ['a', 1])), false);
  });
});

describe('leaseIdWithin: a lease id is used in a URL only if it lies under its own path', () => {
  const ok = [`${PATH}/abc123`, `${PATH}/a.b-c_d`, `${PATH}/x/y`];
  const refused = [
    PATH,
    `${PATH}/`,
    `${PATH}//x`,
    `${PATH}/./x`,
    `${PATH}/../x`,
    `${PATH}/x/..`,
    `${PATH}x/y`,
    `database/creds/other/x`,
    `${PATH}/x?y`,
    `${PATH}/x#y`,
    `${PATH}/%2e%2e`,
    `${PATH}/x\\y`,
    `${PATH}/x\ny`,
    `${PATH}/x\u0000`,
    `${PATH}/x\u007f`,
    `${PATH}/${'a'.repeat(300)}`,
    '../../../auth/token/revoke-self',
  ];
  for (const id of ok) it(`accepts ${JSON.stringify(id)}`, () => assert.equal(leaseIdWithin(PATH, id), true));
  for (const id of refused) it(`refuses ${JSON.stringify(id).slice(0, 60)}`, () => assert.equal(leaseIdWithin(PATH, id), false));
});

describe('a rejected record is never acted on; the sync says so and keeps the data', () => {
  const app = dbApp();
  const forged = JSON.stringify([{ ...signedFor(app), leaseId: '../../../auth/token/revoke-self', renewedAt: '2026-01-01T00:00:00Z' }]);
  const freshRead: VaultMaterial = {
    auth: { ok: true },
    reads: {
      [PATH]: { ok: true, engine: 'leased', data: { username: 'u2', password: 'p2' }, lease: { id: `${PATH}/l2`, durationSeconds: 60, renewable: true } },
    },
  };

  it('the plan neither renews nor reads: this sync keeps the data whatever Vault says; the next one, with the annotation rewritten, reads', () => {
    assert.deepStrictEqual(planVaultWork(request(app, [secretWith(forged)]), NOW, config), { [PATH]: { action: 'keep' } });
    assert.deepStrictEqual(planVaultWork(request(app, [secretWith('[]')]), NOW, config), { [PATH]: { action: 'read' } });
  });

  it('a path whose keys the Secret lacks, a dataFrom path and a template-only value are still read as planned', () => {
    const wide = dbApp();
    wide.spec.vault.secrets.push({ path: 'kv/data/missing', key: 'k', targetKey: 'missing' }, { path: 'kv/data/named', key: 'k', name: 'n' });
    wide.spec.vault.dataFrom = [{ path: 'kv/data/shared' }];
    wide.spec.vault.templates = { 'out.txt': '{{ n.k }}' };
    assert.deepStrictEqual(planVaultWork(request(wide, [secretWith(forged)]), NOW, config), {
      [PATH]: { action: 'keep' },
      'kv/data/missing': { action: 'read' },
      'kv/data/named': { action: 'read' },
      'kv/data/shared': { action: 'read' },
    });
  });

  it('sync: SecretsSynced False with reason UntrustedState, the observed data kept, the annotation rewritten without the record', () => {
    const res = sync(request(app, [secretWith(forged)]), freshRead, NOW, config);
    const synced = res.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
    assert.deepStrictEqual([synced.status, synced.reason], ['False', 'UntrustedState']);
    assert.match(
      synced.message,
      /1 lease record in annotation vaultapp\.techweaver\.io\/leases of Secret billing-service-vault-secrets ignored \(not written by the hook for this VaultApp\)/,
    );
    assert.ok(!synced.message.includes('revoke-self'), "the record's content is not echoed");
    const secret = res.children.find((c) => c.kind === 'Secret')!;
    assert.deepStrictEqual(secret.data, DATA);
    assert.equal(secret.metadata.annotations?.[LEASES_ANNOTATION], '[]', 'set, so that Metacontroller replaces what the tenant wrote');
    assert.equal(res.resyncAfterSeconds, 5, 'retried with the error backoff');
  });

  it('the next sync, with the annotation as the hook rewrote it, syncs normally and drops the empty annotation', () => {
    const res = sync(request(app, [secretWith('[]')]), freshRead, NOW, config);
    assert.equal(res.status.conditions!.find((c) => c.type === 'SecretsSynced')!.status, 'True');
    const records = JSON.parse(res.children.find((c) => c.kind === 'Secret')!.metadata.annotations![LEASES_ANNOTATION]!) as LeaseRecord[];
    assert.deepStrictEqual(
      records.map((r) => r.leaseId),
      [`${PATH}/l2`],
    );
    assert.equal(observedLeases(secretWith(JSON.stringify(records)), app, config.hmacKey).trusted.length, 1, 'the new record is signed');
  });

  it('a genuine record beside a forged one keeps being renewed and is kept on the Secret', () => {
    const genuine = signedFor(app);
    const text = JSON.stringify([genuine, { ...genuine, path: 'kv/data/other', leaseId: 'kv/data/other/x', mac: 'B'.repeat(43) }]);
    const kept: VaultMaterial = { auth: { ok: true }, reads: { [PATH]: { ok: true, engine: 'leased', kept: genuine } } };
    const res = sync(request(app, [secretWith(text)]), kept, NOW, config);
    assert.equal(res.status.conditions!.find((c) => c.type === 'SecretsSynced')!.reason, 'UntrustedState');
    assert.deepStrictEqual(JSON.parse(res.children[0]!.metadata.annotations![LEASES_ANNOTATION]!), [genuine]);
  });

  it("finalize revokes only trusted records of the spec's paths: none of 1,500 forged ones", () => {
    const parent = { ...app, status: {} };
    const many = JSON.stringify(Array.from({ length: 1500 }, (_, i) => ({ ...signedFor(app), leaseId: `${PATH}/forged-${i}` })));
    assert.deepStrictEqual(leasesToRevoke(request(parent, [secretWith(many)]), NOW, config.hmacKey), []);
    const mixed = JSON.stringify([
      signedFor(app),
      signedFor(app, { path: 'database/creds/old', leaseId: 'database/creds/old/x' }),
      { ...signedFor(app), leaseId: `${PATH}/forged`, path: 'database/creds/x' },
    ]);
    assert.deepStrictEqual(
      leasesToRevoke(request(parent, [secretWith(mixed)]), NOW, config.hmacKey).map((r) => r.leaseId),
      [`${PATH}/l1`],
    );
  });
});

// Vault as the hook's reader sees it for one dynamic path: each read issues a new credential.
function leasingReader() {
  const counts = { issued: 0, revoked: 0 };
  const reader: VaultReader = {
    stats: { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 },
    async material(_app, plan = {}) {
      const reads: VaultMaterial['reads'] = {};
      for (const [path, p] of Object.entries(plan)) {
        if (p.action === 'keep') reads[path] = { ok: true, unchanged: true };
        else if (p.action !== 'read') reads[path] = { ok: true, engine: 'leased', kept: p.record };
        else {
          const n = ++counts.issued;
          reads[path] = {
            ok: true,
            engine: 'leased',
            data: { username: `u${n}`, password: `p${n}` },
            lease: { id: `${path}/l${n}`, durationSeconds: 3600, renewable: true },
          };
        }
      }
      return { auth: { ok: true }, reads };
    },
    async revoke(_app, records) {
      counts.revoked += records.length;
      return records.map((record) => ({ record, ok: true as const }));
    },
  };
  return { reader, counts };
}

describe('a forged lease record costs one credential, issued in the next sync', () => {
  it('the sync that finds it issues none; the next issues one and records it; the one after keeps it', async (t) => {
    const { reader, counts } = leasingReader();
    const mc = new MetacontrollerDriver(await build(t, reader), dbApp());
    await mc.sync();
    assert.deepStrictEqual(counts, { issued: 1, revoked: 0 });
    const secret = mc.child('Secret', 'billing-service-vault-secrets')!;
    const forged = { ...(JSON.parse(secret.metadata.annotations![LEASES_ANNOTATION]!)[0] as LeaseRecord), mac: 'A'.repeat(43) };
    secret.metadata.annotations = { ...secret.metadata.annotations, [LEASES_ANNOTATION]: JSON.stringify([forged]) };

    const untrusted = await mc.sync();
    assert.equal(untrusted.status.conditions!.find((c) => c.type === 'SecretsSynced')!.reason, 'UntrustedState');
    assert.deepStrictEqual(counts, { issued: 1, revoked: 0 }, 'nothing issued, so nothing revoked');
    assert.deepStrictEqual(mc.secretValues(), { db_user: 'u1', db_password: 'p1' }, 'the data kept');

    const next = await mc.sync();
    assert.equal(next.status.conditions!.find((c) => c.type === 'SecretsSynced')!.status, 'True');
    await mc.sync();
    assert.deepStrictEqual(counts, { issued: 2, revoked: 0 }, 'one credential for the forgery');
    assert.deepStrictEqual(mc.secretValues(), { db_user: 'u2', db_password: 'p2' });
    const records = JSON.parse(mc.child('Secret', 'billing-service-vault-secrets')!.metadata.annotations![LEASES_ANNOTATION]!) as LeaseRecord[];
    assert.deepStrictEqual(
      records.map((r) => r.leaseId),
      [`${PATH}/l2`],
    );
  });
});
