// spec.vault.dataFrom: every key of a KV secret into the Secret, prefixed or not;
// explicit targetKeys win and every skipped key is reported by key and path, never
// by value; the refresh state covers the keys it wrote, so a sync inside the
// interval changes nothing and edited data is read again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateVaultApp } from '../../src/api/validate.js';
import { MAX_DATA_FROM_KEYS, type VaultApp } from '../../src/api/vaultapp-schema.js';
import type { PathRead, VaultMaterial } from '../../src/hook/contract.js';
import { planVaultWork } from '../../src/hook/plan.js';
import { specDigest, STATE_ANNOTATION } from '../../src/hook/carried-state/refresh-state.js';
import { sync } from '../../src/hook/sync.js';
import type { KubeObject, SyncConfig, SyncResponse } from '../../src/hook/types.js';
import { b64, loadExample, request } from '../fixtures/requests.js';

const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 60, errorBackoffMinSeconds: 5, refreshSeconds: 300 };
const T0 = Date.parse('2026-11-27T12:00:00Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const DB = 'kv/data/billing/database';
const PX = 'kv/data/billing/provider-x';
const ALL = 'kv/data/billing/all';
const LEASED = 'database/creds/billing';

const kv2 = (data: Record<string, unknown>): PathRead => ({ ok: true, engine: 'kv2', data, version: 1 });
const SECRET_VALUES = { url: 'postgres://db/billing', user: 'billing', pass: 's3cr3t-VALUE', port: 5432, opts: { ssl: true } };
const material = (all: Record<string, unknown> = SECRET_VALUES): VaultMaterial => ({
  auth: { ok: true },
  reads: { [DB]: kv2({ url: 'postgres://db/billing' }), [PX]: kv2({ key: 'px-key-1' }), [ALL]: kv2(all) },
});
const kept = (paths: string[]): VaultMaterial => ({
  auth: { ok: true },
  vaultSkipped: true,
  reads: Object.fromEntries(paths.map((p): [string, PathRead] => [p, { ok: true, unchanged: true }])),
});

function withDataFrom(dataFrom: { path: string; prefix?: string }[], secrets?: VaultApp['spec']['vault']['secrets']): VaultApp {
  const app = loadExample();
  app.spec.vault.dataFrom = dataFrom;
  if (secrets) app.spec.vault.secrets = secrets;
  return app;
}
const secretOf = (children: KubeObject[]): KubeObject => children.find((c) => c.kind === 'Secret')!;
const dataOf = (res: SyncResponse): Record<string, string> => secretOf(res.children).data as Record<string, string>;
const cond = (res: SyncResponse, type: string) => res.status.conditions!.find((c) => c.type === type)!;
const settle = (app: VaultApp, res: SyncResponse) => ({ app: { ...app, status: res.status }, observed: res.children.map((c) => structuredClone(c)) });
const editSecret = (observed: KubeObject[], edit: (data: Record<string, string>) => Record<string, string>): KubeObject[] =>
  observed.map((c) => (c.kind === 'Secret' ? { ...c, data: edit({ ...(c.data as Record<string, string>) }) } : c));

describe('dataFrom copies every key of a path', () => {
  it('each key as a Secret key, under the prefix; numbers and objects as JSON, as the peers write them', () => {
    const res = sync(request(withDataFrom([{ path: ALL, prefix: 'all_' }])), material(), at(0), config);
    assert.deepStrictEqual(dataOf(res), {
      db_url: b64('postgres://db/billing'),
      provider_x_api_key: b64('px-key-1'),
      all_url: b64('postgres://db/billing'),
      all_opts: b64('{"ssl":true}'),
      all_pass: b64('s3cr3t-VALUE'),
      all_port: b64('5432'),
      all_user: b64('billing'),
    });
    assert.deepStrictEqual([cond(res, 'SecretsSynced').status, cond(res, 'SecretsSynced').reason], ['True', 'Synced']);
    assert.match(cond(res, 'SecretsSynced').message, /^7 keys from 3 Vault paths/);
  });

  it('a VaultApp of dataFrom alone (secrets empty) is valid and syncs', () => {
    const app = withDataFrom([{ path: ALL }], []);
    assert.equal(validateVaultApp(app).ok, true);
    const res = sync(request(app), material({ a: '1', b: '2' }), at(0), config);
    assert.deepStrictEqual(dataOf(res), { a: b64('1'), b: b64('2') });
  });

  it('an explicit targetKey wins over the same key from dataFrom; the collision is reported by key and path, never by value', () => {
    // db_url is the seed's targetKey; dataFrom with prefix db_ gives db_url as well.
    const res = sync(request(withDataFrom([{ path: ALL, prefix: 'db_' }])), material({ url: 'postgres://other/OTHER-VALUE', user: 'u' }), at(0), config);
    assert.equal(dataOf(res).db_url, b64('postgres://db/billing'), "the explicit entry's value");
    assert.equal(dataOf(res).db_user, b64('u'));
    const c = cond(res, 'SecretsSynced');
    assert.deepStrictEqual([c.status, c.reason], ['True', 'SyncedWithSkippedKeys']);
    assert.match(c.message, /key "url" at path "kv\/data\/billing\/all" \(dataFrom\[0\]\): "db_url" is a targetKey of vault.secrets, which wins/);
    assert.doesNotMatch(c.message, /OTHER-VALUE|postgres/);
    assert.notEqual(cond(res, 'Ready').reason, 'SyncedWithSkippedKeys', 'a skipped key does not hold back Ready');
  });

  it('two dataFrom entries giving one key: the first wins and the second is reported', () => {
    const app = withDataFrom([{ path: ALL }, { path: PX }], []);
    const res = sync(request(app), material({ key: 'from-all' }), at(0), config);
    assert.deepStrictEqual(dataOf(res), { key: b64('from-all') });
    assert.match(
      cond(res, 'SecretsSynced').message,
      /key "key" at path "kv\/data\/billing\/provider-x" \(dataFrom\[1\]\): "key" comes from dataFrom\[0\] already/,
    );
  });

  it('keys that are not Secret keys, and null values, are reported and not written; the others are', () => {
    const long = 'k'.repeat(300);
    const res = sync(
      request(withDataFrom([{ path: ALL }], [])),
      material({ 'a/b': 'x', [long]: 'y', 'with space': 'z', nothing: null, '..': 'd', ok: 'fine' }),
      at(0),
      config,
    );
    assert.deepStrictEqual(dataOf(res), { ok: b64('fine') });
    const m = cond(res, 'SecretsSynced').message;
    assert.match(m, /key "a\/b" at path "kv\/data\/billing\/all" \(dataFrom\[0\]\): "a\/b" is not a Secret key/);
    assert.match(m, /key "with space" .* is not a Secret key/);
    assert.match(m, /key "nothing" .* is null/);
    assert.match(m, /key "k{64}…"/, 'a long name is quoted by its start only');
    assert.ok(m.length < 4096);
  });

  it('many skipped keys: eight are listed, the rest counted', () => {
    const bad = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`bad/${i}`, 'x']));
    const m = cond(sync(request(withDataFrom([{ path: ALL }])), material({ ...bad, fine: '1' }), at(0), config), 'SecretsSynced').message;
    assert.equal(m.match(/is not a Secret key/g)!.length, 8);
    assert.match(m, /; and 22 more$/);
  });

  it('keys named __proto__, constructor and prototype are skipped and reported by name, never by value; the others are copied', () => {
    const data = JSON.parse('{"__proto__":"p-VALUE","constructor":"c-VALUE","prototype":"pr-VALUE","toString":"t"}') as Record<string, unknown>;
    const res = sync(request(withDataFrom([{ path: ALL }], [])), material(data), at(0), config);
    const out = dataOf(res);
    assert.deepStrictEqual(Object.keys(out), ['toString']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    const c = cond(res, 'SecretsSynced');
    assert.equal(c.status, 'True');
    for (const name of ['__proto__', 'constructor', 'prototype'])
      assert.match(
        c.message,
        new RegExp(`key "${name}" at path "kv/data/billing/all" \\(dataFrom\\[0\\]\\): "${name}" names an object's prototype, a key the hook never writes`),
      );
    assert.doesNotMatch(JSON.stringify(res.status), /VALUE/);
  });

  it('a prefix that spells a refused key with the name is skipped too ("__" + "proto__")', () => {
    const res = sync(request(withDataFrom([{ path: ALL, prefix: '__' }], [])), material({ proto__: 'x', ok: 'y' }), at(0), config);
    assert.deepStrictEqual(Object.keys(dataOf(res)), ['__ok']);
    assert.match(
      cond(res, 'SecretsSynced').message,
      /key "proto__" at path "kv\/data\/billing\/all" \(dataFrom\[0\]\): "__proto__" names an object's prototype/,
    );
  });

  it(`more than ${MAX_DATA_FROM_KEYS} keys in all is refused, not cut: the Secret keeps its data and the condition says why`, () => {
    const app = withDataFrom([{ path: ALL }]);
    const first = settle(app, sync(request(app), material({ a: '1' }), at(0), config));
    // The work is counted, not timed: the refusal reads no value of the path, only its keys.
    let valuesRead = 0;
    const huge = new Proxy(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'v'])), {
      get(target, key, receiver) {
        if (typeof key === 'string' && Object.hasOwn(target, key)) valuesRead++;
        return Reflect.get(target, key, receiver);
      },
    });
    const res = sync(request(first.app, first.observed), material(huge), at(400), config);
    assert.ok(valuesRead <= MAX_DATA_FROM_KEYS, `${valuesRead} values read for a refusal`);
    const c = cond(res, 'SecretsSynced');
    assert.deepStrictEqual([c.status, c.reason], ['False', 'TooManyKeys']);
    assert.match(c.message, /path "kv\/data\/billing\/all" \(dataFrom\[0\]\) holds 100000 keys: dataFrom copies at most 256 keys/);
    assert.deepStrictEqual(secretOf(res.children).data, secretOf(first.observed).data);
  });

  it('data over the 1 MiB a Secret holds is refused; the Secret keeps its data', () => {
    const big = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`blob${i}`, 'x'.repeat(300_000)]));
    const res = sync(request(withDataFrom([{ path: ALL }])), material(big), at(0), config);
    assert.equal(cond(res, 'SecretsSynced').reason, 'SecretTooLarge');
    assert.equal(secretOf(res.children), undefined, 'nothing created');
  });

  it('a dataFrom path that gives a lease (a dynamic credential) is refused', () => {
    const app = withDataFrom([{ path: LEASED }]);
    const m: VaultMaterial = {
      ...material(),
      reads: {
        ...material().reads,
        [LEASED]: { ok: true, engine: 'leased', data: { username: 'u' }, lease: { id: `${LEASED}/l1`, durationSeconds: 60, renewable: true } },
      },
    };
    const c = cond(sync(request(app), m, at(0), config), 'SecretsSynced');
    assert.equal(c.reason, 'NotKeyValue');
    assert.match(c.message, /path "database\/creds\/billing" \(dataFrom\[0\]\) gives a dynamic credential/);
  });

  it('a failed read names the dataFrom entry; the Secret keeps its data', () => {
    const app = withDataFrom([{ path: ALL }]);
    const first = settle(app, sync(request(app), material({ a: '1' }), at(0), config));
    const m: VaultMaterial = {
      ...material(),
      reads: {
        ...material().reads,
        [ALL]: { ok: false, problem: { code: 'VAULT_PERMISSION_DENIED', message: `cannot read path "${ALL}": permission denied (403)` } },
      },
    };
    const res = sync(request(first.app, first.observed), m, at(400), config);
    assert.equal(
      cond(res, 'SecretsSynced').message,
      `cannot read path "${ALL}": permission denied (403) (dataFrom[0]); Secret billing-service-vault-secrets keeps its current data`,
    );
    assert.deepStrictEqual(secretOf(res.children).data, secretOf(first.observed).data);
  });
});

describe('dataFrom under the refresh interval', () => {
  const app = withDataFrom([{ path: ALL, prefix: 'all_' }]);
  const PATHS = [DB, PX, ALL];
  const firstRead = () => {
    const res = sync(request(app), material({ a: '1', b: '2', 'bad/key': 'x' }), at(0), config);
    return { ...settle(app, res), res };
  };

  it('inside the interval the plan keeps the path, and the answer is the previous one byte for byte (the skipped-key report included)', () => {
    const { app: a0, observed, res: first } = firstRead();
    const { app: a1 } = settle(a0, sync(request(a0, observed), kept(PATHS), at(1), config));
    const plan = planVaultWork(request(a1, observed), at(30), config);
    assert.deepStrictEqual(
      Object.values(plan).map((p) => p.action),
      ['keep', 'keep', 'keep'],
    );
    const res = sync(request(a1, observed), kept(PATHS), at(30), config);
    assert.deepStrictEqual(res.children, first.children);
    assert.deepStrictEqual(res.status, a1.status);
    assert.equal(cond(res, 'SecretsSynced').reason, 'SyncedWithSkippedKeys');
  });

  const rereads: [string, (observed: KubeObject[]) => KubeObject[]][] = [
    ['a copied key edited', (o) => editSecret(o, (d) => ({ ...d, all_a: b64('edited') }))],
    ['a copied key deleted', (o) => editSecret(o, ({ all_a: _gone, ...d }) => d)],
    [
      'the key list in the state forged (a key it never wrote)',
      (o) =>
        o.map((c) => {
          if (c.kind !== 'Secret') return c;
          const st = JSON.parse(c.metadata.annotations![STATE_ANNOTATION]!) as { dataFrom: { keys: Record<string, string[]> } };
          st.dataFrom.keys[ALL] = [...st.dataFrom.keys[ALL]!, 'db_url'];
          return { ...c, metadata: { ...c.metadata, annotations: { ...c.metadata.annotations, [STATE_ANNOTATION]: JSON.stringify(st) } } };
        }),
    ],
  ];
  for (const [name, change] of rereads) {
    it(`${name}: every static path is read again`, () => {
      const { app: a, observed } = firstRead();
      const plan = planVaultWork(request(a, change(observed)), at(30), config);
      assert.deepStrictEqual(
        Object.values(plan).map((p) => p.action),
        ['read', 'read', 'read'],
      );
    });
  }

  it("a key someone else added to the Secret is not the hook's: the path stays kept (no read at every sync)", () => {
    const { app: a, observed } = firstRead();
    const plan = planVaultWork(
      request(
        a,
        editSecret(observed, (d) => ({ ...d, all_extra: b64('mine') })),
      ),
      at(30),
      config,
    );
    assert.deepStrictEqual(
      Object.values(plan).map((p) => p.action),
      ['keep', 'keep', 'keep'],
    );
  });

  it('a new key in Vault appears at the next read; a key removed from Vault goes', () => {
    const { app: a, observed } = firstRead();
    const res = sync(request(a, observed), material({ b: '2', c: '3' }), at(300), config);
    assert.deepStrictEqual(Object.keys(dataOf(res)).sort(), ['all_b', 'all_c', 'db_url', 'provider_x_api_key']);
  });

  it('the spec digest covers dataFrom (path and prefix), and is unchanged for a VaultApp without it', () => {
    const base = loadExample();
    const digests = [base, withDataFrom([{ path: ALL }]), withDataFrom([{ path: ALL, prefix: 'x_' }]), withDataFrom([{ path: PX }])].map(specDigest);
    assert.equal(new Set(digests).size, 4);
    assert.equal(specDigest(withDataFrom([{ path: ALL, prefix: '' }])), specDigest(withDataFrom([{ path: ALL }])), 'no prefix is the empty prefix');
  });
});

describe('dataFrom in the schema', () => {
  const invalid: [string, { path: string; prefix?: string }[], RegExp][] = [
    ['a path under sys/', [{ path: 'sys/policies/acl/root' }], /spec.vault.dataFrom\[0\].path: path must not reach Vault's system backends/],
    ["a namespace's auth/", [{ path: 'ns1/auth/token/lookup-self' }], /spec.vault.dataFrom\[0\].path: path must not reach Vault's system backends/],
    [
      'a path with ..',
      [{ path: 'kv/data/../sys/x' }],
      /spec.vault.dataFrom\[0\].path: path must not begin or end with '\/' or hold '\/\/', and none of its segments may be '\.' or begin with '\.\.'/,
    ],
    ['a prefix with a slash', [{ path: ALL, prefix: 'a/' }], /spec.vault.dataFrom\[0\].prefix: prefix may hold only letters, digits, '-', '_' and '\.'/],
    ['an empty list', [], /spec.vault.dataFrom: must NOT have fewer than 1 items/],
  ];
  for (const [name, dataFrom, want] of invalid) {
    it(`refuses ${name}`, () => {
      const r = validateVaultApp(withDataFrom(dataFrom));
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.errors.map((e) => `${e.field}: ${e.message}`).join('\n'), want);
    });
  }

  it('a typed Secret whose required keys may come from dataFrom is admitted (the hook checks the keys it gets)', () => {
    const app = withDataFrom([{ path: ALL }], []);
    app.spec.secret = { type: 'kubernetes.io/tls' };
    assert.equal(validateVaultApp(app).ok, true);
    const res = sync(request(app), material({ 'tls.crt': 'c' }), at(0), config);
    assert.equal(cond(res, 'SecretsSynced').reason, 'SecretTypeMismatch');
    assert.match(cond(res, 'SecretsSynced').message, /needs the key tls.key/);
  });
});
