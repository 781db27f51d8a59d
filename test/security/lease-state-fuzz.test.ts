// Property: whatever a tenant writes into the lease annotation of the managed Secret,
// the only Vault requests the hook sends are lookups and renewals of its own token,
// mount lookups and reads of the spec's paths, and renewals and revocations of
// leases that Vault issued to this VaultApp. Vault is recorded here at the VaultHttp
// boundary (the lowest layer the hook talks through), so thousands of annotations run
// in seconds; test/integration/tenant-state.test.ts makes the same attacks against a
// real Vault and PostgreSQL with Vault's audit log as the witness.
import type { LeaseRecord } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { LEASES_ANNOTATION } from '../../src/hook/carried-state/leases.js';
import type { KubeObject, SyncResponse } from '../../src/hook/types.js';
import { VaultRequestError, type VaultHttp, type VaultResponse } from '../../src/vault/http.js';
import { createVaultReader } from '../../src/vault/reader.js';
import { createTokenSealer } from '../../src/vault/token-seal.js';
import { staticTokenSource } from '../../src/vault/token-source.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig } from '../support/build-app.js';

const RUNS = Math.round(2000 * Number(process.env.VAULTAPP_FUZZ_RUNS ?? 1));
const SEED = process.env.VAULTAPP_FUZZ_SEED ? Number(process.env.VAULTAPP_FUZZ_SEED) : Date.now() % 2 ** 31;
const T0 = Date.parse('2026-11-27T12:00:00Z');
const DB = 'database/creds/app';
const KV = 'kv/data/app/config';
const TOKEN = 'hvs.recorded-hook-token-000000';

interface Call {
  op: 'read' | 'write';
  path: string;
}

/** A Vault that answers like a real one for the two engines, records every request and who each lease was issued to. */
class RecordedVault implements VaultHttp {
  calls: Call[] = [];
  readonly issuedTo = new Map<string, string>();
  owner = '';
  #n = 0;

  async read(path: string): Promise<VaultResponse> {
    this.calls.push({ op: 'read', path });
    if (path === `sys/internal/ui/mounts/${DB}`) return { data: { path: 'database/', type: 'database' } };
    if (path.startsWith('sys/internal/ui/mounts/kv/')) return { data: { path: 'kv/', type: 'kv', options: { version: '2' } } };
    if (path === 'auth/token/lookup-self') return { data: { ttl: 45 } };
    if (path === KV) return { data: { data: { url: 'postgres://db' }, metadata: { version: 1 } } };
    if (path === DB) {
      const id = `${DB}/lease${++this.#n}`;
      this.issuedTo.set(id, this.owner);
      return { lease_id: id, lease_duration: 60, renewable: true, data: { username: `u${this.#n}`, password: `p${this.#n}-secret` } };
    }
    throw new VaultRequestError('http', 404, [], `read ${path}: Vault answered 404`);
  }

  async write(path: string): Promise<VaultResponse> {
    this.calls.push({ op: 'write', path });
    if (path === 'auth/token/renew-self') return { auth: { lease_duration: 45 } };
    const lease = /^sys\/leases\/renew\/(.+)$/.exec(path)?.[1];
    if (lease) return { lease_id: decodeLeaseUrl(lease), lease_duration: 60, renewable: true };
    // Vault answers a revocation with 204 and no body.
    if (path.startsWith('sys/leases/revoke/')) return undefined as unknown as VaultResponse;
    throw new VaultRequestError('http', 404, ['unsupported path'], `write ${path}: Vault answered 404`);
  }

  async health() {
    return { status: 200 };
  }
}

const decodeLeaseUrl = (s: string): string => s.split('/').map(decodeURIComponent).join('/');

/** Why a call is not one the hook may make for VaultApp `owner`, or undefined. */
function forbidden(call: Call, vault: RecordedVault, owner: string): string | undefined {
  const allowed =
    call.op === 'read'
      ? [`sys/internal/ui/mounts/${DB}`, 'sys/internal/ui/mounts/kv/data/app/config', 'auth/token/lookup-self', DB, KV].includes(call.path)
      : call.path === 'auth/token/renew-self';
  if (allowed) return undefined;
  const lease = /^sys\/leases\/(?:renew|revoke)\/(.+)$/.exec(call.path)?.[1];
  if (call.op === 'write' && lease && vault.issuedTo.get(decodeLeaseUrl(lease)) === owner) return undefined;
  return `${call.op} ${call.path}`;
}

function vaultApp(namespace: string, uid: string): VaultApp {
  const app = loadExample();
  app.metadata = { name: 'app', namespace, uid, generation: 1 };
  app.spec.vault = {
    role: 'app',
    secrets: [
      { path: DB, key: 'username', targetKey: 'db_user' },
      { path: DB, key: 'password', targetKey: 'db_password' },
      { path: KV, key: 'url', targetKey: 'db_url' },
    ],
  };
  app.spec.monitoring = { enabled: false };
  return app;
}

const X = vaultApp('team-a', 'uid-x');
const Y = vaultApp('team-b', 'uid-y');
let vault: RecordedVault;
let hook: FastifyInstance;
let clock = T0;
const genuine: Record<'x' | 'y', { secret: KubeObject; record: LeaseRecord }> = {} as never;

function requestFor(parent: VaultApp, secret: KubeObject | undefined, finalizing = false): Record<string, unknown> {
  return {
    controller: {},
    parent,
    finalizing,
    children: { 'Secret.v1': secret ? { [secret.metadata.name]: secret } : {}, 'Deployment.apps/v1': {}, 'Service.v1': {} },
  };
}

async function post(url: '/sync' | '/finalize', body: Record<string, unknown>): Promise<SyncResponse> {
  const res = await hook.inject({ method: 'POST', url, payload: body });
  assert.equal(res.statusCode, 200, `${url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as SyncResponse;
}

/** The first sync of a VaultApp: its Secret, with the genuine record of its database lease. */
async function firstSync(app: VaultApp, owner: string): Promise<{ secret: KubeObject; record: LeaseRecord }> {
  vault.owner = owner;
  const secret = (await post('/sync', requestFor(app, undefined))).children.find((c) => c.kind === 'Secret')!;
  const records = JSON.parse(secret.metadata.annotations![LEASES_ANNOTATION]!) as LeaseRecord[];
  return { secret, record: records[0]! };
}

before(async (t) => {
  vault = new RecordedVault();
  const reader = createVaultReader(
    vault,
    staticTokenSource(TOKEN, vault, () => clock),
    {
      deadlineMs: 2000,
      sealer: createTokenSealer(hookConfig.hmacKey),
    },
  );
  hook = await build(t, reader, {}, { now: () => new Date(clock) });
  genuine.x = await firstSync(X, 'x');
  genuine.y = await firstSync(Y, 'y');
});

// What an attacker who can edit Y's Secret can put into one entry of the annotation.
const DANGEROUS_IDS = [
  '../../../auth/token/revoke-self',
  'auth/token/create',
  'sys/leases/revoke-prefix/database',
  'kv1/other-team/config',
  `${DB}/x?increment=1`,
  `${DB}/%2e%2e/%2e%2e/auth/token/revoke-self`,
  `${DB}/../../../sys/seal`,
  `${DB}/x#frag`,
  `${DB}\\..\\x`,
  `${DB}/a\u0000b`,
  `${DB}//x`,
  `${DB}/./x`,
  `${DB}/`,
  DB,
  '',
];
type Entry = { kind: 'genuine' } | { kind: 'other'; value: unknown };
const field = fc.constantFrom('path', 'leaseId', 'renewedAt', 'issuedAt', 'ttl', 'duration', 'token', 'mac', 'renewable', 'tokenExpiresAt');
type Annotation = { entries: Entry[] } | { text: string };

/** Built once the genuine records exist (before()). */
function annotations(): fc.Arbitrary<Annotation> {
  const entry: fc.Arbitrary<Entry> = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Entry>({ kind: 'genuine' }) },
    // Y's own record with one field changed: the MAC no longer matches.
    {
      weight: 3,
      arbitrary: fc
        .tuple(field, fc.oneof(fc.constantFrom(...DANGEROUS_IDS), fc.string(), fc.integer(), fc.boolean()))
        .map(([k, v]): Entry => ({ kind: 'other', value: { ...genuine.y.record, [k]: v } })),
    },
    // X's whole record, or X's sealed token and MAC grafted onto Y's record.
    {
      weight: 2,
      arbitrary: fc.constantFrom<Entry>(
        { kind: 'other', value: genuine.x.record },
        { kind: 'other', value: { ...genuine.y.record, token: genuine.x.record.token } },
        { kind: 'other', value: { ...genuine.y.record, leaseId: genuine.x.record.leaseId, mac: genuine.x.record.mac } },
      ),
    },
    // A record made up from scratch, with a well-formed but unkeyed MAC.
    {
      weight: 3,
      arbitrary: fc
        .record({
          leaseId: fc.constantFrom(...DANGEROUS_IDS),
          path: fc.constantFrom(DB, KV, 'auth/token', ''),
          mac: fc.base64String({ minLength: 44, maxLength: 44 }),
        })
        .map((f): Entry => ({ kind: 'other', value: { ...genuine.y.record, ...f, mac: f.mac.slice(0, 43) } })),
    },
    { weight: 1, arbitrary: fc.anything().map((value): Entry => ({ kind: 'other', value })) },
  );
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(entry, { maxLength: 6 }).map((entries): Annotation => ({ entries })) },
    { weight: 1, arbitrary: fc.oneof(fc.string(), fc.json()).map((text): Annotation => ({ text })) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 65, max: 1500 }).map(
        (n): Annotation => ({
          entries: Array.from({ length: n }, (): Entry => ({ kind: 'other', value: { ...genuine.y.record, leaseId: `${DB}/forged` } })),
        }),
      ),
    },
  );
}
// Seconds after the genuine record was written: reused, token renewal due, lease renewal due, past its end.
const offset = fc.constantFrom(0, 10, 35, 45, 50, 58, 120, 4000);

function annotationText(a: Annotation): string {
  if ('text' in a) return a.text;
  return JSON.stringify(a.entries.map((e) => (e.kind === 'genuine' ? genuine.y.record : e.value)));
}

/** Whether the hook must reject something: anything but at most one untouched record of Y's. */
function mustReject(a: Annotation): boolean {
  if ('text' in a) return a.text !== '' && a.text.trim() !== '[]';
  // A "changed" field may have been given the value it had: then the record is still genuine.
  const genuineEntry = (e: Entry): boolean => e.kind === 'genuine' || isDeepStrictEqual(e.value, genuine.y.record);
  return a.entries.filter(genuineEntry).length > 1 || a.entries.some((e) => !genuineEntry(e));
}

describe('fuzz: the lease annotation steers no Vault request', () => {
  it(`${RUNS} annotations: only the spec's reads and Y's own leases reach Vault, at sync and at finalize`, async () => {
    let rejected = 0;
    let leaseWrites = 0;
    await fc.assert(
      fc.asyncProperty(annotations(), offset, async (a, seconds) => {
        clock = T0 + seconds * 1000;
        vault.owner = 'y';
        vault.calls = [];
        const secret = structuredClone(genuine.y.secret);
        secret.metadata.annotations = { [LEASES_ANNOTATION]: annotationText(a) };
        const res = await post('/sync', requestFor(Y, secret));
        const syncCalls = vault.calls.length;
        const fin = await post('/finalize', requestFor(Y, secret, true));

        for (const call of vault.calls) assert.equal(forbidden(call, vault, 'y'), undefined, 'a Vault request the annotation steered');
        leaseWrites += vault.calls.filter((c) => c.path.startsWith('sys/leases/')).length;
        const synced = res.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
        const messages = JSON.stringify([res.status, fin.status]);
        assert.doesNotMatch(messages, /TypeError|Cannot read|undefined|unsupported path/, "an exception or an unintended endpoint's answer in the status");
        if (mustReject(a)) {
          rejected++;
          assert.equal(synced.reason, 'UntrustedState', synced.message);
          const kept = res.children.find((c) => c.kind === 'Secret')!;
          assert.deepEqual(kept.data, genuine.y.secret.data, 'the Secret keeps its data');
          assert.ok(!kept.metadata.annotations?.[LEASES_ANNOTATION]?.includes('forged'), 'the annotation is rewritten');
          // Its answer keeps the data whatever Vault says: a credential read now would only be revoked.
          assert.deepEqual(
            vault.calls.slice(0, syncCalls).filter((c) => c.path === DB),
            [],
            'a sync that rejects the annotation issues no credential',
          );
        }
        assert.ok(fin.finalized === true || fin.children.length === 1, 'finalize ends, or keeps the Secret while a revocation fails');
        assert.ok(
          vault.calls.filter((c) => c.path.startsWith('sys/leases/revoke/')).length <= 1,
          'at most the one database lease revoked (none was issued only to be revoked)',
        );
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    console.log(`# lease-state fuzz: ${RUNS} annotations, seed ${SEED}; ${rejected} rejected, ${leaseWrites} renewals and revocations of Y's own leases`);
    assert.ok(rejected > RUNS / 4 && leaseWrites > RUNS / 10, 'the generator reaches both rejections and genuine lease operations');
  });
});
