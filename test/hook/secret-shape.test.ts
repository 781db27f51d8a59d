// spec.secret: the managed Secret's type, labels and annotations, and imagePullSecret.
// Whole syncs through the pure core, and the admission checks the hook shares with the CRD.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateVaultApp } from '../../src/api/validate.js';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { PathRead, VaultMaterial } from '../../src/hook/contract.js';
import { typeProblems, typeToWrite } from '../../src/hook/children/secret-shape.js';
import { sync } from '../../src/hook/sync.js';
import type { KubeObject, SyncConfig } from '../../src/hook/types.js';
import { b64, loadExample, request } from '../fixtures/requests.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5 };
const SECRET = 'billing-service-vault-secrets';
const REG = 'kv/data/billing/registry';
const DOCKER_JSON = '{"auths":{"registry.example":{"auth":"dTpw"}}}';

const kv2 = (data: Record<string, unknown>): PathRead => ({ ok: true, engine: 'kv2', data, version: 1 });
const material = (reads: Record<string, PathRead>): VaultMaterial => ({ auth: { ok: true }, reads });

/** The seed example as a registry credential: one key, .dockerconfigjson, from REG. */
function pullSecretApp(mutate: (a: VaultApp) => void = () => {}): VaultApp {
  const app = loadExample();
  app.spec.vault.secrets = [{ path: REG, key: 'config', targetKey: '.dockerconfigjson' }];
  app.spec.secret = { type: 'kubernetes.io/dockerconfigjson', imagePullSecret: true };
  mutate(app);
  return app;
}
const secretOf = (children: KubeObject[]) => children.find((c) => c.kind === 'Secret');
const podSpecOf = (children: KubeObject[]) => (children.find((c) => c.kind === 'Deployment')!.spec as any).template.spec;
const condition = (res: ReturnType<typeof sync>, type: string) => res.status.conditions!.find((c) => c.type === type)!;

describe("spec.secret: the Secret's shape", () => {
  it("without spec.secret the Secret is Opaque with only the hook's labels (the seed's behaviour)", () => {
    const app = loadExample();
    const res = sync(
      request(app),
      material({
        'kv/data/billing/database': kv2({ url: 'u' }),
        'kv/data/billing/provider-x': kv2({ key: 'k' }),
      }),
      NOW,
      config,
    );
    const s = secretOf(res.children)!;
    assert.equal(s.type, 'Opaque');
    assert.deepEqual(s.metadata.labels, { 'app.kubernetes.io/managed-by': 'vaultapp', 'vaultapp.techweaver.io/name': 'billing-service' });
    assert.equal(podSpecOf(res.children).imagePullSecrets, undefined);
  });

  it('a dockerconfigjson Secret has its type, and the pods pull with it', () => {
    const res = sync(request(pullSecretApp()), material({ [REG]: kv2({ config: DOCKER_JSON }) }), NOW, config);
    const s = secretOf(res.children)!;
    assert.equal(s.type, 'kubernetes.io/dockerconfigjson');
    assert.deepEqual(s.data, { '.dockerconfigjson': b64(DOCKER_JSON) });
    assert.deepEqual(podSpecOf(res.children).imagePullSecrets, [{ name: SECRET }]);
    assert.equal(condition(res, 'SecretsSynced').status, 'True');
  });

  it('imagePullSecrets the user wrote are kept, and ours is not listed twice', () => {
    const app = pullSecretApp((a) => {
      a.spec.deploymentSpec!.template.spec!.imagePullSecrets = [{ name: 'other' }, { name: SECRET }];
    });
    const res = sync(request(app), material({ [REG]: kv2({ config: DOCKER_JSON }) }), NOW, config);
    assert.deepEqual(podSpecOf(res.children).imagePullSecrets, [{ name: 'other' }, { name: SECRET }]);
  });

  it('a dockerconfigjson value that is not a JSON object is reported; nothing is created', () => {
    for (const bad of ['not json', '[1,2]', 'null', '"s"']) {
      const res = sync(request(pullSecretApp()), material({ [REG]: kv2({ config: bad }) }), NOW, config);
      assert.equal(secretOf(res.children), undefined, bad);
      const c = condition(res, 'SecretsSynced');
      assert.equal(c.reason, 'SecretTypeMismatch');
      assert.match(c.message, /the value of key \.dockerconfigjson is not a JSON object/);
      assert.ok(!c.message.includes(bad), 'the message never carries the value');
    }
  });

  it('a bad value from Vault keeps the Secret as observed, type and data', () => {
    const observed: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { name: SECRET, namespace: 'default' },
      data: { '.dockerconfigjson': b64(DOCKER_JSON) },
    };
    const res = sync(request(pullSecretApp(), [observed]), material({ [REG]: kv2({ config: '{' }) }), NOW, config);
    const s = secretOf(res.children)!;
    assert.equal(s.type, 'kubernetes.io/dockerconfigjson');
    assert.deepEqual(s.data, observed.data);
    assert.equal(condition(res, 'SecretsSynced').status, 'False');
  });

  it('a changed type (admitted by an older CRD) keeps the observed type and data, and says so', () => {
    const app = loadExample();
    app.spec.vault.secrets = [
      { path: REG, key: 'crt', targetKey: 'tls.crt' },
      { path: REG, key: 'key', targetKey: 'tls.key' },
    ];
    app.spec.secret = { type: 'kubernetes.io/tls' };
    const observed: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: SECRET, namespace: 'default' },
      data: { 'tls.crt': b64('old-crt'), 'tls.key': b64('old-key') },
    };
    const res = sync(request(app, [observed]), material({ [REG]: kv2({ crt: 'c', key: 'k' }) }), NOW, config);
    const s = secretOf(res.children)!;
    assert.equal(s.type, 'Opaque');
    assert.deepEqual(s.data, observed.data);
    const c = condition(res, 'SecretsSynced');
    assert.equal(c.reason, 'SecretTypeImmutable');
    assert.match(c.message, /has type Opaque and spec\.secret\.type is kubernetes\.io\/tls/);
  });

  it("labels and annotations go onto the Secret under the hook's own, which they cannot replace", () => {
    const app = loadExample();
    app.spec.secret = {
      labels: { team: 'billing', 'example.com/tier': 'gold' },
      annotations: { 'reloader.stakater.com/match': 'true', 'example.com/owner': 'billing team <billing@example.com>' },
    };
    const res = sync(
      request(app),
      material({
        'kv/data/billing/database': kv2({ url: 'u' }),
        'kv/data/billing/provider-x': kv2({ key: 'k' }),
      }),
      NOW,
      config,
    );
    const s = secretOf(res.children)!;
    assert.deepEqual(s.metadata.labels, {
      team: 'billing',
      'example.com/tier': 'gold',
      'app.kubernetes.io/managed-by': 'vaultapp',
      'vaultapp.techweaver.io/name': 'billing-service',
    });
    const annotations = s.metadata.annotations as Record<string, string>;
    assert.equal(annotations['reloader.stakater.com/match'], 'true');
    assert.equal(annotations['example.com/owner'], 'billing team <billing@example.com>');
    assert.ok(annotations['vaultapp.techweaver.io/state'], "the hook's state annotation is still there");
  });

  it('reserved keys that reach the pure core anyway (validation bypassed) are dropped, never written', () => {
    const app = loadExample();
    app.spec.secret = {
      labels: { 'app.kubernetes.io/managed-by': 'me', 'vaultapp.techweaver.io/name': 'x', 'controller-uid': 'x', ok: 'yes' },
      annotations: {
        'vaultapp.techweaver.io/state': '{"forged":1}',
        'vaultapp.techweaver.io/leases': '[]',
        'metacontroller.k8s.io/last-applied-configuration': '{}',
      },
    };
    const res = sync(
      request(app),
      material({
        'kv/data/billing/database': kv2({ url: 'u' }),
        'kv/data/billing/provider-x': kv2({ key: 'k' }),
      }),
      NOW,
      config,
    );
    const s = secretOf(res.children)!;
    assert.deepEqual(s.metadata.labels, { ok: 'yes', 'app.kubernetes.io/managed-by': 'vaultapp', 'vaultapp.techweaver.io/name': 'billing-service' });
    const annotations = s.metadata.annotations as Record<string, string>;
    assert.deepEqual(Object.keys(annotations), ['vaultapp.techweaver.io/state']);
    assert.notEqual(annotations['vaultapp.techweaver.io/state'], '{"forged":1}');
  });
});

describe('typeProblems: the keys each built-in type requires', () => {
  const data = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, b64('{}')]));
  const cases: [string, Record<string, string>, RegExp | null][] = [
    ['Opaque', {}, null],
    ['example.com/custom', {}, null],
    ['kubernetes.io/tls', data('tls.crt', 'tls.key'), null],
    ['kubernetes.io/tls', data('tls.crt'), /needs the key tls\.key/],
    ['kubernetes.io/basic-auth', data('username'), null],
    ['kubernetes.io/basic-auth', data('password'), null],
    ['kubernetes.io/basic-auth', data('user'), /needs the key one of username, password/],
    ['kubernetes.io/ssh-auth', data('ssh-privatekey'), null],
    ['kubernetes.io/ssh-auth', {}, /ssh-privatekey/],
    ['kubernetes.io/dockercfg', data('.dockercfg'), null],
    ['kubernetes.io/dockerconfigjson', data('.dockerconfigjson'), null],
    ['kubernetes.io/dockerconfigjson', { '.dockerconfigjson': b64('[]') }, /not a JSON object/],
  ];
  for (const [type, d, says] of cases) {
    it(`${type} with ${JSON.stringify(Object.keys(d))}: ${says ?? 'fine'}`, () => {
      const p = typeProblems(type, d, SECRET);
      if (says === null) assert.deepEqual(p, []);
      else assert.match(p[0]!.message, says);
    });
  }
  it('a key named __proto__ or constructor does not count as a required key being present', () => {
    assert.equal(typeProblems('kubernetes.io/ssh-auth', JSON.parse('{"__proto__":"x","constructor":"y"}'), SECRET).length, 1);
  });
});

describe('typeToWrite', () => {
  const app = (type?: string) => {
    const a = loadExample();
    if (type) a.spec.secret = { type };
    return a;
  };
  const observed = (type?: unknown) =>
    ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET }, ...(type === undefined ? {} : { type }) }) as KubeObject;
  it("no observed Secret: the spec's type", () =>
    assert.deepEqual(typeToWrite(app('kubernetes.io/tls'), undefined, SECRET), { type: 'kubernetes.io/tls', problems: [] }));
  it('same type: no problem', () => assert.deepEqual(typeToWrite(app(), observed('Opaque'), SECRET), { type: 'Opaque', problems: [] }));
  it("an observed Secret without a type field is taken as the spec's", () => assert.equal(typeToWrite(app(), observed(), SECRET).problems.length, 0));
  it('a non-string type on the observed Secret is not copied', () => assert.equal(typeToWrite(app(), observed({ x: 1 }), SECRET).type, 'Opaque'));
});

// The hook refuses what admission refuses (the CEL twins), with the same field.
describe('spec.secret validation (hostile and edge input)', () => {
  const withSecret = (secret: unknown, mutate: (a: any) => void = () => {}) => {
    const a: any = loadExample();
    a.spec.secret = secret;
    mutate(a);
    return a;
  };
  const fieldsOf = (obj: unknown) => {
    const r = validateVaultApp(obj);
    return r.ok ? 'ok' : [...new Set(r.errors.map((e) => e.field))].sort();
  };
  const cases: [string, unknown, string[] | 'ok', ((a: any) => void)?][] = [
    ['an empty spec.secret', {}, 'ok'],
    ['type Opaque', { type: 'Opaque' }, 'ok'],
    ['a custom type example.com/thing', { type: 'example.com/thing' }, 'ok'],
    ['type ""', { type: '' }, ['spec.secret.type']],
    ['type with a space', { type: 'kubernetes.io/ tls' }, ['spec.secret.type']],
    ['type of 254 characters', { type: 't'.repeat(254) }, ['spec.secret.type']],
    ['type service-account-token', { type: 'kubernetes.io/service-account-token' }, ['spec.secret.type']],
    ['type tls without tls.key', { type: 'kubernetes.io/tls' }, ['spec'], (a) => (a.spec.vault.secrets[0].targetKey = 'tls.crt')],
    [
      'type tls with both keys',
      { type: 'kubernetes.io/tls' },
      'ok',
      (a) => {
        a.spec.vault.secrets[0].targetKey = 'tls.crt';
        a.spec.vault.secrets[1].targetKey = 'tls.key';
      },
    ],
    ['type basic-auth with password only', { type: 'kubernetes.io/basic-auth' }, 'ok', (a) => (a.spec.vault.secrets[0].targetKey = 'password')],
    ['type basic-auth with neither', { type: 'kubernetes.io/basic-auth' }, ['spec']],
    ['type dockerconfigjson without .dockerconfigjson', { type: 'kubernetes.io/dockerconfigjson' }, ['spec']],
    ['imagePullSecret on an Opaque Secret', { imagePullSecret: true }, ['spec.secret']],
    ['imagePullSecret: false on an Opaque Secret', { imagePullSecret: false }, 'ok'],
    ['imagePullSecret "yes"', { imagePullSecret: 'yes' }, ['spec.secret.imagePullSecret']],
    ['a reserved label (managed-by)', { labels: { 'app.kubernetes.io/managed-by': 'me' } }, ['spec.secret.labels']],
    ['a reserved label (the name label)', { labels: { 'vaultapp.techweaver.io/name': 'other' } }, ['spec.secret.labels']],
    ["a reserved label (a subdomain of the hook's)", { labels: { 'x.vaultapp.techweaver.io/a': 'b' } }, ['spec.secret.labels']],
    ['a label key with two slashes', { labels: { 'a/b/c': 'x' } }, ['spec.secret.labels']],
    ['a label value of 64 characters', { labels: { a: 'v'.repeat(64) } }, ['spec.secret.labels.a']],
    ['a label value that is a number', { labels: { a: 1 } }, ['spec.secret.labels.a']],
    ['33 labels', { labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v'])) }, ['spec.secret.labels']],
    ['labels __proto__ and constructor (valid keys, not the prototype)', { labels: JSON.parse('{"__proto__":"a","constructor":"b"}') }, ['spec.secret.labels']],
    ["the hook's state annotation", { annotations: { 'vaultapp.techweaver.io/state': '{}' } }, ['spec.secret.annotations']],
    ['the lease annotation', { annotations: { 'vaultapp.techweaver.io/leases': '[]' } }, ['spec.secret.annotations']],
    ["Metacontroller's last-applied annotation", { annotations: { 'metacontroller.k8s.io/last-applied-configuration': '{}' } }, ['spec.secret.annotations']],
    ['an annotation key with a space', { annotations: { 'a b': 'x' } }, ['spec.secret.annotations']],
    ['an annotation value of 4096 characters', { annotations: { a: 'v'.repeat(4096) } }, 'ok'],
    ['an annotation value of 4097 characters', { annotations: { a: 'v'.repeat(4097) } }, ['spec.secret.annotations.a']],
    ['an annotation value that is an object', { annotations: { a: { b: 1 } } }, ['spec.secret.annotations.a']],
    ['spec.secret a list', [], ['spec.secret']],
  ];
  for (const [name, secret, expected, mutate] of cases) {
    it(name, () => assert.deepEqual(fieldsOf(withSecret(secret, mutate)), expected));
  }
});
