// The refresh interval: inside it a sync plans no Vault work and answers what the
// previous sync answered; a spec change, edited data, the refresh annotation, an
// expired interval or state the hook did not write make it read Vault again.
import type { VaultPlan, PathRead, VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { durationSeconds, planVaultWork } from '../../src/hook/plan.js';
import { LEASES_ANNOTATION } from '../../src/hook/carried-state/leases.js';
import { REFRESH_ANNOTATION, signState, STATE_ANNOTATION } from '../../src/hook/carried-state/refresh-state.js';
import { sync } from '../../src/hook/sync.js';
import type { SyncConfig, KubeObject, SyncRequest, SyncResponse } from '../../src/hook/types.js';
import { b64, loadExample, request } from '../fixtures/requests.js';

const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 60, errorBackoffMinSeconds: 5, refreshSeconds: 300 };
const T0 = Date.parse('2026-11-27T12:00:00Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const DB = 'kv/data/billing/database';
const PX = 'kv/data/billing/provider-x';
const LEASED = 'database/creds/billing';
const READ_BOTH: VaultPlan = { [DB]: { action: 'read' }, [PX]: { action: 'read' } };
const KEEP_BOTH: VaultPlan = { [DB]: { action: 'keep' }, [PX]: { action: 'keep' } };

const kv2 = (data: Record<string, unknown>): PathRead => ({ ok: true, engine: 'kv2', data, version: 1 });
const read = (url = 'postgres://db/billing'): VaultMaterial => ({ auth: { ok: true }, reads: { [DB]: kv2({ url }), [PX]: kv2({ key: 'px-key-1' }) } });
/** What the Vault edge hands over when the plan says keep: no request was made. */
const kept = (plan: VaultPlan): VaultMaterial => ({
  auth: { ok: true },
  vaultSkipped: true,
  reads: Object.fromEntries(Object.keys(plan).map((p): [string, PathRead] => [p, { ok: true, unchanged: true }])),
});

/** Plays Metacontroller for the pure core: the answer's children become the observed ones, its status the parent's. */
function settle(app: VaultApp, res: SyncResponse): { app: VaultApp; observed: KubeObject[] } {
  return { app: { ...app, status: res.status }, observed: res.children.map((c) => structuredClone(c)) };
}

function firstRead(app = loadExample()): { app: VaultApp; observed: KubeObject[]; res: SyncResponse } {
  const res = sync(request(app), read(), at(0), config);
  return { ...settle(app, res), res };
}

const secretOf = (children: KubeObject[]): KubeObject => children.find((c) => c.kind === 'Secret')!;
const reasonOf = (res: SyncResponse, type: string): string => res.status.conditions!.find((c) => c.type === type)!.reason;

describe('inside the refresh interval', () => {
  it('the plan keeps every static path, and the answer is the previous answer, byte for byte', () => {
    const { app: a0, observed, res: first } = firstRead();
    // The sync after the first one sees the children it created (their status moves the conditions).
    const { app } = settle(a0, sync(request(a0, observed), kept(KEEP_BOTH), at(1), config));
    for (const s of [2, 60, 297]) {
      const req = request(app, observed);
      const plan = planVaultWork(req, at(s), config);
      assert.deepStrictEqual(plan, KEEP_BOTH, `t=${s}s`);
      const res = sync(req, kept(plan), at(s), config);
      assert.deepStrictEqual(res.children, first.children, 'Metacontroller finds nothing to update');
      assert.deepStrictEqual(res.status, app.status, 'and no status to write');
    }
  });

  it('resyncAfterSeconds brings the next sync when the refresh is due', () => {
    const { app, observed, res } = firstRead();
    assert.equal(res.resyncAfterSeconds, 60, 'the resync interval, when it is shorter');
    const long = { ...config, resyncSeconds: 3600 };
    assert.equal(sync(request(app, observed), kept(KEEP_BOTH), at(100), long).resyncAfterSeconds, 200);
  });

  it('a restarted hook or another replica decides the same: everything it needs is on the Secret', () => {
    const { app, observed } = firstRead();
    const replay = JSON.parse(JSON.stringify(request(app, observed))) as SyncRequest;
    assert.deepStrictEqual(planVaultWork(replay, at(30), config), KEEP_BOTH);
  });

  it('a sync that asks Vault nothing answers the VaultAuthenticated condition of the read before', () => {
    const { app, observed } = firstRead();
    const res = sync(request(app, observed), kept(KEEP_BOTH), at(30), config);
    assert.deepStrictEqual(
      res.status.conditions!.find((c) => c.type === 'VaultAuthenticated'),
      app.status!.conditions!.find((c) => c.type === 'VaultAuthenticated'),
    );
  });
});

describe("what the status remembers is in the Secret's state, not in the parent's status", () => {
  const stateOf = (children: KubeObject[]) => JSON.parse(secretOf(children).metadata.annotations![STATE_ANNOTATION]!) as Record<string, unknown>;
  const auth = (res: SyncResponse) => {
    const c = res.status.conditions!.find((x) => x.type === 'VaultAuthenticated')!;
    return [c.status, c.reason];
  };
  // Metacontroller's informer lags its own status write: the parent may come with the
  // status of one or two answers before, here none at all (the one before the first answer)
  // or one a tenant with status rights wrote.
  const parents = (app: VaultApp): [string, VaultApp][] => {
    const { status: _s, ...none } = app;
    const other = { ...app.status!, lastSecretUpdateTime: '2020-01-01T00:00:00Z', conditions: app.status!.conditions!.map((c) => ({ ...c, reason: 'Other' })) };
    return [
      ['as answered', app],
      ['without status', none as VaultApp],
      ['with another status', { ...app, status: other }],
    ];
  };

  for (const [name, pick] of [
    ['kept inside the interval', 30],
    ['read again at the refresh', 300],
  ] as const) {
    it(`${name}: Authenticated and the time the data last changed, whatever status the parent shows`, () => {
      const { app, observed } = firstRead();
      for (const [shown, parent] of parents(app)) {
        const req = request(parent, observed);
        const plan = planVaultWork(req, at(pick), config);
        const res = sync(req, pick === 30 ? kept(plan) : read(), at(pick), config);
        assert.deepStrictEqual(auth(res), ['True', 'Authenticated'], shown);
        assert.equal(res.status.lastSecretUpdateTime, '2026-11-27T12:00:00Z', shown);
      }
    });
  }

  it('the state changes only with its facts: at rest a refresh moves readAt alone; new data moves updatedAt', () => {
    const { app, observed } = firstRead();
    const first = stateOf(observed);
    assert.deepStrictEqual([first.updatedAt, first.login], ['2026-11-27T12:00:00Z', 'ok']);
    const kept30 = sync(request(app, observed), kept(KEEP_BOTH), at(30), config);
    assert.deepStrictEqual(stateOf(kept30.children), first, 'a sync inside the interval changes nothing');
    const refreshed = settle(app, sync(request(app, observed), read(), at(300), config));
    assert.deepStrictEqual(stateOf(refreshed.observed), { ...first, readAt: '2026-11-27T12:05:00Z', mac: stateOf(refreshed.observed).mac });
    const changed = sync(request(refreshed.app, refreshed.observed), read('postgres://db/other'), at(600), config);
    assert.equal(stateOf(changed.children).updatedAt, '2026-11-27T12:10:00Z');
    assert.equal(changed.status.lastSecretUpdateTime, '2026-11-27T12:10:00Z');
  });

  it('a failed login is remembered once (one write), a sync that asks nothing then says so, and a good read flips it back', () => {
    const { app, observed } = firstRead();
    const refused: VaultMaterial = {
      auth: { ok: false, problem: { code: 'VAULT_AUTH_FAILED', message: 'cannot log in to Vault with role billing-app: Vault answered 403' } },
      reads: {},
    };
    const failed = settle(app, sync(request(app, observed), refused, at(300), config));
    assert.equal(stateOf(failed.observed).login, 'failed');
    assert.equal(stateOf(failed.observed).readAt, '2026-11-27T12:00:00Z', 'the data was not read');
    assert.equal(failed.app.status!.lastSecretUpdateTime, '2026-11-27T12:00:00Z');
    const again = sync(request(failed.app, failed.observed), refused, at(310), config);
    assert.equal(
      secretOf(again.children).metadata.annotations![STATE_ANNOTATION],
      secretOf(failed.observed).metadata.annotations![STATE_ANNOTATION],
      'failing again changes nothing',
    );
    // A sync that asks Vault nothing after it (here: every path kept) cannot say the login works.
    const skipped = sync(request(failed.app, failed.observed), kept(KEEP_BOTH), at(320), config);
    assert.deepStrictEqual(auth(skipped), ['Unknown', 'NotNeeded']);
    const good = sync(request(failed.app, failed.observed), read(), at(330), config);
    assert.deepStrictEqual([auth(good), stateOf(good.children).login], [['True', 'Authenticated'], 'ok']);
  });

  it('a state written by an earlier release (no updatedAt, no login) is still trusted; its readAt stands for the last change until new data comes', () => {
    const { app, observed } = firstRead();
    const { updatedAt: _u, login: _l, mac: _m, ...old } = stateOf(observed);
    const signed = signState(app, old as unknown as Parameters<typeof signState>[1], config.hmacKey);
    const upgraded = observed.map((c) =>
      c.kind === 'Secret' ? { ...c, metadata: { ...c.metadata, annotations: { [STATE_ANNOTATION]: JSON.stringify(signed) } } } : c,
    );
    const req = request(app, upgraded);
    assert.deepStrictEqual(planVaultWork(req, at(30), config), KEEP_BOTH);
    const res = sync(req, kept(KEEP_BOTH), at(30), config);
    assert.deepStrictEqual(auth(res), ['True', 'NotNeeded']);
    assert.equal(res.status.lastSecretUpdateTime, '2026-11-27T12:00:00Z');
    assert.equal(stateOf(res.children).updatedAt, '2026-11-27T12:00:00Z', 'written into the state by the first sync after the upgrade');
    const next = settle(app, res);
    const refreshed = sync(request(next.app, next.observed), read(), at(300), config);
    assert.deepStrictEqual([stateOf(refreshed.children).updatedAt, stateOf(refreshed.children).login], ['2026-11-27T12:00:00Z', 'ok']);
    assert.equal(refreshed.status.lastSecretUpdateTime, '2026-11-27T12:00:00Z');
  });

  for (const [name, change] of [
    ['login flipped', (st: Record<string, unknown>) => ({ ...st, login: 'failed' })],
    ['updatedAt moved', (st: Record<string, unknown>) => ({ ...st, updatedAt: '2030-01-01T00:00:00Z' })],
    ['updatedAt removed', (st: Record<string, unknown>) => ({ ...st, updatedAt: undefined })],
    ['login of another type', (st: Record<string, unknown>) => ({ ...st, login: { ok: true } })],
    ['updatedAt not a time', (st: Record<string, unknown>) => ({ ...st, updatedAt: 'soon' })],
    ['updatedAt a number', (st: Record<string, unknown>) => ({ ...st, updatedAt: 1e300 })],
  ] as const) {
    it(`a tenant's edit of the state (${name}) is not trusted: UntrustedState, the data kept, nothing from it in the status`, () => {
      const { app, observed } = firstRead();
      const edited = observed.map((c) => (c.kind === 'Secret' ? withState(c, change) : c));
      const req = request(app, edited);
      assert.deepStrictEqual(planVaultWork(req, at(30), config), READ_BOTH);
      const res = sync(req, read(), at(30), config);
      assert.equal(reasonOf(res, 'SecretsSynced'), 'UntrustedState');
      assert.equal(res.status.lastSecretUpdateTime, undefined);
      assert.deepStrictEqual(secretOf(res.children).data, secretOf(observed).data);
    });
  }
});

describe('what makes a sync read Vault again', () => {
  const cases: [string, (s: { app: VaultApp; observed: KubeObject[] }) => { app: VaultApp; observed: KubeObject[]; t?: number }][] = [
    ['the refresh interval has passed', (s) => ({ ...s, t: 299 })],
    [
      'the spec changed (a new key)',
      (s) => {
        const app = structuredClone(s.app);
        app.spec.vault.secrets.push({ path: DB, key: 'user', targetKey: 'db_user' });
        return { ...s, app };
      },
    ],
    ['the spec changed (another role)', (s) => ({ ...s, app: { ...s.app, spec: { ...s.app.spec, vault: { ...s.app.spec.vault, role: 'other' } } } })],
    [
      'the identity changed (another service account)',
      (s) => {
        const app = structuredClone(s.app);
        app.spec.deploymentSpec!.template.spec!.serviceAccountName = 'billing';
        return { ...s, app };
      },
    ],
    [
      'the forced-refresh annotation was set',
      (s) => ({ ...s, app: { ...s.app, metadata: { ...s.app.metadata, annotations: { [REFRESH_ANNOTATION]: '1764244800' } } as VaultApp['metadata'] } }),
    ],
    [
      'someone edited a value in the Secret',
      (s) => ({ ...s, observed: s.observed.map((c) => (c.kind === 'Secret' ? { ...c, data: { ...(c.data as object), db_url: b64('edited') } } : c)) }),
    ],
    ['someone emptied the Secret', (s) => ({ ...s, observed: s.observed.map((c) => (c.kind === 'Secret' ? { ...c, data: {} } : c)) })],
    [
      'the state was forged',
      (s) => ({ ...s, observed: s.observed.map((c) => (c.kind === 'Secret' ? withState(c, (st) => ({ ...st, readAt: '2030-01-01T00:00:00Z' })) : c)) }),
    ],
    [
      'the state was deleted',
      (s) => ({ ...s, observed: s.observed.map((c) => (c.kind === 'Secret' ? { ...c, metadata: { ...c.metadata, annotations: {} } } : c)) }),
    ],
    [
      'the state was copied from another VaultApp of the same name in another namespace',
      (s) => {
        const other = firstRead({ ...loadExample(), metadata: { ...loadExample().metadata, namespace: 'team-b', uid: 'other-uid' } });
        const copied = secretOf(other.observed).metadata.annotations![STATE_ANNOTATION]!;
        return {
          ...s,
          observed: s.observed.map((c) => (c.kind === 'Secret' ? { ...c, metadata: { ...c.metadata, annotations: { [STATE_ANNOTATION]: copied } } } : c)),
        };
      },
    ],
  ];
  for (const [name, change] of cases) {
    it(name, () => {
      const { app, observed, t } = change(firstRead());
      const plan = planVaultWork(request(app, observed), at(t ?? 30), config);
      for (const p of Object.values(plan)) assert.equal(p.action, 'read');
    });
  }

  it('the refresh annotation with the value it had at the last read reads nothing', () => {
    const annotated = { ...loadExample(), metadata: { ...loadExample().metadata, annotations: { [REFRESH_ANNOTATION]: 'a' } } } as VaultApp;
    const { app, observed } = firstRead(annotated);
    assert.deepStrictEqual(planVaultWork(request(app, observed), at(30), config), KEEP_BOTH);
  });

  it('edited data is restored at once, and the restored Secret is fresh again', () => {
    const { app, observed, res: first } = firstRead();
    const edited = observed.map((c) => (c.kind === 'Secret' ? { ...c, data: { ...(c.data as object), db_url: b64('edited') } } : c));
    const res = sync(request(app, edited), read(), at(30), config);
    assert.deepStrictEqual(secretOf(res.children).data, secretOf(first.children).data);
    const next = settle(app, res);
    assert.deepStrictEqual(planVaultWork(request(next.app, next.observed), at(31), config), KEEP_BOTH);
  });

  it('forged or copied state: the sync reports UntrustedState and keeps the data; the next one reads and writes a good state', () => {
    const { app, observed } = firstRead();
    const forged = observed.map((c) => (c.kind === 'Secret' ? withState(c, (st) => ({ ...st, readAt: '2030-01-01T00:00:00Z' })) : c));
    const res = sync(request(app, forged), read('postgres://db/new'), at(30), config);
    assert.equal(reasonOf(res, 'SecretsSynced'), 'UntrustedState');
    assert.deepStrictEqual(secretOf(res.children).data, secretOf(observed).data);
    assert.equal(secretOf(res.children).metadata.annotations?.[STATE_ANNOTATION], undefined, 'dropped, so that Metacontroller removes it');
    const next = settle(app, res);
    const again = sync(request(next.app, next.observed), read('postgres://db/new'), at(35), config);
    assert.equal(reasonOf(again, 'SecretsSynced'), 'Synced');
  });

  it('an unchanged state keeps its verified MAC, and only its own fields: what else a tenant put beside them is dropped', () => {
    const { app, observed, res: first } = firstRead();
    const state = (children: KubeObject[]) => secretOf(children).metadata.annotations![STATE_ANNOTATION]!;
    // The MAC covers the state's fields only: an extra member leaves it valid.
    const padded = observed.map((c) => (c.kind === 'Secret' ? withState(c, (st) => ({ ...st, extra: 'tenant' })) : c));
    for (const children of [observed, padded]) {
      const req = request(app, children);
      const res = sync(req, kept(planVaultWork(req, at(30), config)), at(30), config);
      assert.equal(state(res.children), state(first.children));
    }
    // Under a new key the old state is not trusted; the state written next is signed with the new key.
    const rekeyed = { ...config, hmacKey: 'another-hmac-key-0123456789' };
    const dropped = settle(app, sync(request(app, observed), read(), at(30), rekeyed));
    const res = sync(request(dropped.app, dropped.observed), read(), at(31), rekeyed);
    assert.notEqual(JSON.parse(state(res.children)).mac, JSON.parse(state(first.children)).mac);
    const next = settle(dropped.app, res);
    assert.deepStrictEqual(planVaultWork(request(next.app, next.observed), at(32), rekeyed), KEEP_BOTH, 'and that state is trusted');
  });

  it("a refreshInterval of 0 reads at every sync; the VaultApp's own interval wins over the hook's", () => {
    const zero = structuredClone(loadExample());
    zero.spec.vault.refreshInterval = '0';
    const a = firstRead(zero);
    assert.deepStrictEqual(planVaultWork(request(a.app, a.observed), at(1), config), READ_BOTH);
    const hour = structuredClone(loadExample());
    hour.spec.vault.refreshInterval = '1h';
    const b = firstRead(hour);
    assert.deepStrictEqual(planVaultWork(request(b.app, b.observed), at(3000), config), KEEP_BOTH);
    assert.deepStrictEqual(planVaultWork(request(b.app, b.observed), at(3599), config), READ_BOTH);
  });

  it('a refreshInterval of 0 reads at every sync but writes nothing when the data is the same (a moved readAt would be a write per sync, each bringing the next)', () => {
    const zero = structuredClone(loadExample());
    zero.spec.vault.refreshInterval = '0';
    const a = firstRead(zero);
    const again = sync(request(a.app, a.observed), read(), at(30), config);
    assert.deepStrictEqual(secretOf(again.children), secretOf(a.observed));
    const changed = sync(request(a.app, a.observed), read('postgres://db/other'), at(31), config);
    assert.notDeepStrictEqual(secretOf(changed.children).data, secretOf(a.observed).data, 'new data is still written');
  });

  it('under an interval, the read at its end moves readAt: one write per interval, none in between', () => {
    const { app, observed } = firstRead();
    const refreshed = sync(request(app, observed), read(), at(300), config);
    const state = (c: KubeObject[]) => JSON.parse(secretOf(c).metadata.annotations![STATE_ANNOTATION]!) as { readAt: string };
    assert.equal(state(refreshed.children).readAt, '2026-11-27T12:05:00Z');
    assert.deepStrictEqual(secretOf(refreshed.children).data, secretOf(observed).data);
  });

  it('without a refresh setting, the hook refreshes at its resync interval (the freshness of before)', () => {
    const { refreshSeconds: _none, ...resyncOnly } = config;
    const { app, observed } = firstRead();
    assert.deepStrictEqual(planVaultWork(request(app, observed), at(30), resyncOnly), KEEP_BOTH);
    assert.deepStrictEqual(planVaultWork(request(app, observed), at(59), resyncOnly), READ_BOTH);
  });
});

describe('leased paths keep their own schedule', () => {
  const dbApp = (): VaultApp => {
    const app = loadExample();
    app.spec.vault.secrets = [
      { path: LEASED, key: 'username', targetKey: 'db_user' },
      { path: DB, key: 'url', targetKey: 'db_url' },
    ];
    return app;
  };
  const issued: VaultMaterial = {
    auth: { ok: true },
    reads: {
      [LEASED]: { ok: true, engine: 'leased', data: { username: 'v-u1' }, lease: { id: `${LEASED}/l1`, durationSeconds: 600, renewable: true } },
      [DB]: kv2({ url: 'postgres://db/billing' }),
    },
  };

  it('inside the interval: the lease is reused and the static path kept, so no Vault request at all', () => {
    const app = dbApp();
    const s = settle(app, sync(request(app), issued, at(0), config));
    const plan = planVaultWork(request(s.app, s.observed), at(30), config);
    assert.deepStrictEqual(Object.fromEntries(Object.entries(plan).map(([p, v]) => [p, v.action])), { [LEASED]: 'reuse', [DB]: 'keep' });
  });

  it('a renewal due inside the interval still happens; the static path stays kept', () => {
    const app = dbApp();
    const s = settle(app, sync(request(app), issued, at(0), config));
    const plan = planVaultWork(request(s.app, s.observed), at(250 * 1.7), { ...config, refreshSeconds: 3600 });
    assert.deepStrictEqual(Object.fromEntries(Object.entries(plan).map(([p, v]) => [p, v.action])), { [LEASED]: 'renew', [DB]: 'keep' });
  });

  it('a deleted lease record makes the path read (a new credential), never kept as if it were static', () => {
    const app = dbApp();
    const s = settle(app, sync(request(app), issued, at(0), config));
    const observed = s.observed.map((c) =>
      c.kind === 'Secret' ? { ...c, metadata: { ...c.metadata, annotations: { [STATE_ANNOTATION]: c.metadata.annotations![STATE_ANNOTATION]! } } } : c,
    );
    assert.equal(observed.find((c) => c.kind === 'Secret')!.metadata.annotations![LEASES_ANNOTATION], undefined);
    assert.equal(planVaultWork(request(s.app, observed), at(30), config)[LEASED]!.action, 'read');
  });

  it('an edited credential is read anew', () => {
    const app = dbApp();
    const s = settle(app, sync(request(app), issued, at(0), config));
    const observed = s.observed.map((c) => (c.kind === 'Secret' ? { ...c, data: { ...(c.data as object), db_user: b64('someone-else') } } : c));
    assert.equal(planVaultWork(request(s.app, observed), at(30), config)[LEASED]!.action, 'read');
  });
});

describe('durationSeconds', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['30s', 30],
    ['5m', 300],
    ['1h30m', 5400],
    ['1d', 86400],
    ['2w', 1209600],
    ['1y', 31536000],
    ['500ms', 0.5],
    ['1h0m5s', 3605],
  ];
  for (const [text, want] of cases) it(`${text} → ${want}`, () => assert.equal(durationSeconds(text), want));
  for (const text of ['', '5', 'm', '1h x', '-1s']) it(`${JSON.stringify(text)} → NaN`, () => assert.ok(Number.isNaN(durationSeconds(text))));
});

function withState(secret: KubeObject, change: (s: Record<string, unknown>) => Record<string, unknown>): KubeObject {
  const state = JSON.parse(secret.metadata.annotations![STATE_ANNOTATION]!) as Record<string, unknown>;
  return { ...secret, metadata: { ...secret.metadata, annotations: { ...secret.metadata.annotations, [STATE_ANNOTATION]: JSON.stringify(change(state)) } } };
}
