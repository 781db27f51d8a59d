// The status is a function of facts: the spec, the observed children
// (the Secret's MAC'd state included) and what Vault answered, never a reason or a time the
// parent's status shows, which on a real control loop is often one or two answers old
// (Metacontroller's informer lags its own status write: a sync brought by a child write often
// sees the status from before the answer that wrote it). The driver plays that lag here;
// the hook answers through app.inject with a clock the test moves, and a reader that does
// what the real one does with the plan (kept paths are not read; nothing to read, no login)
// and can be cut off from Vault in the ways the real one is.
import type { VaultPlan, PathRead, VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { problem } from '../../src/errors/catalog.js';
import { pathsOf } from '../../src/hook/secret-data/data-from.js';
import { REFRESH_ANNOTATION } from '../../src/hook/carried-state/refresh-state.js';
import type { SyncResponse } from '../../src/hook/types.js';
import type { ReaderStats, VaultReader } from '../../src/vault/reader.js';
import { loadExample } from '../fixtures/requests.js';
import { build } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const DB = 'kv/data/billing/database';
const PX = 'kv/data/billing/provider-x';
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** How Vault fails, as the real reader reports it. */
type Outage = 'none' | 'login-unanswered' | 'reads-unanswered' | 'login-refused';

/** Vault as the hook's reader sees it: values by path, an outage, and the plan honoured. */
class PlannedVault {
  values: Record<string, Record<string, string>> = { [DB]: { url: 'postgres://db/billing' }, [PX]: { key: 'px-key-1' } };
  outage: Outage = 'none';
  /** Syncs that asked Vault something (a login, a read). */
  asked = 0;

  reader(): VaultReader {
    const stats: ReaderStats = { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 };
    return { stats, material: async (app, plan) => this.material(app, plan ?? {}), revoke: async () => [] };
  }

  private material(app: VaultApp, plan: VaultPlan): VaultMaterial {
    const paths = pathsOf(app);
    const kept = (p: string) => Object.hasOwn(plan, p) && plan[p]!.action === 'keep';
    // As src/vault/reader.ts: nothing to read is not even a login.
    if (paths.every(kept)) return { auth: { ok: true }, reads: Object.fromEntries(paths.map((p) => [p, { ok: true, unchanged: true }])), vaultSkipped: true };
    this.asked++;
    if (this.outage === 'login-unanswered')
      return { auth: { ok: false, problem: problem('VAULT_UNREACHABLE', 'cannot log in to Vault with role billing-app: Vault is unreachable') }, reads: {} };
    if (this.outage === 'login-refused')
      return { auth: { ok: false, problem: problem('VAULT_AUTH_FAILED', 'cannot log in to Vault with role billing-app: Vault answered 403') }, reads: {} };
    const reads: Record<string, PathRead> = {};
    for (const p of paths) {
      if (kept(p)) reads[p] = { ok: true, unchanged: true };
      else if (this.outage === 'reads-unanswered')
        reads[p] = { ok: false, problem: problem('VAULT_UNREACHABLE', `cannot read path "${p}": Vault is unreachable`) };
      else reads[p] = { ok: true, engine: 'kv2', data: this.values[p] ?? {}, version: 1 };
    }
    return { auth: { ok: true }, reads };
  }
}

interface Loop {
  mc: MetacontrollerDriver;
  vault: PlannedVault;
  clock: { ms: number };
  /** When the Secret's data last changed in the cluster, as the test saw it. */
  lastChange: () => number | undefined;
  /** Metacontroller's loop: settle now (every write brings a sync), noting when the data changed. */
  settle: () => Promise<void>;
  /** The next resync, when the last answer asked for it, then settle. */
  resync: () => Promise<void>;
}

async function controlLoop(t: { after: (fn: () => Promise<void>) => void }, refreshSeconds: number, resyncSeconds: number, seed: number): Promise<Loop> {
  const clock = { ms: T0 };
  const vault = new PlannedVault();
  const app = await build(t, vault.reader(), { resyncSeconds, refreshSeconds }, { now: () => new Date(clock.ms) });
  const mc = new MetacontrollerDriver(app, loadExample(), undefined, { now: () => new Date(clock.ms), statusLag: { probability: 0.9, seed } });
  let data: string | undefined;
  let lastChange: number | undefined;
  const settle = async () => {
    await mc.settle(40);
    const now = JSON.stringify(mc.secretValues());
    if (now !== data) lastChange = clock.ms;
    data = now;
  };
  const resync = async () => {
    clock.ms += (mc.last?.resyncAfterSeconds ?? resyncSeconds) * 1000;
    await settle();
  };
  return { mc, vault, clock, lastChange: () => lastChange, settle, resync };
}

const cond = (res: SyncResponse | undefined, type: string) => res?.status.conditions?.find((c) => c.type === type);

/** The tenant edits the spec (generation moves, as the API server moves it). */
function editSpec(mc: MetacontrollerDriver, variant: number): void {
  const secrets = loadExample().spec.vault.secrets.map((s) => (s.path === PX && variant % 2 === 1 ? { ...s, targetKey: 'provider_x_key' } : s));
  mc.parent = {
    ...mc.parent,
    metadata: { ...mc.parent.metadata, generation: (mc.parent.metadata.generation ?? 1) + 1 },
    spec: { ...mc.parent.spec, vault: { ...mc.parent.spec.vault, secrets } },
  };
}

/** `kubectl annotate vaultapp ... vaultapp.techweaver.io/refresh=<value> --overwrite` */
function forceRefresh(mc: MetacontrollerDriver, value: string): void {
  const metadata = mc.parent.metadata as VaultApp['metadata'] & { annotations?: Record<string, string> };
  mc.parent = { ...mc.parent, metadata: { ...metadata, annotations: { ...metadata.annotations, [REFRESH_ANNOTATION]: value } } as VaultApp['metadata'] };
}

/** Resyncs for `intervals` refresh intervals; the status writes they made. */
async function atRest(loop: Loop, refreshSeconds: number, intervals: number): Promise<number> {
  const writes = loop.mc.counts.statusWrites;
  const end = loop.clock.ms + intervals * refreshSeconds * 1000;
  while (loop.clock.ms < end) await loop.resync();
  return loop.mc.counts.statusWrites - writes;
}

/**
 * Resyncs until three in a row wrote no status (then the last answers' statuses are one and
 * the same, whichever of them a sync sees), within `max`: a sync shown an older status may
 * stamp a condition's lastTransitionTime anew (its status differs from what it sees), which
 * the next sync keeps. A status that flips at every refresh never gets three in a row.
 */
async function untilQuiet(loop: Loop, max = 6): Promise<void> {
  let quiet = 0;
  for (let n = 1; n <= max; n++) {
    const writes = loop.mc.counts.statusWrites;
    await loop.resync();
    quiet = loop.mc.counts.statusWrites === writes ? quiet + 1 : 0;
    if (quiet === 3) return;
  }
  throw new Error(`the status did not settle within ${max} resyncs`);
}

describe('the status at rest, with the parent one or two answers old', () => {
  for (const [refresh, resync] of [
    [120, 60],
    [60, 60],
  ] as const) {
    it(`refresh ${refresh} s, resync ${resync} s: created, then 0 status writes over 10 refresh intervals, and the facts are in it`, async (t) => {
      const loop = await controlLoop(t, refresh, resync, 187);
      await loop.settle();
      await untilQuiet(loop);
      const asked = loop.vault.asked;
      assert.equal(await atRest(loop, refresh, 10), 0, 'no status write at rest');
      assert.ok(loop.vault.asked - asked >= 9, `Vault was read at each refresh (${loop.vault.asked - asked} times)`);
      assert.ok(loop.mc.laggedSyncs >= 1, `${loop.mc.laggedSyncs} syncs saw an older status`);
      const last = loop.mc.last!;
      assert.deepStrictEqual(
        { ...cond(last, 'VaultAuthenticated'), lastTransitionTime: undefined, observedGeneration: undefined },
        {
          type: 'VaultAuthenticated',
          status: 'True',
          reason: 'Authenticated',
          message: 'logged in to Vault with role billing-app',
          lastTransitionTime: undefined,
          observedGeneration: undefined,
        },
      );
      assert.equal(last.status.lastSecretUpdateTime, iso(T0), 'the data was written at creation and never changed');
    });
  }

  it('lastSecretUpdateTime follows the data, not what the parent showed', async (t) => {
    const loop = await controlLoop(t, 120, 60, 1);
    await loop.settle();
    await untilQuiet(loop);
    loop.vault.values[DB] = { url: 'postgres://db/billing-2' };
    await atRest(loop, 120, 2);
    await untilQuiet(loop);
    assert.equal(loop.mc.secretValues()!.db_url, 'postgres://db/billing-2');
    assert.equal(loop.mc.last!.status.lastSecretUpdateTime, iso(loop.lastChange()!));
    assert.ok(loop.lastChange()! > T0);
    assert.equal(await atRest(loop, 120, 10), 0);
  });
});

// Events of a VaultApp's life: time passing (resyncs, refreshes), Vault going down in its
// ways and coming back, a value changing in Vault, spec changes and forced refreshes.
type Event =
  | { kind: 'resyncs'; n: number }
  | { kind: 'outage'; outage: Outage }
  | { kind: 'value'; n: number }
  | { kind: 'spec'; variant: number }
  | { kind: 'force'; n: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('resyncs' as const), n: fc.integer({ min: 1, max: 6 }) }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant('outage' as const),
      outage: fc.constantFrom<Outage>('none', 'login-unanswered', 'reads-unanswered', 'login-refused'),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('value' as const), n: fc.integer({ min: 0, max: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('spec' as const), variant: fc.integer({ min: 0, max: 1 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('force' as const), n: fc.integer({ min: 0, max: 1000 }) }), weight: 1 },
);

describe('property: over generated histories the status converges, then never changes at rest', () => {
  it('whatever happened before, once Vault is healthy the status settles on the facts and 10 refresh intervals write nothing', async (t) => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom([120, 60], [60, 60], [300, 60], [90, 30]),
        fc.array(event, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        async ([refresh, resync], events, seed) => {
          const loop = await controlLoop(t, refresh!, resync!, seed);
          await loop.settle();
          for (const e of events) {
            if (e.kind === 'resyncs') for (let i = 0; i < e.n; i++) await loop.resync();
            else if (e.kind === 'outage') loop.vault.outage = e.outage;
            else if (e.kind === 'value') loop.vault.values[DB] = { url: `postgres://db/billing-${e.n}` };
            else if (e.kind === 'spec') editSpec(loop.mc, e.variant);
            else forceRefresh(loop.mc, `r${e.n}`);
            await loop.settle();
          }
          loop.vault.outage = 'none';
          // Converges: within a refresh interval the data is read again, then the status settles.
          await atRest(loop, refresh!, 1);
          await untilQuiet(loop);
          const settledStatus = loop.mc.parent.status;
          assert.equal(await atRest(loop, refresh!, 10), 0, 'no status write at rest');
          assert.deepStrictEqual(loop.mc.parent.status, settledStatus);
          const last = loop.mc.last!;
          assert.deepStrictEqual(
            (last.status.conditions ?? []).map((c) => [c.type, c.status, c.type === 'VaultAuthenticated' ? c.reason : '']),
            [
              ['VaultAuthenticated', 'True', 'Authenticated'],
              ['SecretsSynced', 'True', ''],
              ['DeploymentReady', 'True', ''],
              ['MonitoringReady', 'True', ''],
              ['Ready', 'True', ''],
            ],
          );
          assert.equal(last.status.lastSecretUpdateTime, iso(loop.lastChange()!), 'lastSecretUpdateTime is when the data last changed');
        },
      ),
      { numRuns: 60 },
    );
  });
});
