// What comes back from the cluster is input, not truth (DESIGN.md principle 6, issue 10).
// Anyone who may edit Secrets in a VaultApp's namespace can rewrite the lease records on
// the managed Secret. Each attack of issue 10 is replayed here as the attacker did it,
// against a real Vault dev server and a real PostgreSQL (the database secrets engine), and
// Vault's audit log is the witness of what the hook sent: only logins, reads of the spec's
// paths (with the mount lookups the reader makes) and renew/revoke of leases the hook itself
// issued for that VaultApp. The hook's clock is a fake one, advanced to make renewals due.
import { bindingOf, sealedTokenContext, type LeaseRecord } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { LEASES_ANNOTATION, signLease } from '../../src/hook/carried-state/leases.js';
import type { SyncResponse } from '../../src/hook/types.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { createTokenSealer } from '../../src/vault/token-seal.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig as baseConfig } from '../support/build-app.js';

// Every sync reads its static paths (refresh interval 0): what must be seen is that a forged
// record never skips a read, not the interval's legitimate skips (refresh-interval.test.ts).
const hookConfig = { ...baseConfig, refreshSeconds: 0 };
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../support/vault-server.js';

const DB = 'database/creds/billing';
const KV_PATH = 'kv/data/app/config';
const OTHER_TEAM_KV1 = 'kv1/team-b/config';
const LEASE_TTL = 600; // the database role's default TTL: renewal is due after 400 s
const DUE = 450; // seconds after renewedAt at which a record is due for renewal, not yet for a new credential

let vault: VaultServer;
let pgs: PgServer;
let clockMs = Date.now();
const advanceClock = (seconds: number): void => {
  clockMs += seconds * 1000;
};
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// Token mode: the hook's only token, with the root policy, so that any URL a forged record
// made the hook call would succeed (revoke-self would kill it, as in the issue).
let hookToken: string;
let tokenVault: Vault;
let tokenHook: FastifyInstance;
// Controller mode: one service-account JWT, a Vault role per namespace (attack 2).
let controllerVault: Vault;
let controllerHook: FastifyInstance;

// ---- VaultApps and what an attacker does to their Secret -------------------------------------

type Secrets = VaultApp['spec']['vault']['secrets'];

function vaultApp(name: string, secrets: Secrets, opts: { namespace?: string; role?: string } = {}): VaultApp {
  const a = loadExample();
  a.metadata = { name, namespace: opts.namespace ?? 'default', uid: `uid-${name}`, generation: 1 };
  a.spec.vault = { role: opts.role ?? 'billing-app', secrets };
  a.spec.monitoring = { enabled: false };
  return a;
}

const dbSecrets = (path: string, prefix = ''): Secrets => [
  { path, key: 'username', targetKey: `${prefix}username` },
  { path, key: 'password', targetKey: `${prefix}password` },
];

const secretOf = (mc: MetacontrollerDriver) => mc.child('Secret', `${mc.parent.metadata.name}-vault-secrets`)!;
const recordsOf = (mc: MetacontrollerDriver): LeaseRecord[] => JSON.parse(secretOf(mc).metadata.annotations![LEASES_ANNOTATION]!);

/** The tenant edits the VaultApp's spec (they own it). */
function setSecrets(mc: MetacontrollerDriver, secrets: Secrets): void {
  mc.parent = { ...mc.parent, spec: { ...mc.parent.spec, vault: { ...mc.parent.spec.vault, secrets } } };
}

/** The attacker's `kubectl edit secret`: the lease annotation replaced, data optionally added. */
function tamper(mc: MetacontrollerDriver, annotation: string, extraData: Record<string, string> = {}): void {
  const secret = secretOf(mc);
  secret.metadata.annotations = { ...secret.metadata.annotations, [LEASES_ANNOTATION]: annotation };
  secret.data = { ...(secret.data as Record<string, string>), ...extraData };
}

/** A record as the attacker writes it: the hook's shape, due for renewal, with a made-up MAC. */
function forgedRecord(path: string, leaseId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const at = iso(clockMs - DUE * 1000);
  return {
    path,
    leaseId,
    issuedAt: at,
    renewedAt: at,
    duration: LEASE_TTL,
    ttl: LEASE_TTL,
    renewable: true,
    maxed: false,
    mac: randomBytes(32).toString('base64url'),
    ...extra,
  };
}

function condition(res: SyncResponse, type: string) {
  const c = res.status.conditions?.find((x) => x.type === type);
  assert.ok(c, `condition ${type} in ${JSON.stringify(res.status.conditions)}`);
  return c;
}

// Text of a JavaScript exception, and of Vault's answers to endpoints the hook did not mean to
// call (the issue saw both in the tenant-readable status). "permission denied (403)" and
// "cannot read path" are the catalog's own words for a read of a spec path, and allowed.
const EXCEPTION_TEXT = /TypeError|ReferenceError|Cannot read propert|lease_duration|undefined|\bat \S+ \(/;
const VAULT_TEXT = /unsupported|invalid|not found|\* |errors|lease is not renewable|missing client token/i;

/** Every status message is free of leaked text and of what the forged records said. */
function assertNoLeakedText(res: SyncResponse, forged: string[]): void {
  for (const c of res.status.conditions ?? []) {
    assert.doesNotMatch(c.message, EXCEPTION_TEXT, `${c.type}: ${c.message}`);
    assert.doesNotMatch(c.message, VAULT_TEXT, `${c.type}: ${c.message}`);
    for (const f of forged) assert.ok(!c.message.includes(f), `${c.type} repeats the tenant's text ${f}: ${c.message}`);
  }
}

const UNTRUSTED_ONLY = new RegExp(
  String.raw`^\d+ lease records? in annotation \S+ of Secret \S+ ignored \([^)]*\): [^;]*` + String.raw`; Secret \S+ keeps its current data$`,
);

/** SecretsSynced says only that the records were ignored, and that the data is kept. */
function assertUntrustedOnly(res: SyncResponse): void {
  const synced = condition(res, 'SecretsSynced');
  assert.equal(synced.status, 'False');
  assert.equal(synced.reason, 'UntrustedState');
  // One problem only: the untrusted records (no Vault error, no exception).
  assert.match(synced.message, UNTRUSTED_ONLY);
}

const answeredAnnotation = (res: SyncResponse): string | undefined => res.children.find((c) => c.kind === 'Secret')?.metadata.annotations?.[LEASES_ANNOTATION];

// ---- the audit log as witness ------------------------------------------------------------------

interface Audited<T> {
  result: T;
  entries: any[];
}

/** Runs `action` and returns the audit entries Vault wrote meanwhile (nothing else talks to Vault). */
async function audited<T>(action: () => Promise<T>): Promise<Audited<T>> {
  const before = (await vault.auditEntries()).length;
  const result = await action();
  return { result, entries: (await vault.auditEntries()).slice(before) };
}

/** The request entries, each with the (hashed) token it was made with. */
const requests = (entries: any[]) => entries.filter((e) => e.type === 'request').map((e) => ({ ...e.request, auth: e.auth }));
const described = (entries: any[]): string[] => requests(entries).map((r) => `${r.operation} ${r.path}`);

/** Lease ids in Vault's answers to reads of `paths`: the leases the hook issued in this window. */
const issuedLeases = (entries: any[], paths: string[]): string[] =>
  entries
    .filter((e) => e.type === 'response' && paths.includes(e.request?.path) && e.response?.secret?.lease_id)
    .map((e) => e.response.secret.lease_id as string);

/**
 * Requests other than logins, reads of `specPaths` (and their mount lookups), the token-mode
 * lookup of the hook's own token, and renew/revoke of `ownLeases` — each one a finding.
 */
function unexpectedRequests(entries: any[], specPaths: string[], ownLeases: string[]): string[] {
  const own = new Set([...ownLeases, ...issuedLeases(entries, specPaths)]);
  return requests(entries)
    .filter((r) => {
      const p = r.path as string;
      if (/^auth\/kubernetes\/login$/.test(p) && r.operation === 'update') return false;
      const mountLookup = specPaths.some((s) => p === `sys/internal/ui/mounts/${s}`);
      if (r.operation === 'read' && (specPaths.includes(p) || mountLookup)) return false;
      if (p === 'auth/token/lookup-self' && r.operation === 'read') return false; // TokenSource.describe, token mode
      const lease = /^sys\/leases\/(?:renew|revoke)\/(.+)$/.exec(p);
      return !(lease && r.operation === 'update' && own.has(lease[1]!));
    })
    .map((r) => `${r.operation} ${r.path}`);
}

const leaseWrites = (entries: any[]): string[] =>
  requests(entries)
    .filter((r) => (r.path as string).startsWith('sys/leases/'))
    .map((r) => r.path as string);

// ---- servers -----------------------------------------------------------------------------------

before(async (t) => {
  [vault, pgs] = await Promise.all([startVaultServer({ auditLog: true }), startPostgres()]);
  for (const role of ['billing', 'x', 'y']) {
    await enableDatabaseSecrets(vault, pgs, { role, defaultTtl: `${LEASE_TTL}s`, maxTtl: '1h' });
  }
  await enableKv(vault, 'kv', 2);
  await writeKv(vault, 'kv', 2, 'app/config', { password: 'kv-v1' });
  await enableKv(vault, 'kv1', 1);
  await writeKv(vault, 'kv1', 1, 'team-b/config', { password: 'team-b-secret' });

  const created = await vault.request('POST', 'auth/token/create', { policies: ['root'], no_parent: true });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  hookToken = created.body.auth.client_token;
  const base = { vault: { address: vault.addr, timeoutMs: 3000 }, syncDeadlineMs: 6000, hmacKey: hookConfig.hmacKey };
  tokenVault = createVault({ ...base, auth: { method: 'token', token: hookToken } });
  const now = () => new Date(clockMs);
  tokenHook = await build(t, tokenVault.reader, hookConfig, { now });

  // Controller mode: namespace a may use role-x (database/creds/x), namespace b role-y.
  for (const t of ['x', 'y']) {
    await writePolicy(
      vault,
      `tenant-${t}`,
      [
        `path "database/creds/${t}" { capabilities = ["read"] }`,
        `path "sys/leases/renew/database/creds/${t}/*" { capabilities = ["update"] }`,
        `path "sys/leases/revoke/database/creds/${t}/*" { capabilities = ["update"] }`,
      ].join('\n'),
    );
  }
  const signer = await enableJwtAuthAsKubernetes(vault, { role: 'role-x', policies: ['tenant-x'], ttl: '1h' });
  const roleY = await vault.request('POST', 'auth/kubernetes/role/role-y', {
    role_type: 'jwt',
    user_claim: 'sub',
    bound_audiences: ['vault'],
    token_policies: ['tenant-y'],
    token_ttl: '1h',
  });
  assert.ok(roleY.status < 300, JSON.stringify(roleY.body));
  const jwtPath = join(mkdtempSync(join(tmpdir(), 'vaultapp-tenant-')), 'jwt');
  writeFileSync(jwtPath, signer.signJwt());
  controllerVault = createVault({
    ...base,
    auth: {
      method: 'kubernetes',
      mount: 'kubernetes',
      identity: { model: 'controller', jwtPath, allowedRoles: { a: ['role-x'], b: ['role-y'] } },
    },
  });
  controllerHook = await build(t, controllerVault.reader, hookConfig, { now });
});

after(async () => {
  await Promise.all([vault?.stop(), pgs?.stop()]);
});

// ---- positive control ---------------------------------------------------------------------------

describe('the genuine flow still works (positive control)', () => {
  it('issues a credential, renews exactly its lease when due, and revokes exactly it at finalize', async () => {
    const mc = new MetacontrollerDriver(tokenHook, vaultApp('genuine', dbSecrets(DB)));
    const issued = await audited(() => mc.sync());
    assert.equal(condition(issued.result, 'SecretsSynced').status, 'True');
    const [lease] = issuedLeases(issued.entries, [DB]);
    assert.ok(lease, 'Vault issued a lease');
    assert.equal(recordsOf(mc)[0]!.leaseId, lease);
    const { username } = mc.secretValues()!;
    assert.equal(await pgs.roleExists(username!), true);

    advanceClock(DUE);
    const renewed = await audited(() => mc.sync());
    assert.equal(condition(renewed.result, 'SecretsSynced').status, 'True');
    assert.deepEqual(described(renewed.entries), [`update sys/leases/renew/${lease}`]);
    assert.equal(recordsOf(mc)[0]!.renewedAt, iso(clockMs), 'the record says when it was renewed');

    const finalized = await audited(() => mc.finalize());
    assert.equal(finalized.result.finalized, true);
    assert.deepEqual(described(finalized.entries), [`update sys/leases/revoke/${lease}`]);
    assert.equal(await pgs.roleExists(username!), false, 'the database user is dropped');
  });
});

// ---- attack 1: a lease id becomes a Vault URL ---------------------------------------------------

describe('attack 1: forged lease records never steer a Vault request', () => {
  let mc: MetacontrollerDriver;
  let victim: MetacontrollerDriver;
  let ownLeases: string[];
  let keptData: Record<string, string>;

  before(async () => {
    // Another VaultApp's live lease under the same path: a forged record may name it.
    victim = new MetacontrollerDriver(tokenHook, vaultApp('victim', dbSecrets(DB)));
    await victim.sync();
    mc = new MetacontrollerDriver(tokenHook, vaultApp('tenant', dbSecrets(DB)));
    const first = await audited(() => mc.sync());
    assert.equal(condition(first.result, 'SecretsSynced').status, 'True');
    ownLeases = issuedLeases(first.entries, [DB]);
    keptData = mc.secretValues()!;
  });

  const P = DB;
  const attacks: Array<[string, () => Record<string, unknown>]> = [
    ['../../../auth/token/revoke-self', () => forgedRecord(P, '../../../auth/token/revoke-self')],
    ['../../../auth/token/create', () => forgedRecord(P, '../../../auth/token/create')],
    ['../revoke-prefix/<path>', () => forgedRecord(P, `../revoke-prefix/${P}`)],
    ['../../../kv1/<another team>/config', () => forgedRecord(P, `../../../${OTHER_TEAM_KV1}`)],
    ['<path>/../ segments', () => forgedRecord(P, `${P}/x/../../../../../../auth/token/revoke-self`)],
    ['a query string', () => forgedRecord(P, `${P}/x?increment=99999999`)],
    ['%2e%2e', () => forgedRecord(P, `${P}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/auth/token/revoke-self`)],
    ['a fragment', () => forgedRecord(P, `${P}/x#/../../../../../auth/token/revoke-self`)],
    ['backslashes', () => forgedRecord(P, `${P}\\..\\..\\..\\..\\..\\auth\\token\\revoke-self`)],
    // An id that passes every URL check: only the MAC keeps the hook off another VaultApp's lease.
    ["another VaultApp's live lease", () => forgedRecord(P, recordsOf(victim)[0]!.leaseId)],
    // The records had no MAC at all.
    [
      '../../../auth/token/revoke-self, no MAC',
      () => {
        const { mac: _mac, ...r } = forgedRecord(P, '../../../auth/token/revoke-self');
        return r;
      },
    ],
  ];

  for (const [label, forge] of attacks) {
    it(`lease id ${label}: no request but the tenant's own; UntrustedState; data and token kept`, async () => {
      const record = forge();
      tamper(mc, JSON.stringify([record]));
      const renewedBefore = tokenVault.reader.stats.leasesRenewed;
      const { result: res, entries } = await audited(() => mc.sync());

      assert.deepEqual(unexpectedRequests(entries, [DB], ownLeases), []);
      assertUntrustedOnly(res);
      assertNoLeakedText(res, [String(record.leaseId), 'revoke-self', 'auth/token']);
      assert.deepEqual(mc.secretValues(), keptData, 'the Secret keeps its data');
      assert.equal(answeredAnnotation(res), '[]', 'the answer rewrites the annotation without the forged record');
      assert.equal(tokenVault.reader.stats.leasesRenewed, renewedBefore, 'nothing counted as a renewal');

      // The hook's token and the other team's secret are untouched.
      assert.equal((await vault.request('GET', 'auth/token/lookup-self', undefined, hookToken)).status, 200);
      assert.deepEqual((await vault.request('GET', OTHER_TEAM_KV1)).body?.data, { password: 'team-b-secret' });
    });
  }

  it("the victim's lease was never renewed or revoked, and the victim still syncs", async () => {
    const lease = recordsOf(victim)[0]!.leaseId;
    const all = requests(await vault.auditEntries()).map((r) => r.path as string);
    assert.deepEqual(
      all.filter((p) => p.startsWith('sys/leases/') && p.endsWith(lease)),
      [],
    );
    const res = await victim.sync();
    assert.equal(condition(res, 'SecretsSynced').status, 'True');
  });
});

// ---- attack 2: a sealed token moved to another VaultApp -----------------------------------------

describe("attack 2: VaultApp X's sealed token, pasted into VaultApp Y's Secret, is never used for Y", () => {
  const X_PATH = 'database/creds/x';
  const Y_PATH = 'database/creds/y';
  const X_OPTS = { namespace: 'a', role: 'role-x' };
  const Y_OPTS = { namespace: 'b', role: 'role-y' };
  let x: MetacontrollerDriver;
  let y: MetacontrollerDriver;
  let xTokenHash: string;

  /** Audit entries (requests and responses) made with X's token. */
  const withXToken = (entries: any[]) => entries.filter((e) => e.auth?.client_token === xTokenHash).map((e) => `${e.type} ${e.request?.path}`);

  before(async () => {
    x = new MetacontrollerDriver(controllerHook, vaultApp('app-x', dbSecrets(X_PATH), X_OPTS));
    y = new MetacontrollerDriver(controllerHook, vaultApp('app-y', dbSecrets(Y_PATH), Y_OPTS));
    const first = await audited(async () => [await x.sync(), await y.sync()]);
    for (const res of first.result) assert.equal(condition(res, 'SecretsSynced').status, 'True');
    // The audit log hashes tokens: X's is the one X's credential was read with...
    const xRead = first.entries.find((e) => e.type === 'request' && e.request.path === X_PATH);
    xTokenHash = xRead.auth.client_token;
    // ...and it is the token sealed in X's record (opened here with the hook's key, for X only).
    const rec = recordsOf(x)[0]!;
    assert.ok(rec.token, "X's record carries its sealed creating token");
    const context = sealedTokenContext(bindingOf(x.parent), X_PATH, rec.leaseId);
    const xToken = createTokenSealer(hookConfig.hmacKey).unseal(rec.token!, context);
    const hashed = await vault.request('POST', 'sys/audit-hash/file', { input: xToken });
    assert.equal(hashed.body?.data?.hash, xTokenHash);
    const yRead = first.entries.find((e) => e.type === 'request' && e.request.path === Y_PATH);
    assert.notEqual(yRead.auth.client_token, xTokenHash, 'Y logs in with its own role');
  });

  it("X's record and data copied into Y's Secret, X's path in Y's spec: X's token unused, UntrustedState", async () => {
    const xRecord = recordsOf(x)[0]!;
    const xEntries = Object.entries(secretOf(x).data as Record<string, string>);
    const xData = Object.fromEntries(xEntries.map(([k, v]) => [`x_${k}`, v]));
    setSecrets(y, [...dbSecrets(Y_PATH), ...dbSecrets(X_PATH, 'x_')]);
    tamper(y, JSON.stringify([...recordsOf(y), xRecord]), xData);
    const yData = y.secretValues();
    advanceClock(DUE); // X's lease (and Y's) due for renewal

    const { result: res, entries } = await audited(() => y.sync());
    assert.deepEqual(withXToken(entries), [], "no request with X's token");
    const synced = condition(res, 'SecretsSynced');
    assert.equal(synced.status, 'False');
    assert.equal(synced.reason, 'UntrustedState');
    assert.deepEqual(y.secretValues(), yData, "Y's Secret keeps its data");
    assert.ok(!answeredAnnotation(res)!.includes(xRecord.leaseId), "X's record is not carried on");
    // The answer keeps Y's data whatever Vault says: X's path is not read for it.
    assert.deepEqual(
      requests(entries).filter((r) => r.path === X_PATH),
      [],
      "X's path not read in the sync that rejects the record",
    );
    assert.deepEqual(
      leaseWrites(entries).filter((p) => p.includes(X_PATH)),
      [],
      "X's lease not renewed nor revoked",
    );
    assertNoLeakedText(res, [xRecord.leaseId]);

    // What Y's own role may not do it still may not: the next sync reads X's path with Y's token, refused.
    const next = await audited(() => y.sync());
    assert.deepEqual(withXToken(next.entries), [], "no request with X's token");
    assert.ok(
      requests(next.entries).some((r) => r.path === X_PATH && r.auth?.client_token !== xTokenHash),
      "X's path read with Y's token",
    );
    assert.equal(condition(next.result, 'SecretsSynced').reason, 'PermissionDenied');
    assert.deepEqual(y.secretValues(), yData, "Y's Secret keeps its data");
  });

  it("even in a record whose MAC verified, X's sealed token does not open for Y (associated data)", async () => {
    // Y's spec as it was; Y's own genuine record, re-signed for Y with X's sealed token in it,
    // as if the MAC were not there: the sealed token's associated data is the second lock.
    setSecrets(y, dbSecrets(Y_PATH));
    await y.sync(); // a clean Secret and a current record for Y
    const yRecord = recordsOf(y)[0]!;
    const swapped = signLease({ ...yRecord, token: recordsOf(x)[0]!.token! }, bindingOf(y.parent), hookConfig.hmacKey);
    tamper(y, JSON.stringify([swapped]));
    advanceClock(DUE);

    const { result: res, entries } = await audited(() => y.sync());
    assert.deepEqual(withXToken(entries), [], "no request with X's token");
    // Y's lease is renewed with Y's own login token instead.
    assert.deepEqual(leaseWrites(entries), [`sys/leases/renew/${yRecord.leaseId}`]);
    assert.equal(condition(res, 'SecretsSynced').status, 'True');
  });
});

// ---- attack 3: finalize trusts the annotation wholesale ------------------------------------------

describe('attack 3: finalize with an annotation of 1,500 forged records', () => {
  const forgedMany = (n: number): Record<string, unknown>[] =>
    Array.from({ length: n }, () => forgedRecord(DB, `${DB}/${randomBytes(18).toString('base64url')}`));

  it('one /finalize sends no revoke write and answers finalized', async () => {
    const mc = new MetacontrollerDriver(tokenHook, vaultApp('flooded', dbSecrets(DB)));
    await mc.sync();
    const annotation = JSON.stringify(forgedMany(1500));
    assert.ok(annotation.length > 270_000, `${annotation.length} characters`);
    tamper(mc, annotation);
    const { result: res, entries } = await audited(() => mc.finalize());
    assert.deepEqual(leaseWrites(entries), []);
    assert.deepEqual(unexpectedRequests(entries, [], []), []);
    assert.equal(res.finalized, true);
  });

  it('a genuine record among 63 forged ones is the only lease revoked', async () => {
    const mc = new MetacontrollerDriver(tokenHook, vaultApp('flooded-small', dbSecrets(DB)));
    await mc.sync();
    const genuine = recordsOf(mc)[0]!;
    const { username } = mc.secretValues()!;
    tamper(mc, JSON.stringify([...forgedMany(31), genuine, ...forgedMany(32)]));
    const { result: res, entries } = await audited(() => mc.finalize());
    assert.deepEqual(leaseWrites(entries), [`sys/leases/revoke/${genuine.leaseId}`]);
    assert.equal(res.finalized, true);
    assert.equal(await pgs.roleExists(username!), false, 'the genuine database user is dropped');
  });

  // A flood of forged records must not hide the genuine one: observedLeases examines up to 2,048 entries.
  it('a genuine record among 1,500 forged ones is still revoked', async () => {
    const mc = new MetacontrollerDriver(tokenHook, vaultApp('flooded-genuine', dbSecrets(DB)));
    await mc.sync();
    const genuine = recordsOf(mc)[0]!;
    const { username } = mc.secretValues()!;
    tamper(mc, JSON.stringify([...forgedMany(750), genuine, ...forgedMany(750)]));
    const { result: res, entries } = await audited(() => mc.finalize());
    assert.deepEqual(leaseWrites(entries), [`sys/leases/revoke/${genuine.leaseId}`]);
    assert.equal(res.finalized, true);
    assert.equal(await pgs.roleExists(username!), false, 'the genuine database user is dropped');
  });
});

// ---- attack 4: a forged record on a KV path ------------------------------------------------------

describe('attack 4: a forged record on a KV path', () => {
  it('does not stop the hook reading that path: the sync after the rejection reads it and writes what it read', async () => {
    const app = vaultApp('kv-tenant', [{ path: KV_PATH, key: 'password', targetKey: 'password' }]);
    const mc = new MetacontrollerDriver(tokenHook, app);
    await mc.sync();
    assert.deepEqual(mc.secretValues(), { password: 'kv-v1' });
    await writeKv(vault, 'kv', 2, 'app/config', { password: 'kv-v2' });
    // A fresh, non-renewable record: the old hook reused it and skipped the read.
    const fresh = { renewedAt: iso(clockMs), ttl: 3600, duration: 3600, renewable: false };
    tamper(mc, JSON.stringify([forgedRecord(KV_PATH, `${KV_PATH}/forged`, fresh)]));

    // The answer keeps the data whatever Vault says: nothing is read for it.
    const { result: res, entries } = await audited(() => mc.sync());
    assert.deepEqual(unexpectedRequests(entries, [KV_PATH], []), []);
    assertUntrustedOnly(res);
    assert.deepEqual(mc.secretValues(), { password: 'kv-v1' }, 'kept while the state is untrusted');

    // The hook rewrote the annotation: the next sync reads the path and writes what it read.
    const { result: next, entries: read } = await audited(() => mc.sync());
    assert.ok(
      requests(read).some((r) => r.path === KV_PATH && r.operation === 'read'),
      'the path is read',
    );
    assert.equal(condition(next, 'SecretsSynced').status, 'True');
    assert.deepEqual(mc.secretValues(), { password: 'kv-v2' });
  });
});

// ---- attack 5: what a forged record costs Vault and the database ---------------------------------

describe('attack 5: a forged record costs one credential', () => {
  it('the sync that rejects it issues none; the next issues one and keeps it; nothing is revoked', async () => {
    const mc = new MetacontrollerDriver(tokenHook, vaultApp('forged-once', dbSecrets(DB)));
    await mc.sync();
    const genuine = recordsOf(mc)[0]!;
    tamper(mc, JSON.stringify([{ ...genuine, mac: randomBytes(32).toString('base64url').slice(0, 43) }]));

    const rejected = await audited(() => mc.sync());
    assertUntrustedOnly(rejected.result);
    const synced = await audited(() => mc.sync());
    assert.equal(condition(synced.result, 'SecretsSynced').status, 'True');
    const after = await audited(() => mc.sync());
    const entries = [...rejected.entries, ...synced.entries, ...after.entries];

    const issued = issuedLeases(entries, [DB]);
    assert.equal(issued.length, 1, `credentials issued after the forgery: ${issued.join(', ')}`);
    assert.deepEqual(
      leaseWrites(entries).filter((p) => p.startsWith('sys/leases/revoke/')),
      [],
    );
    assert.deepEqual(issuedLeases(rejected.entries, [DB]), [], 'none in the sync that rejected the record');
    assert.deepEqual(
      recordsOf(mc).map((r) => r.leaseId),
      issued,
      'the one issued is recorded, and kept by the next sync',
    );
    assert.equal(await pgs.roleExists(mc.secretValues()!.username!), true);
  });
});
