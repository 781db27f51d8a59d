// reconcile without Fastify: a whole request in, the answer and what was done out.
// The Vault edge is the recorded reader where its answers do (it reads every path
// and revokes nothing); where the plan or the revocations matter, an edge that keeps
// what it was asked for, so that the test can say what reconcile asked of Vault.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { PathRead, Revocation, UnsignedLeaseRecord, VaultEdge, VaultMaterial, VaultPlan } from '../../src/hook/contract.js';
import { reconcile } from '../../src/hook/reconcile.js';
import type { KubeObject, SyncConfig, SyncRequest, SyncResponse } from '../../src/hook/types.js';
import { recordedReader } from '../../src/vault/recorded-reader.js';
import { loadExample, request } from '../fixtures/requests.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const at = (seconds: number) => () => new Date(T0 + seconds * 1000);
const config: SyncConfig = { hmacKey: 'reconcile-test-key-0123456789', resyncSeconds: 60, errorBackoffMinSeconds: 5 };
const DB = 'kv/data/billing/database';
const PX = 'kv/data/billing/provider-x';
const VALUES = { [DB]: { url: 'postgres://db/billing' }, [PX]: { key: 'px-key-1' } };
/** A dynamic credential at the database path, as Vault issues it with its lease. */
const LEASED: PathRead = { ok: true, engine: 'leased', data: { url: 'postgres://u1@db' }, lease: { id: `${DB}/l1`, durationSeconds: 3600, renewable: true } };

const condition = (res: SyncResponse, type: string) => res.status.conditions?.find((c) => c.type === type);
const secretOf = (res: SyncResponse) => res.children.find((c) => c.kind === 'Secret');
const decoded = (secret: KubeObject | undefined, key: string): string | undefined => {
  const v = (secret?.data as Record<string, string> | undefined)?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
};

/** Metacontroller's next request: the answer's children observed, its status on the parent. */
function applied(req: SyncRequest, res: SyncResponse): SyncRequest {
  const parent = { ...req.parent, status: { ...res.status, observedGeneration: req.parent.metadata.generation } } as VaultApp;
  return request(parent, structuredClone(res.children));
}

/** An edge that answers `reads` for the paths the plan says to read, and keeps every plan and revocation it gets. */
function keepingEdge(
  reads: Record<string, PathRead>,
  revokeAs: (r: UnsignedLeaseRecord) => Revocation<UnsignedLeaseRecord> = (record) => ({ record, ok: true }),
) {
  const plans: (VaultPlan | undefined)[] = [];
  const revoked: UnsignedLeaseRecord[] = [];
  const edge: VaultEdge = {
    async material(_app, plan) {
      plans.push(plan);
      const out: VaultMaterial = { auth: { ok: true }, reads: {} };
      const actions = Object.entries(plan ?? {});
      for (const [path, p] of actions) out.reads[path] = p.action === 'keep' ? { ok: true, unchanged: true } : reads[path]!;
      if (actions.length > 0 && actions.every(([, p]) => p.action === 'keep')) out.vaultSkipped = true;
      return out;
    },
    async revoke<R extends UnsignedLeaseRecord>(_app: VaultApp, records: R[]) {
      revoked.push(...records);
      return records.map((r) => revokeAs(r) as Revocation<R>);
    },
  };
  return { edge, plans, revoked };
}

describe('reconcile', () => {
  it("answers a first sync with the Secret filled from Vault's values, the workload and monitoring, and no reuse", async () => {
    const reader = recordedReader({ values: VALUES });
    const { response, stableUntil, unrecorded } = await reconcile(request(loadExample()), reader, at(0), config);
    assert.deepEqual(
      response.children.map((c) => c.kind),
      ['Secret', 'Deployment', 'Service', 'ServiceMonitor'],
    );
    assert.equal(decoded(secretOf(response), 'db_url'), 'postgres://db/billing');
    assert.equal(decoded(secretOf(response), 'provider_x_api_key'), 'px-key-1');
    assert.equal(condition(response, 'SecretsSynced')?.status, 'True');
    assert.equal(response.finalized, undefined);
    // A first sync read Vault: its answer counts down to the next refresh and is not reused.
    assert.equal(stableUntil, undefined);
    assert.equal(unrecorded, undefined);
    assert.equal(reader.calls, 1);
  });

  it('keeps the Secret unwritten and says why when a path cannot be read', async () => {
    const reader = recordedReader({ values: { [DB]: VALUES[DB] } });
    const { response } = await reconcile(request(loadExample()), reader, at(0), config);
    assert.equal(secretOf(response), undefined);
    assert.equal(condition(response, 'SecretsSynced')?.status, 'False');
    assert.match(condition(response, 'SecretsSynced')?.message ?? '', /provider-x/);
  });

  it('plans before it reads: a resync of a settled answer inside the refresh interval asks Vault nothing and may be reused', async () => {
    const kv = (data: Record<string, unknown>): PathRead => ({ ok: true, engine: 'kv2', data, version: 1 });
    const { edge, plans } = keepingEdge({ [DB]: kv(VALUES[DB]), [PX]: kv(VALUES[PX]) });
    const hourly = { ...config, refreshSeconds: 3600 };
    const first = await reconcile(request(loadExample()), edge, at(0), hourly);
    // The second answer still changes the status (the Deployment now exists); the third is the steady state.
    const second = await reconcile(applied(request(loadExample()), first.response), edge, at(20), hourly);
    const third = await reconcile(applied(request(loadExample()), second.response), edge, at(40), hourly);
    assert.deepEqual(
      plans.map((p) => Object.values(p ?? {}).map((a) => a.action)),
      [
        ['read', 'read'],
        ['keep', 'keep'],
        ['keep', 'keep'],
      ],
    );
    assert.deepEqual(secretOf(third.response)?.data, secretOf(first.response)?.data);
    assert.equal(second.stableUntil, undefined, 'a changed status is stamped with the time');
    assert.ok(third.stableUntil !== undefined, 'a resync that planned no Vault work and changed nothing is reusable');
    assert.ok(third.stableUntil > T0 + 40_000 && third.stableUntil <= T0 + 3600_000, String(third.stableUntil));
  });

  it('revokes a credential issued in a sync whose answer cannot record it, and reports how that went', async () => {
    const failing: PathRead = { ok: false, problem: { code: 'VAULT_PATH_NOT_FOUND', message: `cannot read path "${PX}": nothing stored there (404)` } };
    const ok = keepingEdge({ [DB]: LEASED, [PX]: failing });
    const done = await reconcile(request(loadExample()), ok.edge, at(0), config);
    assert.equal(secretOf(done.response), undefined);
    assert.deepEqual(
      ok.revoked.map((r) => [r.path, r.leaseId]),
      [[DB, `${DB}/l1`]],
    );
    assert.deepEqual(done.unrecorded, { paths: [DB], failures: [] });

    const refused = keepingEdge({ [DB]: LEASED, [PX]: failing }, (record) => ({ record, ok: false, message: 'permission denied' }));
    const notDone = await reconcile(request(loadExample()), refused.edge, at(0), config);
    assert.deepEqual(notDone.unrecorded, { paths: [DB], failures: ['permission denied'] });
  });

  it('finalizes: revokes the leases the Secret records, then releases the parent; keeps it while a live lease is not revoked', async () => {
    const kvPx: PathRead = { ok: true, engine: 'kv2', data: VALUES[PX], version: 1 };
    const synced = await reconcile(request(loadExample()), recordedReader({ auth: { ok: true }, reads: { [DB]: LEASED, [PX]: kvPx } }), at(0), config);
    assert.equal(synced.unrecorded, undefined, 'the lease is recorded on the Secret');
    const finalizing: SyncRequest = { ...applied(request(loadExample()), synced.response), finalizing: true };

    const ok = keepingEdge({});
    const released = await reconcile(finalizing, ok.edge, at(60), config);
    assert.deepEqual(
      ok.revoked.map((r) => r.leaseId),
      [`${DB}/l1`],
    );
    assert.equal(released.response.finalized, true);
    assert.deepEqual(released.response.children, []);

    const refused = keepingEdge({}, (record) => ({ record, ok: false, message: 'Vault is sealed' }));
    const kept = await reconcile(finalizing, refused.edge, at(60), config);
    assert.equal(kept.response.finalized, false);
    assert.equal(secretOf(kept.response)?.metadata.name, 'billing-service-vault-secrets');
    assert.match(condition(kept.response, 'Ready')?.message ?? '', /Vault is sealed/);
  });
});
