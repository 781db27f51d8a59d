// spec.vault.templates: Secret keys rendered with Liquid from the values of named entries.
// A dynamic credential's username and password come from one lease, so the connection
// string changes with the lease and not otherwise; a template error names its key, never
// a value, and the Secret keeps its data; hostile templates are bounded in time, memory
// and output and cannot read beyond their values (no prototype, no file system, no clock).
// Outcomes only: how long a render took is the bench's (bench/templates.ts), not a test's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateVaultApp } from '../../src/api/validate.js';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { PathRead, VaultMaterial } from '../../src/hook/contract.js';
import { planVaultWork } from '../../src/hook/plan.js';
import { STATE_ANNOTATION } from '../../src/hook/carried-state/refresh-state.js';
import { sync } from '../../src/hook/sync.js';
import { Liquid } from 'liquidjs';
import { FILTERS, MAX_INPUT_CHARS, MAX_OUTPUT_BYTES, renderTemplates } from '../../src/hook/secret-data/templates.js';
import type { KubeObject, SyncConfig, SyncResponse } from '../../src/hook/types.js';
import { b64, loadExample, request } from '../fixtures/requests.js';

const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 60, errorBackoffMinSeconds: 5, refreshSeconds: 300 };
const T0 = Date.parse('2026-11-27T12:00:00Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const DB = 'kv/data/billing/database';
const PX = 'kv/data/billing/provider-x';
const CREDS = 'database/creds/billing';
const URL_TEMPLATE = 'postgresql://{{ db.username }}:{{ db.password }}@db:5432/app';

/** The example: the connection string only; username and password feed the template. */
function appWithTemplate(templates: Record<string, string> = { DATABASE_URL: URL_TEMPLATE }): VaultApp {
  const app = loadExample();
  app.spec.vault.secrets = [
    { path: DB, key: 'url', targetKey: 'db_url' },
    { path: CREDS, key: 'username', name: 'db' },
    { path: CREDS, key: 'password', name: 'db' },
  ];
  app.spec.vault.templates = templates;
  return app;
}
const lease = (n: number, extra: Record<string, unknown> = {}): PathRead => ({
  ok: true,
  engine: 'leased',
  data: { username: `v-user-${n}`, password: `pw-SECRET-${n}`, ...extra },
  lease: { id: `${CREDS}/lease-${n}`, durationSeconds: 3600, renewable: true },
});
const material = (n = 1, extra: Record<string, unknown> = {}): VaultMaterial => ({
  auth: { ok: true },
  reads: { [DB]: { ok: true, engine: 'kv2', data: { url: 'postgres://db/billing' }, version: 1 }, [CREDS]: lease(n, extra) },
});
const secretOf = (children: KubeObject[]): KubeObject | undefined => children.find((c) => c.kind === 'Secret');
const values = (res: SyncResponse): Record<string, string> =>
  Object.fromEntries(
    Object.entries((secretOf(res.children)?.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
const cond = (res: SyncResponse, type: string) => res.status.conditions!.find((c) => c.type === type)!;
const settle = (app: VaultApp, res: SyncResponse) => ({ app: { ...app, status: res.status }, observed: res.children.map((c) => structuredClone(c)) });
const actions = (app: VaultApp, observed: KubeObject[], t: number) =>
  Object.fromEntries(Object.entries(planVaultWork(request(app, observed), at(t), config)).map(([p, v]) => [p, v.action]));

describe('templates from a dynamic credential', () => {
  it("the issue's example: one key from one lease's username and password; template-only values are not in the Secret", () => {
    const app = appWithTemplate();
    assert.equal(validateVaultApp(app).ok, true);
    const res = sync(request(app), material(1), at(0), config);
    assert.deepStrictEqual(values(res), { db_url: 'postgres://db/billing', DATABASE_URL: 'postgresql://v-user-1:pw-SECRET-1@db:5432/app' });
    assert.deepStrictEqual([cond(res, 'SecretsSynced').status, cond(res, 'SecretsSynced').reason], ['True', 'Synced']);
  });

  it('while the lease is in use nothing is read and the string stands; a new lease changes username and password together', () => {
    const app = appWithTemplate();
    const first = settle(app, sync(request(app), material(1), at(0), config));
    assert.deepStrictEqual(actions(first.app, first.observed, 30), { [DB]: 'keep', [CREDS]: 'reuse' });
    const kept: VaultMaterial = {
      auth: { ok: true },
      vaultSkipped: true,
      reads: {
        [DB]: { ok: true, unchanged: true },
        [CREDS]: { ok: true, engine: 'leased', kept: JSON.parse(secretOf(first.observed)!.metadata.annotations!['vaultapp.techweaver.io/leases']!)[0] },
      },
    };
    const again = sync(request(first.app, first.observed), kept, at(30), config);
    assert.deepStrictEqual(secretOf(again.children), secretOf(first.observed), 'byte for byte');
    const next = sync(request(first.app, first.observed), material(2), at(400), config);
    assert.equal(values(next).DATABASE_URL, 'postgresql://v-user-2:pw-SECRET-2@db:5432/app');
  });

  it('when a static value the templates use is read, the template-only credential is read with it (its values are nowhere else)', () => {
    const app = appWithTemplate({ DATABASE_URL: '{{ kv.url }}?user={{ db.username }}' });
    app.spec.vault.secrets[0]!.name = 'kv';
    const first = settle(app, sync(request(app), material(1), at(0), config));
    assert.deepStrictEqual(actions(first.app, first.observed, 30), { [DB]: 'keep', [CREDS]: 'reuse' });
    assert.deepStrictEqual(actions(first.app, first.observed, 300), { [DB]: 'read', [CREDS]: 'read' }, 'at the refresh');
  });

  it('template-only values of a KV path: inside the refresh interval nothing is read and nothing changes', () => {
    const app = loadExample();
    app.spec.vault.secrets = [
      { path: DB, key: 'url', name: 'kv' },
      { path: PX, key: 'key', targetKey: 'px' },
    ];
    app.spec.vault.templates = { URL: '{{ kv.url }}/app' };
    const m: VaultMaterial = {
      auth: { ok: true },
      reads: {
        [DB]: { ok: true, engine: 'kv2', data: { url: 'postgres://db' }, version: 1 },
        [PX]: { ok: true, engine: 'kv2', data: { key: 'k' }, version: 1 },
      },
    };
    const first = settle(app, sync(request(app), m, at(0), config));
    assert.deepStrictEqual(values({ children: first.observed } as SyncResponse), { URL: 'postgres://db/app', px: 'k' });
    assert.deepStrictEqual(actions(first.app, first.observed, 30), { [DB]: 'keep', [PX]: 'keep' });
    const keptAll: VaultMaterial = {
      auth: { ok: true },
      vaultSkipped: true,
      reads: { [DB]: { ok: true, unchanged: true }, [PX]: { ok: true, unchanged: true } },
    };
    assert.deepStrictEqual(secretOf(sync(request(first.app, first.observed), keptAll, at(30), config).children), secretOf(first.observed));
    assert.deepStrictEqual(actions(first.app, first.observed, 300), { [DB]: 'read', [PX]: 'read' });
  });

  it('a changed template renders at the next sync: the template-only credential is read for it', () => {
    const app = appWithTemplate();
    const first = settle(app, sync(request(app), material(1), at(0), config));
    const changed = appWithTemplate({ DATABASE_URL: `${URL_TEMPLATE}?sslmode=require` });
    changed.status = first.app.status;
    assert.deepStrictEqual(actions(changed, first.observed, 30), { [DB]: 'read', [CREDS]: 'read' });
    assert.equal(
      values(sync(request(changed, first.observed), material(2), at(30), config)).DATABASE_URL,
      'postgresql://v-user-2:pw-SECRET-2@db:5432/app?sslmode=require',
    );
  });

  it('an output edited in the Secret is rendered again (the refresh state covers the outputs)', () => {
    const app = appWithTemplate();
    const first = settle(app, sync(request(app), material(1), at(0), config));
    const edited = first.observed.map((c) => (c.kind === 'Secret' ? { ...c, data: { ...(c.data as object), DATABASE_URL: b64('postgresql://evil') } } : c));
    assert.equal(actions(first.app, edited, 30)[CREDS], 'read');
  });

  it('the spec digest of the refresh state covers the templates', () => {
    const a = settle(appWithTemplate(), sync(request(appWithTemplate()), material(1), at(0), config));
    const b = settle(
      appWithTemplate({ DATABASE_URL: 'x{{ db.username }}' }),
      sync(request(appWithTemplate({ DATABASE_URL: 'x{{ db.username }}' })), material(1), at(0), config),
    );
    const spec = (o: KubeObject[]) => (JSON.parse(secretOf(o)!.metadata.annotations![STATE_ANNOTATION]!) as { spec: string }).spec;
    assert.notEqual(spec(a.observed), spec(b.observed));
  });

  it('values by any key name: {{ db["api-key"] }}; a name shared by entries of one path is one object', () => {
    const app = appWithTemplate({ K: '{{ db["api-key"] }}/{{ db.username }}' });
    app.spec.vault.secrets.push({ path: CREDS, key: 'api-key', name: 'db' });
    assert.equal(values(sync(request(app), material(1, { 'api-key': 'ak' }), at(0), config)).K, 'ak/v-user-1');
  });
});

describe('a template error', () => {
  const errorCases: [string, string, RegExp][] = [
    [
      'an unknown variable (strict: a typo never renders an empty user)',
      'postgresql://{{ db.usernme }}@db',
      /^template "DATABASE_URL": undefined variable at line 1, column 17;/,
    ],
    ['an unknown entry name', '{{ other.password }}', /^template "DATABASE_URL": undefined variable at line 1, column 4;/],
    ['a parse error', '{% if db.username %}no end', /^template "DATABASE_URL": tag not closed at line 1, column 1;/],
    ['a syntax error on line 2', 'a\n  {{ db.password | ', /^template "DATABASE_URL": syntax error at line 2, column 3;/],
    [
      'an unknown filter',
      '{{ db.password | nope }}',
      /^template "DATABASE_URL": unknown filter at line 1, column 1 \(docs\/templates\.md lists the filters a template may use\);/,
    ],
  ];
  for (const [name, template, says] of errorCases) {
    it(`${name}: TemplateError naming the key, never a value; the Secret keeps its data`, () => {
      const good = appWithTemplate();
      const first = settle(good, sync(request(good), material(1), at(0), config));
      const bad = appWithTemplate({ DATABASE_URL: template });
      bad.status = first.app.status;
      const res = sync(request(bad, first.observed), material(2), at(30), config);
      const c = cond(res, 'SecretsSynced');
      assert.deepStrictEqual([c.status, c.reason], ['False', 'TemplateError']);
      assert.match(c.message, says);
      assert.doesNotMatch(JSON.stringify(res.status), /pw-SECRET|v-user/);
      assert.deepStrictEqual(secretOf(res.children)!.data, secretOf(first.observed)!.data, 'nothing lost');
    });
  }

  it('a template key that a dataFrom key also gives: the template wins, the dataFrom key is reported', () => {
    const app = appWithTemplate();
    app.spec.vault.dataFrom = [{ path: PX }];
    const m = material(1);
    m.reads[PX] = { ok: true, engine: 'kv2', data: { DATABASE_URL: 'from-kv', other: 'o' }, version: 1 };
    const res = sync(request(app), m, at(0), config);
    assert.equal(values(res).DATABASE_URL, 'postgresql://v-user-1:pw-SECRET-1@db:5432/app');
    assert.equal(values(res).other, 'o');
    assert.match(
      cond(res, 'SecretsSynced').message,
      /key "DATABASE_URL" at path "kv\/data\/billing\/provider-x" \(dataFrom\[0\]\): "DATABASE_URL" is a key of vault.templates, which wins/,
    );
  });
});

describe('hostile templates are bounded and see their values only', () => {
  const v = { db: { username: 'v-user-1', password: 'pw-SECRET-1' } };
  const bounded: [string, string, RegExp][] = [
    // A limit of LiquidJS's, or the deadline when the machine is slow enough that it comes first.
    ['a loop of 10^8', '{% for i in (1..100000000) %}x{% endfor %}', /memory limit exceeded|cut off/],
    ['nested loops of 10^4 × 10^4', '{% for i in (1..10000) %}{% for j in (1..10000) %}x{% endfor %}{% endfor %}', /limit exceeded|cut off/],
    [
      'a string doubled 30 times',
      '{% assign s = "xxxxxxxxxx" %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}{{ s }}',
      /memory limit exceeded|cut off/,
    ],
    ['the password 200,000 times', '{% for i in (1..200000) %}{{ db.password }}{% endfor %}', /limit exceeded|more than|cut off/],
    ['a template longer than the parse limit', `${'{{ db.username }}'.repeat(600)}`, /^template "K": parse limit exceeded$/],
    // 92 characters that held the event loop 11.9 s (a tenant expression per item, uncharged).
    [
      "the issue's where_exp over a range",
      '{% assign a = (1..10000) %}{% assign b = a | where_exp: "x", "a contains 0" %}{{ b | size }}',
      /^template "K": unknown filter at line 1, column 28/,
    ],
    ['group_by_exp', '{% assign a = (1..450000) %}{{ a | group_by_exp: "x", "x" | size }}', /^template "K": unknown filter at line 1, column 29/],
  ];
  for (const [name, template, says] of bounded) {
    it(`${name}: refused, nothing rendered`, () => {
      const r = renderTemplates({ K: template }, v);
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0]!.message, says);
      assert.deepStrictEqual(r.data, {});
    });
  }

  it('32 hostile templates together use the per-sync budget, not 32 times the per-template limit', () => {
    const loop = '{% for i in (1..10000) %}{% for j in (1..10000) %}x{% endfor %}{% endfor %}';
    const r = renderTemplates(Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`t${String(i).padStart(2, '0')}`, loop])), v);
    assert.equal(r.problems.length, 32);
    assert.match(r.problems.at(-1)!.message, /^template "t31": not rendered, the templates before it used the 100 ms all templates of a VaultApp may render/);
  });

  it(`an output over ${MAX_OUTPUT_BYTES} bytes is refused`, () => {
    const r = renderTemplates({ K: '{% assign s = "xxxxxxxxxx" %}{% for i in (1..12) %}{% assign s = s | append: s %}{% endfor %}{{ s }}{{ s }}' }, v);
    assert.deepStrictEqual(
      r.problems.map((p) => p.message),
      ['template "K": renders 81920 bytes, more than the 65536 a template may'],
    );
  });

  it('deep nesting inside the parse limit renders (no stack overflow)', () => {
    const depth = 300;
    const r = renderTemplates({ K: `${'{% if true %}'.repeat(depth)}ok${'{% endif %}'.repeat(depth)}` }, v);
    assert.deepStrictEqual(r.problems, []);
    assert.equal(Buffer.from(r.data.K!, 'base64').toString(), 'ok');
  });

  const escapes = [
    '{{ db.constructor }}',
    '{{ db.__proto__ }}',
    '{{ db.password.constructor }}',
    '{{ db.constructor.name }}',
    '{{ db["__proto__"] }}',
    '{{ db.hasOwnProperty }}',
    '{{ db.toString }}',
    '{{ process }}',
    '{{ global }}',
    '{{ globalThis }}',
    '{{ this }}',
    '{{ constructor }}',
    '{{ settings }}',
    '{{ env }}',
  ];
  for (const template of escapes) {
    it(`${template} reads nothing beyond the values`, () => {
      const r = renderTemplates({ K: template }, v);
      assert.equal(r.problems.length, 1, `rendered: ${r.data.K && Buffer.from(r.data.K, 'base64').toString()}`);
      assert.match(r.problems[0]!.message, /undefined variable/);
    });
  }

  const noFiles: [string, RegExp][] = [
    ['{% include "/etc/passwd" %}', /^template "K": unknown tag at line 1, column 1$/],
    ['{% render "/etc/passwd" %}', /^template "K": unknown tag at line 1, column 1$/],
    ['{% layout "/etc/passwd" %}', /^template "K": unknown tag at line 1, column 1$/],
    ['{{ "now" | date: "%s" }}', /^template "K": unknown filter at line 1, column 1/],
  ];
  for (const [template, says] of noFiles) {
    it(`${template}: no file system, no clock`, () => assert.match(renderTemplates({ K: template }, v).problems[0]?.message ?? '', says));
  }

  it('what one template assigns, the next does not see', () => {
    const r = renderTemplates({ A: '{% assign leaked = db.password %}a', B: '{{ leaked }}' }, v);
    assert.match(r.problems[0]?.message ?? '', /^template "B": undefined variable at line 1, column 4$/);
  });

  it('an error quotes no template text either (here the template holds the value)', () => {
    const r = renderTemplates({ K: '{% if db.password == "pw-SECRET-1" %}unclosed' }, v);
    assert.deepStrictEqual(
      r.problems.map((p) => p.message),
      ['template "K": tag not closed at line 1, column 1'],
    );
  });
});

describe('the deadline: a template cannot hold the event loop past the budget', () => {
  const v = { db: { username: 'v-user-1', password: 'pw-SECRET-1' } };
  // One node, no filter: `contains` walks a list of 99,999 fifty times inside one tag, where
  // LiquidJS checks no limit (seconds of CPU here; an allowed filter such as sort does the same).
  const holds = `{% assign a = (1..99999) %}{% if ${Array(50).fill('a contains 0').join(' or ')} %}never{% endif %}`;
  const fine = { A: 'postgresql://{{ db.username }}:{{ db.password | url_encode }}@db', B: '{{ db.password | split: "-" | reverse | join: "+" | sha256 }}' };

  it('the template holding it is cut off, a later one is not rendered, none has data; an earlier one rendered', () => {
    const r = renderTemplates({ A: fine.A, M: holds, Z: '{{ db.username }}' }, v);
    assert.deepStrictEqual(
      r.problems.map((p) => p.message),
      [
        'template "M": cut off at the end of the 100 ms all templates of a VaultApp may render in one sync',
        'template "Z": not rendered, the templates before it used the 100 ms all templates of a VaultApp may render in one sync',
      ],
    );
    assert.deepStrictEqual(Object.keys(r.data), ['A']);
  });

  it('after a cut the engine renders as before (no state left half-written)', () => {
    const before = renderTemplates(fine, v);
    assert.deepStrictEqual(before.problems, []);
    for (let i = 0; i < 3; i++) {
      assert.match(renderTemplates({ K: holds }, v).problems[0]?.message ?? '', /cut off/);
      assert.deepStrictEqual(renderTemplates(fine, v), before);
      // Assigns and loops of a cut render do not leak into the next.
      assert.match(renderTemplates({ K: '{{ a | size }}' }, v).problems[0]?.message ?? '', /undefined variable/);
    }
  });

  it('through sync(): SecretsSynced=False (TemplateError) naming the key, and the Secret keeps its data', () => {
    const good = appWithTemplate();
    const first = settle(good, sync(request(good), material(1), at(0), config));
    const bad = appWithTemplate({ DATABASE_URL: holds });
    bad.status = first.app.status;
    const res = sync(request(bad, first.observed), material(2), at(30), config);
    const c = cond(res, 'SecretsSynced');
    assert.deepStrictEqual([c.status, c.reason], ['False', 'TemplateError']);
    assert.match(c.message, /^template "DATABASE_URL": cut off at the end of the 100 ms/);
    assert.deepStrictEqual(secretOf(res.children)!.data, secretOf(first.observed)!.data, 'nothing lost');
  });
});

describe('the values templates read are capped', () => {
  it(`values of more than ${MAX_INPUT_CHARS} characters in all: every template not rendered, the message quoting none`, () => {
    const big = { db: { username: 'u', cert: 'C'.repeat(MAX_INPUT_CHARS) } };
    assert.deepStrictEqual(
      renderTemplates({ A: '{{ db.username }}', B: '{{ db.cert | size }}' }, big).problems.map((p) => p.message),
      ['A', 'B'].map((k) => `template "${k}": not rendered, its values hold more than the ${MAX_INPUT_CHARS} characters templates may read`),
    );
    const fits = { db: { username: 'u', cert: 'C'.repeat(MAX_INPUT_CHARS - 1) } };
    assert.deepStrictEqual(renderTemplates({ B: '{{ db.cert | size }}' }, fits), { data: { B: b64(String(MAX_INPUT_CHARS - 1)) }, problems: [] });
  });
});

describe('filters are an allowlist', () => {
  const v = { db: { username: 'v-user-1', password: 'pw-SECRET-1' } };
  const all = Object.keys(new Liquid().filters);

  it('every filter LiquidJS has and the allowlist does not name is an unknown filter', () => {
    const refused = all.filter((f) => !Object.hasOwn(FILTERS, f));
    for (const f of ['where_exp', 'reject_exp', 'group_by_exp', 'find_exp', 'has_exp', 'sample', 'date', 'date_to_xmlschema'])
      assert.ok(refused.includes(f), `${f} is refused`);
    for (const f of refused) assert.match(renderTemplates({ K: `{{ db.password | ${f} }}` }, v).problems[0]?.message ?? '', /unknown filter/, f);
  });

  it('every allowed filter exists and is none of the random, clock or per-item-expression ones', () => {
    for (const f of Object.keys(FILTERS)) {
      assert.ok(all.includes(f), f);
      assert.doesNotMatch(f, /_exp$|^sample$|^shuffle$|^date/);
      assert.doesNotMatch(renderTemplates({ K: `{{ db.password | ${f} }}` }, v).problems[0]?.message ?? '', /unknown filter/, f);
    }
  });
});

describe('templates in the schema', () => {
  const invalid: [string, (a: VaultApp) => void, RegExp][] = [
    ['a template key that is also a targetKey', (a) => (a.spec.vault.templates = { db_url: 'x' }), /spec.vault: a template key may not also be a targetKey/],
    [
      'a template key that is not a Secret key',
      (a) => (a.spec.vault.templates = { 'a/b': 'x' }),
      /spec.vault.templates: every template key must be a Secret key/,
    ],
    [
      'an entry with neither targetKey nor name',
      (a) => delete a.spec.vault.secrets[1]!.name,
      /spec.vault.secrets\[1\]: an entry without targetKey feeds templates only, and needs a name/,
    ],
    [
      'a template-only entry without templates',
      (a) => delete a.spec.vault.templates,
      /spec.vault: an entry without targetKey feeds templates only: give vault.templates/,
    ],
    ['one name over two paths', (a) => (a.spec.vault.secrets[0]!.name = 'db'), /spec.vault.secrets: entries sharing a name must read the same path/],
    [
      'a name that is not an identifier',
      (a) => (a.spec.vault.secrets[1]!.name = 'my-db'),
      /spec.vault.secrets\[1\].name: name must begin with a letter or '_'/,
    ],
    [
      '33 templates',
      (a) => (a.spec.vault.templates = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`t${i}`, 'x']))),
      /spec.vault.templates: must NOT have more than 32 properties/,
    ],
    [
      'a template of 8193 characters',
      (a) => (a.spec.vault.templates = { t: 'x'.repeat(8193) }),
      /spec.vault.templates.t: must NOT have more than 8192 characters/,
    ],
  ];
  for (const [name, mutate, says] of invalid) {
    it(`refuses ${name}`, () => {
      const app = appWithTemplate();
      mutate(app);
      const r = validateVaultApp(app);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.errors.map((e) => `${e.field}: ${e.message}`).join('\n'), says);
    });
  }

  it('a typed Secret whose required key comes from a template is admitted', () => {
    const app = appWithTemplate({ password: '{{ db.password }}' });
    app.spec.secret = { type: 'kubernetes.io/basic-auth' };
    assert.equal(validateVaultApp(app).ok, true);
  });
});
