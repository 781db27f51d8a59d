// The refresh interval (issue 11) against a real Vault dev server, with Vault's audit log as
// the witness of every request the hook made. Inside the interval a sync of an unchanged spec
// must make no Vault request at all, whatever churn Metacontroller brings; a spec change,
// edited data, the refresh annotation, or an expired interval read at once; skip-state the hook
// did not write for this VaultApp is never trusted; a restarted hook decides the same from the
// Secret alone; and a dynamic credential's lease keeps its own schedule.
//
// The hooks log in with Kubernetes auth (Vault's JWT method standing in), so a login is a
// request the audit log shows like any other. The hooks' clock is a fake one, set to the real
// time before each test (Vault tokens and lease records still use real time) and advanced to
// make a refresh or a renewal due. Each test uses its own VaultApp and its own KV paths.
import type { LeaseRecord } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { LEASES_ANNOTATION } from '../../src/hook/carried-state/leases.js';
import { REFRESH_ANNOTATION, STATE_ANNOTATION } from '../../src/hook/carried-state/refresh-state.js';
import type { SyncResponse } from '../../src/hook/types.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writePolicy, type VaultServer } from '../support/vault-server.js';

const ROLE = 'billing-app';
const OTHER_ROLE = 'billing-app-2';
const DB = 'database/creds/billing';
const LEASE_TTL = 600; // the database role's default TTL
// The hook's default refresh interval, longer than its resync: the syncs in between must not read.
const REFRESH_SECONDS = 600;
const HOOK_CONFIG = { ...hookConfig, resyncSeconds: 60, refreshSeconds: REFRESH_SECONDS };

let vault: VaultServer;
let pgs: PgServer;
let jwtPath: string;
let clockMs = Date.now();
const now = (): Date => new Date(clockMs);
const advanceClock = (seconds: number): void => {
  clockMs += seconds * 1000;
};
let main: { app: FastifyInstance; vault: Vault };

/** A hook as a process starts it: its own Vault client, token cache and mount cache; nothing carried over. */
async function startHook(t: Parameters<typeof build>[0], hmacKey = HOOK_CONFIG.hmacKey, withMetrics = false) {
  const v = createVault({
    vault: { address: vault.addr, timeoutMs: 3000 },
    syncDeadlineMs: 6000,
    hmacKey,
    auth: {
      method: 'kubernetes',
      mount: 'kubernetes',
      identity: { model: 'controller', jwtPath, allowedRoles: { default: [ROLE, OTHER_ROLE], other: [ROLE] } },
    },
  });
  const counts = { requests: v.requests, tokens: v.tokens.stats, reader: v.reader.stats, queue: v.queue };
  const metrics = withMetrics ? { metrics: createMetrics(counts) } : {};
  return { app: await build(t, v.reader, { ...HOOK_CONFIG, hmacKey }, { now, ...metrics }), vault: v };
}

// ---- Vault data and VaultApps --------------------------------------------------------------------

type Secrets = VaultApp['spec']['vault']['secrets'];

/** `vault kv put` of one KV v2 path (`kv/data/...`), done as the test's root token. */
async function kvPut(path: string, data: Record<string, string>): Promise<void> {
  const res = await vault.request('POST', path, { data });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

const dbPath = (name: string) => `kv/data/${name}/database`;
const providerPath = (name: string) => `kv/data/${name}/provider`;
const values = (name: string, version: string) => ({ db_url: `${name}-url-${version}`, provider_key: `${name}-key-${version}` });

/** Writes version `version` of a test's two KV paths; returns the VaultApp entries that read them. */
async function seed(name: string, version = 'v1'): Promise<Secrets> {
  const v = values(name, version);
  await kvPut(dbPath(name), { url: v.db_url });
  await kvPut(providerPath(name), { key: v.provider_key });
  return [
    { path: dbPath(name), key: 'url', targetKey: 'db_url' },
    { path: providerPath(name), key: 'key', targetKey: 'provider_key' },
  ];
}

interface AppOptions {
  namespace?: string;
  uid?: string;
  role?: string;
  refreshInterval?: string;
}

function vaultApp(name: string, secrets: Secrets, opts: AppOptions = {}): VaultApp {
  const a = loadExample();
  a.metadata = { name, namespace: opts.namespace ?? 'default', uid: opts.uid ?? `uid-${name}`, generation: 1 };
  a.spec.vault = {
    role: opts.role ?? ROLE,
    secrets,
    ...(opts.refreshInterval !== undefined ? { refreshInterval: opts.refreshInterval } : {}),
  };
  a.spec.monitoring = { enabled: false };
  return a;
}

const secretOf = (mc: MetacontrollerDriver) => mc.child('Secret', `${mc.parent.metadata.name}-vault-secrets`)!;
const stateOf = (mc: MetacontrollerDriver): string => secretOf(mc).metadata.annotations![STATE_ANNOTATION]!;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** The tenant edits the VaultApp's spec (they own it); generation moves as the API server would move it. */
function editVault(mc: MetacontrollerDriver, change: Partial<VaultApp['spec']['vault']>): void {
  const generation = (mc.parent.metadata.generation ?? 1) + 1;
  mc.parent = {
    ...mc.parent,
    metadata: { ...mc.parent.metadata, generation },
    spec: { ...mc.parent.spec, vault: { ...mc.parent.spec.vault, ...change } },
  };
}

/** `kubectl annotate vaultapp x vaultapp.techweaver.io/refresh=<value> --overwrite` */
function annotateRefresh(mc: MetacontrollerDriver, value: string): void {
  // The schema's ObjectMeta types only what the hook uses; the refresh annotation is read as untyped input.
  const metadata = mc.parent.metadata as VaultApp['metadata'] & { annotations?: Record<string, string> };
  const annotations = { ...metadata.annotations, [REFRESH_ANNOTATION]: value };
  mc.parent = { ...mc.parent, metadata: { ...metadata, annotations } as VaultApp['metadata'] };
}

/** `kubectl edit secret`: the tenant rewrites the state annotation of the managed Secret. */
function setState(mc: MetacontrollerDriver, text: string): void {
  const secret = secretOf(mc);
  secret.metadata.annotations = { ...secret.metadata.annotations, [STATE_ANNOTATION]: text };
}

/** The same cluster state, seen by another hook process (a restart, or a second replica). */
function sameClusterFor(hook: FastifyInstance, mc: MetacontrollerDriver): MetacontrollerDriver {
  const copy = new MetacontrollerDriver(hook, mc.parent);
  for (const [type, group] of mc.observed) {
    for (const [name, obj] of group) copy.observed.get(type)!.set(name, structuredClone(obj));
  }
  return copy;
}

function condition(res: SyncResponse, type: string) {
  const c = res.status.conditions?.find((x) => x.type === type);
  assert.ok(c, `condition ${type} in ${JSON.stringify(res.status.conditions)}`);
  return c;
}

function assertSynced(res: SyncResponse): void {
  const c = condition(res, 'SecretsSynced');
  assert.equal(c.status, 'True', `${c.reason}: ${c.message}`);
}

// ---- the audit log as witness ------------------------------------------------------------------

/** Runs `action`; returns what it returned and the requests Vault audited meanwhile ("<operation> <path>"). */
async function audited<T>(action: () => Promise<T>): Promise<{ result: T; requests: string[] }> {
  const before = (await vault.auditEntries()).length;
  const result = await action();
  const requests = (await vault.auditEntries())
    .slice(before)
    .filter((e) => e.type === 'request')
    .map((e) => `${e.request.operation} ${e.request.path}`);
  return { result, requests };
}

const LOGIN = 'update auth/kubernetes/login';
const reads = (requests: string[], path: string): number => requests.filter((r) => r === `read ${path}`).length;

/** One sync, which must make no Vault request at all (no login, no mount lookup, no read). */
async function syncWithoutVault(mc: MetacontrollerDriver, why: string): Promise<SyncResponse> {
  const { result, requests } = await audited(() => mc.sync());
  assert.deepEqual(requests, [], `${why}: no Vault request`);
  assertSynced(result);
  return result;
}

/** One sync, which must read every one of `paths` from Vault exactly once. */
async function syncReading(mc: MetacontrollerDriver, paths: string[], why: string) {
  const done = await audited(() => mc.sync());
  for (const p of paths) {
    assert.equal(reads(done.requests, p), 1, `${why}: one read of ${p} in ${done.requests.join(', ')}`);
  }
  return done;
}

/**
 * A new VaultApp's first sync, then the syncs Metacontroller makes while it settles (every
 * changed child brings another): the first reads each path once, the others nothing.
 */
async function createAndSettle(mc: MetacontrollerDriver): Promise<SyncResponse> {
  const paths = [...new Set(mc.parent.spec.vault.secrets.map((s) => s.path))];
  assertSynced((await syncReading(mc, paths, 'first sync')).result);
  let last = mc.last!;
  for (let i = 0; mc.changed; i++) {
    assert.ok(i < 5, 'settles within 5 syncs');
    last = await syncWithoutVault(mc, `settling sync ${i + 1}`);
  }
  return last;
}

// ---- servers -----------------------------------------------------------------------------------

before(async (t) => {
  [vault, pgs] = await Promise.all([startVaultServer({ auditLog: true }), startPostgres()]);
  await enableKv(vault, 'kv', 2);
  await enableDatabaseSecrets(vault, pgs, { role: 'billing', defaultTtl: `${LEASE_TTL}s`, maxTtl: '2h' });
  await writePolicy(
    vault,
    'apps',
    [
      'path "kv/data/*" { capabilities = ["read"] }',
      `path "${DB}" { capabilities = ["read"] }`,
      `path "sys/leases/renew/${DB}/*" { capabilities = ["update"] }`,
      `path "sys/leases/revoke/${DB}/*" { capabilities = ["update"] }`,
    ].join('\n'),
  );
  const signer = await enableJwtAuthAsKubernetes(vault, { role: ROLE, policies: ['apps'], ttl: '1h' });
  const other = await vault.request('POST', `auth/kubernetes/role/${OTHER_ROLE}`, {
    role_type: 'jwt',
    user_claim: 'sub',
    bound_audiences: ['vault'],
    token_policies: ['apps'],
    token_ttl: '1h',
  });
  assert.ok(other.status < 300, JSON.stringify(other.body));
  jwtPath = join(mkdtempSync(join(tmpdir(), 'vaultapp-refresh-')), 'jwt');
  writeFileSync(jwtPath, signer.signJwt());
  main = await startHook(t, HOOK_CONFIG.hmacKey, true);
});

after(async () => {
  await Promise.all([vault?.stop(), pgs?.stop()]);
});

// Each test starts at the real time: lease records and Vault tokens carry real expiries.
beforeEach(() => {
  clockMs = Date.now();
});

// ---- 1. inside the interval ------------------------------------------------------------------------

async function withoutVaultCount(): Promise<number> {
  const text = (await main.app.inject({ method: 'GET', url: '/metrics' })).body;
  const m = /^vaultapp_syncs_without_vault_total (\d+)$/m.exec(text);
  assert.ok(m, 'the metric is exported');
  return Number(m[1]);
}

describe('inside the refresh interval', () => {
  it('no sync makes a Vault request, whatever churn brings it, and each answers the same children', async () => {
    const mc = new MetacontrollerDriver(main.app, vaultApp('churn', await seed('churn')));
    const settled = await createAndSettle(mc);
    const counted = await withoutVaultCount();

    // What Metacontroller syncs for between two refreshes: a Deployment's status moving during a
    // rollout, a scale of the VaultApp (a spec change that does not decide the data), resyncs.
    const deployment = mc.child('Deployment', 'churn')!;
    for (const ready of [1, 2, 3]) {
      deployment.status = { ...(deployment.status as object), readyReplicas: ready };
      const res = await syncWithoutVault(mc, `Deployment status readyReplicas=${ready}`);
      assert.deepEqual(res.children, settled.children, 'Metacontroller has nothing to update');
      assert.deepEqual(res.status, settled.status, 'and no status to write');
    }
    const deploymentSpec = { ...mc.parent.spec.deploymentSpec!, replicas: 5 };
    mc.parent = { ...mc.parent, spec: { ...mc.parent.spec, deploymentSpec } };
    await syncWithoutVault(mc, 'scaled to 5 replicas');
    for (const resync of [60, 300, REFRESH_SECONDS - 10]) {
      clockMs = Date.parse(JSON.parse(stateOf(mc)).readAt) + resync * 1000;
      await syncWithoutVault(mc, `resync ${resync} s after the read`);
    }
    assert.deepEqual(mc.secretValues(), values('churn', 'v1'));
    assert.equal((await withoutVaultCount()) - counted, 7, 'vaultapp_syncs_without_vault_total counts each');
  });
});

// ---- 2. after the interval ------------------------------------------------------------------------

describe('after the refresh interval', () => {
  it('the next sync reads Vault, and a value written meanwhile arrives in the Secret', async () => {
    const mc = new MetacontrollerDriver(main.app, vaultApp('expiry', await seed('expiry')));
    await createAndSettle(mc);
    await seed('expiry', 'v2'); // vault kv put
    advanceClock(REFRESH_SECONDS / 2);
    await syncWithoutVault(mc, 'half-way through the interval');
    assert.deepEqual(mc.secretValues(), values('expiry', 'v1'), 'the new value waits for the refresh');

    advanceClock(REFRESH_SECONDS / 2);
    assertSynced((await syncReading(mc, [dbPath('expiry'), providerPath('expiry')], 'interval over')).result);
    assert.deepEqual(mc.secretValues(), values('expiry', 'v2'));
    await syncWithoutVault(mc, 'the sync after the refresh');
  });
});

// ---- 3. spec changes -----------------------------------------------------------------------------------

describe('a change of the spec that decides the data reads at once', () => {
  it('a new key, a new path, another role: each reads in the next sync, the sync after it nothing', async () => {
    const secrets = await seed('spec');
    await kvPut(dbPath('spec'), { url: values('spec', 'v1').db_url, user: 'spec-user' });
    await kvPut('kv/data/spec/extra', { token: 'spec-token' });
    const mc = new MetacontrollerDriver(main.app, vaultApp('spec', secrets));
    await createAndSettle(mc);

    const withKey = [...secrets, { path: dbPath('spec'), key: 'user', targetKey: 'db_user' }];
    editVault(mc, { secrets: withKey });
    await syncReading(mc, [dbPath('spec')], 'a new key');
    assert.equal(mc.secretValues()!.db_user, 'spec-user');
    await syncWithoutVault(mc, 'after the new key');

    editVault(mc, { secrets: [...withKey, { path: 'kv/data/spec/extra', key: 'token', targetKey: 'extra_token' }] });
    await syncReading(mc, ['kv/data/spec/extra'], 'a new path');
    assert.equal(mc.secretValues()!.extra_token, 'spec-token');
    await syncWithoutVault(mc, 'after the new path');

    // Another role is another Vault identity: its data may differ, and it needs its own login.
    editVault(mc, { role: OTHER_ROLE });
    const all = [dbPath('spec'), providerPath('spec'), 'kv/data/spec/extra'];
    const { requests } = await syncReading(mc, all, 'another role');
    assert.ok(requests.includes(LOGIN), `a login as the new role in ${requests.join(', ')}`);
    await syncWithoutVault(mc, 'after the role change');
  });
});

// ---- 4. drift repair -------------------------------------------------------------------------------

describe('Secret data someone changed is restored at once, inside the interval', () => {
  const drifts: Array<[string, (data: Record<string, string>) => Record<string, string> | undefined]> = [
    ['one value edited', (data) => ({ ...data, db_url: b64('postgres://attacker.example/db') })],
    ['data emptied', () => undefined],
  ];
  for (const [label, drift] of drifts) {
    it(`${label}: the next sync reads Vault and writes the data back; the one after reads nothing`, async () => {
      const name = `drift-${drifts.findIndex(([l]) => l === label)}`;
      const mc = new MetacontrollerDriver(main.app, vaultApp(name, await seed(name)));
      await createAndSettle(mc);
      advanceClock(30);
      const secret = secretOf(mc);
      secret.data = drift(secret.data as Record<string, string>);
      if (secret.data === undefined) delete secret.data; // the API server drops an empty map

      assertSynced((await syncReading(mc, [dbPath(name)], label)).result);
      assert.deepEqual(mc.secretValues(), values(name, 'v1'));
      await syncWithoutVault(mc, `after the repair of ${label}`);
    });
  }
});

// ---- 5. skip-state the hook did not write -----------------------------------------------------------

describe('skip-state the hook did not write for this VaultApp is never trusted', () => {
  /** A second VaultApp with the same paths, synced now: its state is fresh and genuine, for itself. */
  async function stateOfAnother(name: string, secrets: Secrets, opts: AppOptions): Promise<string> {
    const other = new MetacontrollerDriver(main.app, vaultApp(name, secrets, opts));
    assertSynced(await other.sync());
    return stateOf(other);
  }

  // Each forgery is made after the interval ran out: trusted, it would make the hook skip the due read.
  const forgeries: Array<[string, (name: string, mc: MetacontrollerDriver) => Promise<string>]> = [
    [
      'readAt moved to now, with a made-up MAC',
      async (_name, mc) =>
        JSON.stringify({
          ...JSON.parse(stateOf(mc)),
          readAt: new Date(clockMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          mac: randomBytes(32).toString('base64url'),
        }),
    ],
    [
      'copied from the VaultApp of the same name in another namespace',
      (name, mc) => stateOfAnother(name, mc.parent.spec.vault.secrets, { namespace: 'other', uid: `uid-${name}-other` }),
    ],
    [
      'copied from a VaultApp of the same name and namespace, another uid (deleted and recreated)',
      (name, mc) => stateOfAnother(name, mc.parent.spec.vault.secrets, { uid: `uid-${name}-earlier` }),
    ],
  ];

  forgeries.forEach(([label, forge], i) => {
    it(`${label}: read anyway, UntrustedState, data kept; the next sync is healthy`, async () => {
      const name = `forged-${i}`;
      const paths = [dbPath(name), providerPath(name)];
      const mc = new MetacontrollerDriver(main.app, vaultApp(name, await seed(name)));
      await createAndSettle(mc);
      advanceClock(REFRESH_SECONDS + 10);
      await seed(name, 'v2'); // so that data kept (v1) and data read (v2) differ
      setState(mc, await forge(name, mc));

      const forged = await syncReading(mc, paths, 'the sync that finds the forged state');
      const synced = condition(forged.result, 'SecretsSynced');
      assert.equal(synced.status, 'False');
      assert.equal(synced.reason, 'UntrustedState');
      assert.match(synced.message, new RegExp(STATE_ANNOTATION));
      assert.deepEqual(mc.secretValues(), values(name, 'v1'), 'the data is kept as it was');
      const answered = forged.result.children.find((c) => c.kind === 'Secret')!.metadata.annotations ?? {};
      assert.ok(!(STATE_ANNOTATION in answered), 'the answer no longer carries the forged state');

      assertSynced((await syncReading(mc, paths, 'the sync after')).result);
      assert.deepEqual(mc.secretValues(), values(name, 'v2'));
      await syncWithoutVault(mc, 'healthy again');
    });
  });
});

// ---- 6. a restarted hook ---------------------------------------------------------------------------

describe('a restarted hook decides from the Secret alone', () => {
  it('same key: it skips exactly the syncs the first hook skips, with no read and no login inside the interval', async (t) => {
    const restarted = await startHook(t);
    const mc = new MetacontrollerDriver(main.app, vaultApp('restart', await seed('restart')));
    await createAndSettle(mc);
    const readAt = Date.parse(JSON.parse(stateOf(mc)).readAt);
    const again = sameClusterFor(restarted.app, mc);

    // Seconds after the first read at which Metacontroller syncs; each hook syncs its copy of the cluster.
    const schedule = [1, 60, 300, REFRESH_SECONDS - 10, REFRESH_SECONDS + 5, REFRESH_SECONDS + 60];
    const readsBy = async (driver: MetacontrollerDriver, at: number): Promise<string[]> => {
      clockMs = readAt + at * 1000;
      const { result, requests } = await audited(() => driver.sync());
      assertSynced(result);
      return requests;
    };
    const first: boolean[] = [];
    const second: string[][] = [];
    for (const at of schedule) {
      first.push((await readsBy(mc, at)).length > 0);
      second.push(await readsBy(again, at));
    }
    assert.deepEqual(first, [false, false, false, false, true, false]);
    assert.deepEqual(
      second.map((requests) => requests.length > 0),
      first,
    );
    // Its first request of all is the login of the refresh: none inside the interval, not even that.
    assert.equal(second[4]![0], LOGIN, `the restarted hook's refresh: ${second[4]!.join(', ')}`);
    assert.deepEqual(again.secretValues(), mc.secretValues());
  });

  it('with another key its state does not verify: it reads at once', async (t) => {
    const rekeyed = await startHook(t, 'another-hmac-key-9876543210');
    const mc = new MetacontrollerDriver(main.app, vaultApp('rekeyed', await seed('rekeyed')));
    await createAndSettle(mc);
    advanceClock(30);
    const again = sameClusterFor(rekeyed.app, mc);
    const paths = [dbPath('rekeyed'), providerPath('rekeyed')];
    const { result } = await syncReading(again, paths, 'the hook with another key');
    assert.equal(condition(result, 'SecretsSynced').reason, 'UntrustedState');
    assertSynced((await syncReading(again, paths, 'the sync after')).result);
    await syncWithoutVault(again, 'under its own state');
  });
});

// ---- 7. forced refresh -------------------------------------------------------------------------------

describe('the forced-refresh annotation on the VaultApp', () => {
  it('a new value reads at the next sync; the same value again reads nothing', async () => {
    const mc = new MetacontrollerDriver(main.app, vaultApp('forced', await seed('forced')));
    await createAndSettle(mc);
    await seed('forced', 'v2');
    advanceClock(30);
    const paths = [dbPath('forced'), providerPath('forced')];

    annotateRefresh(mc, '1700000000');
    await syncReading(mc, paths, 'a new refresh value');
    assert.deepEqual(mc.secretValues(), values('forced', 'v2'));
    await syncWithoutVault(mc, 'the sync after');
    annotateRefresh(mc, '1700000000');
    await syncWithoutVault(mc, 'the same value set again');

    await seed('forced', 'v3');
    annotateRefresh(mc, '1700000060');
    await syncReading(mc, paths, 'another new value');
    assert.deepEqual(mc.secretValues(), values('forced', 'v3'));
  });
});

// ---- 8. leases keep their own schedule ----------------------------------------------------------------

describe('a dynamic credential keeps its own schedule inside a long refresh interval', () => {
  it('its lease is renewed when due, by the resyncs the hook asks for; the static path is not read', async () => {
    const secrets: Secrets = [
      { path: DB, key: 'username', targetKey: 'db_username' },
      { path: DB, key: 'password', targetKey: 'db_password' },
      ...(await seed('leased')).slice(1), // the static provider key
    ];
    const mc = new MetacontrollerDriver(main.app, vaultApp('leased', secrets, { refreshInterval: '1h' }));
    await createAndSettle(mc);
    const records = JSON.parse(secretOf(mc).metadata.annotations![LEASES_ANNOTATION]!) as LeaseRecord[];
    const leaseId = records[0]!.leaseId;
    const credentials = mc.secretValues();

    // Follow resyncAfterSeconds, as Metacontroller does, past the hook's default refresh interval
    // (the VaultApp's own is an hour): the only request in all that time is the lease's renewal.
    let elapsed = 0;
    let renewedAfter: number | undefined;
    const requests: string[] = [];
    while (elapsed < REFRESH_SECONDS + 60) {
      advanceClock(mc.last!.resyncAfterSeconds!);
      elapsed += mc.last!.resyncAfterSeconds!;
      const sync = await audited(() => mc.sync());
      assertSynced(sync.result);
      if (sync.requests.length > 0) renewedAfter ??= elapsed;
      requests.push(...sync.requests);
    }
    assert.deepEqual(requests, [`update sys/leases/renew/${leaseId}`], 'the renewal only: no read of the static path');
    assert.ok(renewedAfter !== undefined && renewedAfter < LEASE_TTL, `renewed before expiry (${renewedAfter} s)`);
    assert.deepEqual(mc.secretValues(), credentials, 'the same credentials');
    assert.ok(await pgs.roleExists(credentials!.db_username!), 'whose database user is still there');
  });
});
