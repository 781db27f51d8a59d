// The hook accepts every object it wrote. A Secret key "__proto__"
// (from dataFrom, whose key names whoever writes the Vault path chooses, or from a
// targetKey an older CRD admitted) made every later /sync and /finalize carrying that
// Secret a 400: no refresh, no renewal, no revocation, and a deletion that hung on the
// finalizer with its leases alive. Now: such keys are never written, a body carrying one
// is read without it (src/http/prototype-members.ts), and /finalize of such a VaultApp
// revokes its leases and finishes, over JSON and YAML.
import type { Revocation, LeaseRecord, UnsignedLeaseRecord, VaultPlan, PathRead, VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { REFUSED_KEYS } from '../../src/api/string-rules.js';
import { validateVaultApp } from '../../src/api/validate.js';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { pathsOf } from '../../src/hook/secret-data/data-from.js';
import { ownGet, ownSet } from '../../src/api/json.js';
import { dropPrototypeMembers } from '../../src/http/prototype-members.js';
import { LEASES_ANNOTATION } from '../../src/hook/carried-state/leases.js';
import { sync } from '../../src/hook/sync.js';
import type { KubeObject, SyncRequest, SyncResponse } from '../../src/hook/types.js';
import type { ReaderStats, VaultReader } from '../../src/vault/reader.js';
import { b64, loadExample, request } from '../fixtures/requests.js';
import { build, hookConfig } from '../support/build-app.js';

// build()'s clock.
const NOW = new Date('2026-11-27T12:00:00Z');
const CREDS = 'database/creds/billing';
const SECRET = 'billing-service-vault-secrets';

type Values = Record<string, Record<string, unknown>>;

/**
 * The Vault edge as the real reader plays it for a plan: kept paths are not read, leases in
 * use are kept, every other path is read (database/creds/… issues a lease). Revokes every
 * lease it is asked to, and remembers which.
 */
function planReader(values: Values): VaultReader & { revoked: string[]; issued: number } {
  const stats: ReaderStats = { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 };
  const reader = {
    stats,
    revoked: [] as string[],
    issued: 0,
    async material(app: VaultApp, plan: VaultPlan = {}): Promise<VaultMaterial> {
      const reads: Record<string, PathRead> = {};
      for (const path of pathsOf(app)) {
        const p = Object.hasOwn(plan, path) ? plan[path] : undefined;
        const data = Object.hasOwn(values, path) ? values[path]! : {};
        if (p?.action === 'keep') reads[path] = { ok: true, unchanged: true };
        else if (p?.action === 'reuse' || p?.action === 'renew') reads[path] = { ok: true, engine: 'leased', kept: p.record };
        else if (path.startsWith('database/creds/'))
          reads[path] = { ok: true, engine: 'leased', data, lease: { id: `${path}/lease-${++reader.issued}`, durationSeconds: 3600, renewable: true } };
        else reads[path] = { ok: true, engine: 'kv2', data, version: 1 };
      }
      return { auth: { ok: true }, reads };
    },
    async revoke<R extends UnsignedLeaseRecord>(_app: VaultApp, records: R[]): Promise<Revocation<R>[]> {
      reader.revoked.push(...records.map((r) => r.leaseId));
      return records.map((record) => ({ record, ok: true as const }));
    },
  };
  return reader;
}

type Format = 'json' | 'yaml';
const FORMATS: Format[] = ['json', 'yaml'];

function post(app: FastifyInstance, url: string, body: unknown, format: Format) {
  const payload = format === 'json' ? JSON.stringify(body) : stringify(body);
  return app.inject({ method: 'POST', url, headers: { 'content-type': format === 'json' ? 'application/json' : 'application/yaml' }, payload });
}

const secretOf = (res: SyncResponse): KubeObject | undefined => res.children.find((c) => c.kind === 'Secret');
const leaseIdsOn = (secret: KubeObject | undefined): string[] =>
  (JSON.parse(secret?.metadata.annotations?.[LEASES_ANNOTATION] ?? '[]') as LeaseRecord[]).map((r) => r.leaseId);
/** The request Metacontroller sends once the answer is applied: its children observed, its status on the parent. */
const next = (parent: VaultApp, res: SyncResponse, extra: Partial<SyncRequest> = {}): SyncRequest => ({
  ...request({ ...parent, status: res.status } as VaultApp, res.children),
  ...extra,
});

/** A VaultApp an older release served: a dynamic credential whose username went to the Secret key "__proto__". */
function olderReleaseApp(): VaultApp {
  const app = loadExample();
  app.spec.vault.secrets = [
    { path: CREDS, key: 'username', targetKey: '__proto__' },
    { path: CREDS, key: 'password', targetKey: 'db_password' },
  ];
  return app;
}
const CRED_VALUES: Values = { [CREDS]: { username: 'v-billing-user', password: 'v-billing-pass' } };

/** What an older release answered for it: the pure core wrote what the spec said, the edge did not refuse the key. */
function writtenByOlderRelease(): { app: VaultApp; req: SyncRequest; leaseId: string } {
  const app = olderReleaseApp();
  const material: VaultMaterial = {
    auth: { ok: true },
    reads: { [CREDS]: { ok: true, engine: 'leased', data: CRED_VALUES[CREDS]!, lease: { id: `${CREDS}/old-lease`, durationSeconds: 3600, renewable: true } } },
  };
  const res = sync(request(app), material, new Date(NOW.getTime() - 60_000), hookConfig);
  const secret = secretOf(res)!;
  assert.ok(Object.hasOwn(secret.data as object, '__proto__'), 'the older release wrote the key');
  assert.deepStrictEqual(leaseIdsOn(secret), [`${CREDS}/old-lease`]);
  return { app, req: next(app, res), leaseId: `${CREDS}/old-lease` };
}

async function hook(t: TestContext, values: Values = {}) {
  const reader = planReader(values);
  return { app: await build(t, reader), reader };
}

describe('a Secret an older release wrote with the key "__proto__"', () => {
  for (const format of FORMATS) {
    for (const [url, finalizing] of [
      ['/finalize', undefined],
      ['/sync', true],
    ] as const) {
      it(`${format}: POST ${url}${finalizing ? ' (finalizing)' : ''} revokes its lease and finishes`, async (t) => {
        const { app, reader } = await hook(t, CRED_VALUES);
        const { req, leaseId } = writtenByOlderRelease();
        const body = finalizing ? { ...req, finalizing } : req;
        const text = format === 'json' ? JSON.stringify(body) : stringify(body);
        assert.match(text, format === 'json' ? /"__proto__":/ : /__proto__:/, 'the body carries the key');
        const res = await post(app, url, body, format);
        assert.equal(res.statusCode, 200, res.body);
        const answer = format === 'json' ? (res.json() as SyncResponse) : (JSON.parse(JSON.stringify(res.json())) as SyncResponse);
        assert.equal(answer.finalized, true);
        assert.deepStrictEqual(reader.revoked, [leaseId]);
        assert.equal(({} as Record<string, unknown>).username, undefined, 'no prototype was touched');
      });
    }

    it(`${format}: POST /sync names the targetKey the current CRD refuses (422), instead of "Body is not valid JSON"`, async (t) => {
      const { app, reader } = await hook(t, CRED_VALUES);
      const res = await post(app, '/sync', writtenByOlderRelease().req, format);
      assert.equal(res.statusCode, 422, res.body);
      assert.match(res.body, /spec\.vault\.secrets\[0\]\.targetKey: targetKey must not be __proto__, constructor or prototype/);
      assert.deepStrictEqual(reader.revoked, []);
    });
  }

  it('the lease still alive when Vault refuses to revoke it: the Secret is kept with its record, the other keys and no "__proto__"', async (t) => {
    const reader = planReader(CRED_VALUES);
    reader.revoke = async <R extends UnsignedLeaseRecord>(_app: VaultApp, records: R[]) =>
      records.map((record) => ({ record, ok: false as const, message: `cannot revoke the lease of path "${record.path}": Vault is unreachable` }));
    const app = await build(t, reader);
    const res = await post(app, '/finalize', writtenByOlderRelease().req, 'json');
    assert.equal(res.statusCode, 200, res.body);
    const answer = res.json() as SyncResponse;
    assert.equal(answer.finalized, false);
    const secret = secretOf(answer)!;
    assert.deepStrictEqual(Object.keys(secret.data as object), ['db_password']);
    assert.deepStrictEqual(leaseIdsOn(secret), [`${CREDS}/old-lease`]);
  });
});

describe('a Secret carrying "__proto__" from dataFrom (an older release, or a tenant editing it)', () => {
  const ALL = 'kv/data/billing/all';
  const app = (): VaultApp => {
    const a = loadExample();
    a.spec.vault.dataFrom = [{ path: ALL }];
    return a;
  };
  const VALUES: Values = {
    'kv/data/billing/database': { url: 'postgres://db' },
    'kv/data/billing/provider-x': { key: 'px' },
    [ALL]: JSON.parse('{"__proto__": "proto-VALUE", "constructor": "ctor-VALUE", "api_token": "tok"}'),
  };

  for (const format of FORMATS) {
    it(`${format}: /sync answers 200; the key is gone from the answer, reported by name; the rest is kept`, async (t) => {
      const { app: hookApp } = await hook(t, VALUES);
      const first = await post(hookApp, '/sync', request(app()), 'json');
      assert.equal(first.statusCode, 200, first.body);
      const firstAnswer = first.json() as SyncResponse;
      const written = secretOf(firstAnswer)!.data as Record<string, string>;
      assert.deepStrictEqual(Object.keys(written).sort(), ['api_token', 'db_url', 'provider_x_api_key']);
      const synced = firstAnswer.status.conditions?.find((c) => c.type === 'SecretsSynced');
      assert.match(synced!.message, /key "__proto__" at path "kv\/data\/billing\/all" \(dataFrom\[0\]\): "__proto__" names an object's prototype/);
      assert.match(synced!.message, /key "constructor" at path/);
      assert.doesNotMatch(JSON.stringify(firstAnswer.status), /VALUE/);

      // The Secret as an older release wrote it: "__proto__" an own key of its data.
      const req = next(app(), firstAnswer);
      const observed = req.children['Secret.v1']![SECRET]!;
      const withKey = JSON.parse(JSON.stringify({ ...written, x: b64('proto-VALUE') }).replace('"x":', '"__proto__":')) as Record<string, string>;
      assert.ok(Object.hasOwn(withKey, '__proto__'));
      observed.data = withKey;

      const again = await post(hookApp, '/sync', req, format);
      assert.equal(again.statusCode, 200, again.body);
      const answer = (format === 'json' ? again.json() : JSON.parse(JSON.stringify(again.json()))) as SyncResponse;
      assert.deepStrictEqual(secretOf(answer)!.data, written);
    });
  }
});

// ------------------------------------------------------------------ the round trip

// Secret keys (targetKeys, template keys, Vault key names) that are hard on parsers, printers and objects.
const HOSTILE_KEYS = [
  ...REFUSED_KEYS,
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  '__proto',
  '_proto_',
  '1',
  '0',
  '-1',
  '1e3',
  '0x1F',
  '0o17',
  '.5',
  '.inf',
  '-.inf',
  '.nan',
  'NaN',
  'Infinity',
  'true',
  'false',
  'null',
  'Null',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  '-',
  '--',
  '---',
  '...',
  '_',
  '.hidden',
  'a.b',
  '2026-11-27',
  '12:30',
];
// Vault key names are anyone's: also what is no Secret key at all.
const VAULT_KEYS = [...HOSTILE_KEYS, '<<', '~', '', ' ', 'a/b', 'ü', '"', "'", '#', ': ', '\n'];

const vaultValue = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', 'null', '~', '__proto__', '{"__proto__":1}', 'a: b', '- x', '\u2028', 'ü'),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}')),
);
/** Vault data: key names chosen like a hostile writer of the path would (own keys, "__proto__" included). */
const vaultData = fc
  .uniqueArray(fc.tuple(fc.oneof(fc.constantFrom(...VAULT_KEYS), fc.string({ maxLength: 6 })), vaultValue), { maxLength: 8, selector: ([k]) => k })
  .map((entries) => {
    const data: Record<string, unknown> = {};
    for (const [k, v] of entries) ownSet(data, k, v);
    return data;
  });

const PATHS = ['kv/data/app/one', 'kv/data/app/two', CREDS];
const roundTripCase = fc.record({
  secrets: fc.uniqueArray(
    fc.record({
      path: fc.constantFrom(...PATHS),
      key: fc.constantFrom(...VAULT_KEYS.slice(0, 12), 'username', 'password'),
      targetKey: fc.constantFrom(...HOSTILE_KEYS),
    }),
    { minLength: 1, maxLength: 3, selector: (e) => e.targetKey },
  ),
  dataFrom: fc.option(
    fc.uniqueArray(fc.record({ path: fc.constantFrom(...PATHS.slice(0, 2)), prefix: fc.constantFrom(undefined, '', '__', 'df_', '.') }), {
      minLength: 1,
      maxLength: 2,
      selector: (d) => d.path,
    }),
    { nil: undefined },
  ),
  templateKey: fc.option(fc.constantFrom(...HOSTILE_KEYS), { nil: undefined }),
  values: fc.tuple(vaultData, vaultData, vaultData),
});

type RoundTripCase = typeof roundTripCase extends fc.Arbitrary<infer T> ? T : never;

function roundTripApp(c: RoundTripCase): VaultApp {
  const app = loadExample();
  app.spec.vault.secrets = c.secrets;
  if (c.dataFrom) app.spec.vault.dataFrom = c.dataFrom.map((d) => (d.prefix === undefined ? { path: d.path } : { path: d.path, prefix: d.prefix }));
  if (c.templateKey !== undefined && !c.secrets.some((s) => s.targetKey === c.templateKey)) {
    const templates: Record<string, string> = {};
    ownSet(templates, c.templateKey, 'static text');
    app.spec.vault.templates = templates;
  }
  return app;
}

// A template key "__proto__" never reaches the hook's validation: the parser leaves it out of the body with the
// rest of such members (admission refuses it first, test/integration/kube-admission.test.ts).
const refusedIn = (app: VaultApp): string[] =>
  [...app.spec.vault.secrets.map((s) => s.targetKey ?? ''), ...Object.keys(app.spec.vault.templates ?? {}).filter((k) => k !== '__proto__')].filter((k) =>
    REFUSED_KEYS.includes(k),
  );

function asTheHookSeesIt(app: VaultApp): unknown {
  const seen: unknown = JSON.parse(JSON.stringify(app));
  dropPrototypeMembers(seen);
  return seen;
}

describe('the round trip: every answer, fed back as the observed children of the next request, is accepted', () => {
  it('generated VaultApps and Vault data (hostile key names): the next /sync in JSON and in YAML answers 200 with the same Secret, and /finalize finishes', async (t) => {
    const values: Values = {};
    const reader = planReader(values);
    const app = await build(t, reader);
    let roundTrips = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(roundTripCase, async (c) => {
        const vaultApp = roundTripApp(c);
        // Every key the spec names is there as a string (a missing or odd one is another test's), among the hostile ones.
        for (const [i, path] of PATHS.entries()) {
          values[path] = c.values[i]!;
          for (const s of c.secrets) if (s.path === path && typeof ownGet(values[path], s.key) !== 'string') ownSet(values[path], s.key, `value-of-${s.key}`);
        }
        const first = await post(app, '/sync', request(vaultApp), 'json');
        const bad = refusedIn(vaultApp);
        if (bad.length > 0 || !validateVaultApp(asTheHookSeesIt(vaultApp)).ok) {
          // A key the hook refuses never reaches a Secret: the VaultApp is refused, naming it.
          assert.equal(first.statusCode, 422, first.body);
          if (bad.length > 0) assert.match(first.body, /must not be __proto__, constructor or prototype|no template key may be __proto__/);
          refused++;
          return;
        }
        assert.equal(first.statusCode, 200, first.body);
        const answer = first.json() as SyncResponse;
        const written = secretOf(answer);
        assert.ok(written, 'the first sync writes the Secret');
        for (const k of Object.keys(written.data ?? {})) assert.ok(!REFUSED_KEYS.includes(k), `a refused key was written: ${k}`);
        const leases = leaseIdsOn(written);
        const req = next(vaultApp, answer);

        for (const format of FORMATS) {
          const again = await post(app, '/sync', req, format);
          assert.equal(again.statusCode, 200, `${format}: ${again.body}`);
          const back = JSON.parse(JSON.stringify(again.json())) as SyncResponse;
          assert.deepStrictEqual(secretOf(back)?.data, written.data, `${format}: the Secret it wrote is read back as written`);

          reader.revoked.length = 0;
          const fin = await post(app, '/finalize', req, format);
          assert.equal(fin.statusCode, 200, `${format} finalize: ${fin.body}`);
          assert.equal((fin.json() as SyncResponse).finalized, true);
          assert.deepStrictEqual(reader.revoked.sort(), [...leases].sort(), `${format}: every recorded lease is revoked`);
        }
        roundTrips++;
      }),
      { numRuns: 150 },
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
    console.log(`# round trip: ${roundTrips} round trips, ${refused} VaultApps refused`);
    assert.ok(roundTrips > 30 && refused > 10, `both outcomes were reached: ${roundTrips} round trips, ${refused} refused`);
  });
});

describe('finalize checks the fields it reads, and only those', () => {
  const withLease = (mutate: (app: VaultApp) => void): SyncRequest => {
    const { req } = writtenByOlderRelease();
    mutate(req.parent);
    return req;
  };

  for (const [what, mutate] of [
    ['a template key an older CRD admitted ("constructor")', (a: VaultApp) => (a.spec.vault.templates = { constructor: 'x' })],
    ['a container list the schema refuses', (a: VaultApp) => ((a.spec.deploymentSpec!.template.spec as { containers: unknown }).containers = 'none')],
    ['monitoring enabled without a port', (a: VaultApp) => delete a.spec.monitoring!.port],
  ] as const) {
    it(`invalid elsewhere, ${what}: /finalize revokes the lease and finishes; /sync refuses it (422)`, async (t) => {
      const { app, reader } = await hook(t, CRED_VALUES);
      const req = withLease(mutate);
      const sync = await post(app, '/sync', req, 'json');
      assert.equal(sync.statusCode, 422, sync.body);
      const res = await post(app, '/finalize', req, 'json');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((res.json() as SyncResponse).finalized, true);
      assert.deepStrictEqual(reader.revoked, [`${CREDS}/old-lease`]);
    });
  }

  for (const [what, mutate, field] of [
    ['a path through sys/', (a: VaultApp) => (a.spec.vault.secrets[1]!.path = 'sys/leases/lookup'), 'spec.vault.secrets[1].path'],
    ['a role that is no role name', (a: VaultApp) => (a.spec.vault.role = 'billing app'), 'spec.vault.role'],
    ['no vault at all', (a: VaultApp) => delete (a.spec as { vault?: unknown }).vault, 'spec.vault'],
  ] as const) {
    it(`invalid in a field it reads, ${what}: /finalize refuses it (422, naming ${field}) and revokes nothing`, async (t) => {
      const { app, reader } = await hook(t, CRED_VALUES);
      const res = await post(app, '/finalize', withLease(mutate), 'json');
      assert.equal(res.statusCode, 422, res.body);
      assert.ok(res.json().message.includes(field), res.body);
      assert.deepStrictEqual(reader.revoked, []);
    });
  }
});
