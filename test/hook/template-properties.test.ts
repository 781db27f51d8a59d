// Properties of tenant templates over generated ones (filters, ranges, nesting, assigns),
// against the real renderer: every render finishes or is cut
// off with a condition naming its key, while another VaultApp's sync is answered; the same
// inputs render the same bytes, across every filter LiquidJS has (the allowed ones render,
// the others are refused the same way each time); and no status message holds any 3
// characters of a value, whatever a template does with it. Outcomes only, no timings.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { Liquid } from 'liquidjs';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { VaultMaterial } from '../../src/hook/contract.js';
import { sync } from '../../src/hook/sync.js';
import { FILTERS, MAX_OUTPUT_BYTES, RENDER_TIME_MS, renderTemplates, type TemplateValues } from '../../src/hook/secret-data/templates.js';
import type { SyncConfig, SyncResponse } from '../../src/hook/types.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, recordedReader } from '../support/build-app.js';

/** Every filter LiquidJS has, allowed or not: the generator tries them all. */
const ALL_FILTERS = Object.keys(new Liquid().filters);
const DB = 'kv/data/tenant/db';

// Every shape a TemplateError message may take: fixed words, the key, numbers. Nothing else.
const KINDS = [
  'undefined variable',
  'syntax error',
  'parse error',
  'render error',
  'error',
  'unknown filter',
  'unknown tag',
  'tag not closed',
  'wrong number of filter arguments',
  'invalid base64 given to base64_decode',
  'memory limit exceeded',
  'render-time limit exceeded',
  'parse limit exceeded',
].join('|');
const BUDGET = `the ${RENDER_TIME_MS} ms all templates of a VaultApp may render in one sync`;
const TEMPLATE_MESSAGE = new RegExp(
  `^template "[A-Z]+": (?:(?:${KINDS})(?: at line \\d+, column \\d+)?(?: \\(docs/templates.md lists the filters a template may use\\))?|cut off at the end of ${BUDGET}|not rendered, the templates before it used ${BUDGET}|renders \\d+ bytes, more than the ${MAX_OUTPUT_BYTES} a template may)$`,
);

/** A condition's message joins the problems with "; ": each about a template must have a shape above. */
function assertTemplateMessages(message: string): void {
  const parts = message.split('; ').filter((p) => p.startsWith('template "'));
  assert.ok(parts.length > 0, message);
  for (const p of parts) assert.match(p, TEMPLATE_MESSAGE);
}

// ---------------------------------------------------------------------------
// Generated templates. Sizes reach the memory limit (a range of 99,999) and past it, and
// filters come from all of LiquidJS's, so hostile ones (where_exp, sample, date) are tried.
const names = ['db.username', 'db.password', 'db["api-key"]', 'v0', 'v1', 'v0', 'v1', 'x'];
const literal = fc.oneof(
  fc.constantFrom('""', '"a,b,c"', '"x"', '0', '1', '3', '-2', 'true', 'nil'),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s.replace(/["\\{}%]/g, ''))),
);
const range = fc.oneof(
  fc.tuple(fc.integer({ min: -3, max: 5 }), fc.integer({ min: 0, max: 40 })).map(([a, b]) => `(${a}..${b})`),
  fc.constantFrom('(1..10000)', '(1..50000)', '(1..99999)', '(1..2000000)'),
);
const atom = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...names) }, { weight: 3, arbitrary: literal }, { weight: 1, arbitrary: range });
const filterCall = fc
  .tuple(fc.constantFrom(...ALL_FILTERS), fc.array(atom, { maxLength: 2 }))
  .map(([name, args]) => (args.length ? `${name}: ${args.join(', ')}` : name));
const filtered = fc.tuple(atom, fc.array(filterCall, { maxLength: 3 })).map(([a, fs]) => [a, ...fs].join(' | '));
const condition = fc.tuple(atom, fc.constantFrom('==', '!=', 'contains', '>', 'and', 'or'), atom).map(([l, op, r]) => `${l} ${op} ${r}`);

const statement: fc.Memo<string> = fc.memo((depth) =>
  depth <= 1
    ? fc.oneof(
        filtered.map((f) => `{{ ${f} }}`),
        fc.tuple(fc.constantFrom('v0', 'v1'), filtered).map(([v, f]) => `{% assign ${v} = ${f} %}`),
        fc.constantFrom('text', '-', '\n'),
      )
    : fc.oneof(
        statement(1),
        fc.tuple(condition, body(depth - 1)).map(([c, b]) => `{% if ${c} %}${b}{% else %}e{% endif %}`),
        fc.tuple(atom, body(depth - 1)).map(([a, b]) => `{% for x in ${a} %}${b}{% endfor %}`),
        fc.tuple(fc.constantFrom('v0', 'v1'), body(depth - 1)).map(([v, b]) => `{% capture ${v} %}${b}{% endcapture %}`),
      ),
);
const body = (depth: number) => fc.array(statement(depth), { minLength: 1, maxLength: 3 }).map((s) => s.join(''));
// Most begin by assigning the variables they use: fewer end at an undefined variable.
const template = fc
  .tuple(fc.boolean(), body(3))
  .map(([prelude, b]) => (prelude ? `{% assign v0 = db.password %}{% assign v1 = "a,b" | split: "," %}{% assign x = 2 %}${b}` : b));

/** Values of any text: the properties that compare renders need no particular alphabet. */
const anyValues = fc.record({
  username: fc.string({ maxLength: 12 }),
  password: fc.string({ unit: 'binary', maxLength: 24 }),
  'api-key': fc.string({ maxLength: 8 }),
});

const db = (v: Record<string, string>): TemplateValues => ({ db: v });

// ---------------------------------------------------------------------------
describe('generated templates finish or are cut off, and another VaultApp is answered meanwhile', () => {
  let base: string;
  // Over real HTTP, so that /healthz is answered (or not) while a render runs.
  const listen = async (ctx: TestContext): Promise<void> => {
    // Both VaultApps' values come from one recorded reader, by path.
    const reader = recordedReader({
      values: { [DB]: { username: 'u-1', password: 'p-1', 'api-key': 'k-1' }, 'kv/data/other/db': { url: 'postgres://other' } },
    });
    const hook = await build(ctx, reader);
    await hook.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}`;
  };

  const post = async (body: unknown): Promise<SyncResponse> => {
    const res = await fetch(`${base}/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    return (await res.json()) as SyncResponse;
  };
  const secretsSynced = (res: SyncResponse) => res.status.conditions!.find((c) => c.type === 'SecretsSynced')!;

  it('each render gives its value or a TemplateError naming the key, of fixed words; the other VaultApp and /healthz answer as if alone', async (ctx) => {
    await listen(ctx);
    let cut = 0;
    let rendered = 0;
    await fc.assert(
      fc.asyncProperty(template, async (t) => {
        const hostile = tenantApp('tenant', { K: t });
        const other = loadExample();
        other.metadata.name = 'other';
        other.metadata.uid = '6b1f3c2e-0000-4000-8000-0000000000ff';
        other.spec.vault.secrets = [{ path: 'kv/data/other/db', key: 'url', targetKey: 'db_url' }];
        const [h, o, health] = await Promise.all([post(request(hostile)), post(request(other)), fetch(`${base}/healthz`)]);
        const c = secretsSynced(h);
        if (c.status === 'True') rendered++;
        else {
          assert.equal(c.reason, 'TemplateError', c.message);
          assertTemplateMessages(c.message);
          if (c.message.includes('cut off')) cut++;
        }
        assert.deepStrictEqual([secretsSynced(o).status, secretsSynced(o).reason], ['True', 'Synced']);
        assert.equal(health.status, 200);
      }),
      { numRuns: 150, examples: [[`{% assign a = (1..99999) %}{% if ${Array(50).fill('a contains 0').join(' or ')} %}never{% endif %}`]] },
    );
    assert.ok(rendered > 10, `some templates rendered (${rendered})`);
    assert.ok(cut >= 1, 'the example above, at least, was cut off by the deadline');
  });
});

describe('the same inputs render the same bytes', () => {
  it('generated templates over every LiquidJS filter, rendered twice with the same values: byte for byte', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('A', 'B', 'C'), template, { minKeys: 1, maxKeys: 3 }), anyValues, (templates, v) => {
        const first = renderTemplates(templates, db(v));
        const second = renderTemplates(templates, db(v));
        // A cut by the deadline depends on the machine's speed, not on the inputs.
        if (cutOff(first) || cutOff(second)) return;
        assert.deepStrictEqual(second, first);
      }),
      { numRuns: 400 },
    );
  });

  // Each allowed filter on strings, lists and numbers, with arguments of each kind: the
  // generated templates above may miss one; this does not.
  const inputs = ['db.password', 'db.username | split: ""', '(1..12)', '"b,a,c,a" | split: ","', '3.7', '"aGk="'];
  const argSets = ['', ': 2', ': ","', ': 1, 3', ': "a", "b"', ': db.username'];
  for (const name of Object.keys(FILTERS)) {
    it(`${name}: every input and argument renders the same twice`, () => {
      let compared = 0;
      for (const input of inputs) {
        for (const args of argSets) {
          const templates = { K: `{{ ${input} | ${name}${args} | json }}` };
          const v = db({ username: 'v-user-1', password: 'pw SECRET,1&<x>', 'api-key': 'ak' });
          const first = renderTemplates(templates, v);
          for (let i = 0; i < 5; i++) {
            const again = renderTemplates(templates, v);
            // A cut by the deadline depends on the machine's load (the budget is wall clock), not on the inputs.
            if (cutOff(first) || cutOff(again)) continue;
            assert.deepStrictEqual(again, first, templates.K);
            compared++;
          }
        }
      }
      assert.ok(compared >= (inputs.length * argSets.length * 5) / 2, `only ${compared} renders were not cut off`);
    });
  }

  it("the issue's {{ list | sample }}, shuffle and the clock are refused the same way every time", () => {
    for (const t of ['{{ db.password | split: "" | sample: 3 | join }}', '{{ db.password | split: "" | shuffle | join }}', '{{ "now" | date: "%N" }}']) {
      const r = renderTemplates({ K: t }, db({ username: 'u', password: 'abcdefghijklmnop', 'api-key': 'k' }));
      assert.match(r.problems[0]?.message ?? '', /^template "K": unknown filter at line 1, column 1/, t);
    }
  });
});

describe('no status message holds any 3 characters of a value', () => {
  // Values of characters no message ever uses (no ASCII letter, digit, space or quote), so any
  // 3 characters of a value found in a message were copied from the value.
  const valueChar = fc.constantFrom(...'αβγδεζηθικλμνξπρστφχψωжщыюяÄÖÜß€£¥§¶!#$%&*+;<=>?@^`|~'.split(''));
  const foreignValue = fc.string({ unit: valueChar, minLength: 3, maxLength: 16 });
  const leaks = [
    // The issue's: a name built from a slice of a value, 3 characters at a time.
    ...[0, 3, 6, 9].map((i) => `{% assign p = db.password | slice: ${i}, 3 %}{{ db[p] }}`),
    '{{ db[db.password] }}',
    '{{ nobody[db.username] }}',
    '{% assign p = db.password | upcase %}{{ db[p] }}',
    '{{ db.password | base64_decode }}',
    '{{ db.password | append }}',
    '{{ db.password | divided_by: db.username }}',
    '{% for c in db.password %}{{ db[c] }}{% endfor %}',
    '{% if db.password == "x" %}{{ a }}{% else %}{{ db[db.username] }}{% endif %}',
    `{% capture c %}{{ db.password }}{% endcapture %}{{ db[c] }}`,
  ];

  it('for the leaking templates and generated ones, the whole status: conditions and their messages', () => {
    let errors = 0;
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...leaks), template),
        fc.record({ username: foreignValue, password: foreignValue, 'api-key': foreignValue }),
        (t, v) => {
          const res = sync(request(tenantApp('tenant', { K: t })), material(v), new Date('2026-11-27T12:00:00Z'), config);
          const status = JSON.stringify(res.status);
          for (const value of Object.values(v)) {
            for (let i = 0; i + 3 <= value.length; i++)
              assert.ok(!status.includes(value.slice(i, i + 3)), `"${value.slice(i, i + 3)}" of a value in ${status}`);
          }
          const c = res.status.conditions?.find((x) => x.type === 'SecretsSynced');
          if (c?.reason === 'TemplateError') {
            errors++;
            assertTemplateMessages(c.message);
          }
        },
      ),
      { numRuns: 300, examples: leaks.map((t) => [t, { username: 'ψψψ', password: 'αβγδεζηθικλμ', 'api-key': '€€€' }]) },
    );
    assert.ok(errors > 20, `templates failed and were reported (${errors})`);
  });

  it("the issue's leak: the message names the key, the kind and the position only", () => {
    const r = renderTemplates(
      { DATABASE_URL: '{% assign i = 11 %}{% assign p = db.url | slice: i, 3 %}{{ db[p] }}' },
      { db: { url: 'postgres://xyz.internal' } },
    );
    assert.deepStrictEqual(
      r.problems.map((p) => p.message),
      ['template "DATABASE_URL": undefined variable at line 1, column 60'],
    );
  });
});

// ---------------------------------------------------------------------------
const config: SyncConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 60, errorBackoffMinSeconds: 5, refreshSeconds: 300 };

function tenantApp(name: string, templates: Record<string, string>): VaultApp {
  const app = loadExample();
  app.metadata.name = name;
  app.spec.vault.secrets = [
    { path: DB, key: 'username', name: 'db' },
    { path: DB, key: 'password', name: 'db' },
    { path: DB, key: 'api-key', name: 'db' },
  ];
  app.spec.vault.templates = templates;
  return app;
}

const material = (v: Record<string, string>): VaultMaterial => ({ auth: { ok: true }, reads: { [DB]: { ok: true, engine: 'kv2', data: v, version: 1 } } });

const cutOff = (r: ReturnType<typeof renderTemplates>): boolean =>
  r.problems.some((p) => /cut off at the end|not rendered, the templates before it|render-time limit exceeded/.test(p.message));
