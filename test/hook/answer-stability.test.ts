// answerStableUntil: the time before which the same request, synced again, gets the
// same answer byte for byte. The HTTP edge answers 304 without syncing up to then
// (src/http/answer-reuse.ts), so a bound one second too long would hand
// Metacontroller a stale answer: the property below syncs the same request again at
// random times inside the bound and compares.
import type { VaultPlan, PathRead, VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { answerStableUntil } from '../../src/hook/carried-state/answer-stability.js';
import { planVaultWork } from '../../src/hook/plan.js';
import { sync } from '../../src/hook/sync.js';
import type { KubeObject, SyncConfig, SyncRequest, SyncResponse } from '../../src/hook/types.js';
import { loadExample, request } from '../fixtures/requests.js';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const VALUES: Record<string, Record<string, unknown>> = {
  'kv/data/ledger/database': { password: 'ledger-password' },
  'kv/data/billing/database': { url: 'postgres://db/billing' },
  'kv/data/billing/provider-x': { key: 'px-key-1' },
};

/** The Vault edge for a plan: kept paths are not read; read paths answer the recorded values. */
function materialFor(plan: VaultPlan): VaultMaterial {
  const reads: Record<string, PathRead> = {};
  for (const [path, p] of Object.entries(plan))
    reads[path] = p.action === 'keep' ? { ok: true, unchanged: true } : { ok: true, engine: 'kv2', data: VALUES[path]!, version: 1 };
  return { auth: { ok: true }, reads, ...(Object.values(plan).every((p) => p.action === 'keep') ? { vaultSkipped: true } : {}) };
}

function syncAt(req: SyncRequest, ms: number, config: SyncConfig): { plan: VaultPlan; res: SyncResponse } {
  const plan = planVaultWork(req, new Date(ms), config);
  return { plan, res: sync(req, materialFor(plan), new Date(ms), config) };
}

/** Plays Metacontroller for `syncs` syncs from `startMs`, `stepS` apart: children and status applied, as the API server returns them. */
function settled(app: VaultApp, config: SyncConfig, startMs: number, syncs: number, stepS: number): SyncRequest {
  let parent = app;
  let observed: KubeObject[] = [];
  for (let i = 0; i < syncs; i++) {
    const { res } = syncAt(request(parent, observed), startMs + i * stepS * 1000, config);
    parent = { ...parent, status: { ...res.status, observedGeneration: parent.metadata.generation } } as VaultApp;
    observed = res.children.map((c) => structuredClone(c));
  }
  return request(parent, observed);
}

describe('answerStableUntil', () => {
  it('inside the bound, the same request synced again gets the same answer (random intervals, times, histories, both workload kinds)', () => {
    let stable = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(30, 60, 120, 300),
        fc.constantFrom(0, 30, 60, 300, 3600),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 4000 }),
        // The edge (1: the last millisecond inside the bound) as often as a time within.
        fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
        fc.constantFrom('billing-service.yaml', 'statefulset.yaml'),
        (resyncSeconds, refreshSeconds, syncs, stepS, laterS, within, example) => {
          const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds, errorBackoffMinSeconds: 5, refreshSeconds };
          const req = settled(loadExample(example), config, T0, syncs, stepS);
          const t0 = T0 + (syncs - 1) * stepS * 1000 + laterS * 1000;
          const first = syncAt(req, t0, config);
          const until = answerStableUntil(req, first.plan, first.res, config);
          if (until === undefined || until <= t0) return;
          stable++;
          const t = t0 + Math.floor(within * (until - t0 - 1));
          const again = syncAt(req, t, config);
          assert.deepStrictEqual(again.plan, first.plan, `plan at +${(t - t0) / 1000}s of ${(until - t0) / 1000}s`);
          assert.deepStrictEqual(again.res, first.res, `answer at +${(t - t0) / 1000}s of ${(until - t0) / 1000}s`);
        },
      ),
      { numRuns: 600 },
    );
    assert.ok(stable > 30, `the property ran on stable answers (${stable} of 600)`);
  });

  it('a settled VaultApp at rest: stable until less than one resync is left to the refresh, then the answer counts down', () => {
    const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 60, errorBackoffMinSeconds: 5, refreshSeconds: 300 };
    const req = settled(loadExample(), config, T0, 3, 1);
    const { plan, res } = syncAt(req, T0 + 30_000, config);
    const until = answerStableUntil(req, plan, res, config);
    assert.equal(until, T0 + 241_000, 'read at T0, refresh 300 s, resync 60 s: the resync at T0 + 240 s still answers 60 s');
    assert.deepStrictEqual(syncAt(req, until! - 1, config).res, res, 'the last millisecond inside the bound: the same answer');
    assert.equal(syncAt(req, until!, config).res.resyncAfterSeconds, 59, 'at the bound the answer counts down');
  });

  it('no bound for an answer that reads Vault, changes the status, or is not the healthy resync', () => {
    const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 60, errorBackoffMinSeconds: 5, refreshSeconds: 300 };
    const fresh = request(loadExample());
    const first = syncAt(fresh, T0, config);
    assert.equal(answerStableUntil(fresh, first.plan, first.res, config), undefined, 'the first sync reads Vault and writes the status');

    const req = settled(loadExample(), config, T0, 3, 1);
    const rest = syncAt(req, T0 + 30_000, config);
    assert.ok(answerStableUntil(req, rest.plan, rest.res, config)! > T0 + 30_000);
    const status = { ...rest.res, status: { ...rest.res.status, lastSecretUpdateTime: '2030-01-01T00:00:00Z' } };
    assert.equal(answerStableUntil(req, rest.plan, status, config), undefined, 'a status Metacontroller must write');
    assert.equal(answerStableUntil(req, rest.plan, { ...rest.res, resyncAfterSeconds: 12 }, config), undefined, 'a countdown');
    assert.equal(answerStableUntil(req, { ...rest.plan, 'kv/data/billing/database': { action: 'read' } }, rest.res, config), undefined, 'a read');
    assert.equal(answerStableUntil({ ...req, finalizing: true }, rest.plan, rest.res, config), undefined, 'a finalize');
  });
});
