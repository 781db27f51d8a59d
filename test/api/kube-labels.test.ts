// Label maps users give (spec.monitoring.labels) and operators give (VAULTAPP_MONITORING_LABELS):
// Kubernetes label syntax, the hook's reserved keys, bounds, and hostile keys. The same
// cases reach the real API server's CEL in test/integration/kube-admission.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extraLabelsProblems, isLabelKey, isLabelValue, isReservedLabelKey, MAX_EXTRA_LABELS } from '../../src/api/kube-labels.js';
import { validateVaultApp } from '../../src/api/validate.js';
import { loadExample } from '../fixtures/requests.js';

const KEYS: [key: string, valid: boolean][] = [
  ['release', true],
  ['app.kubernetes.io/part-of', true],
  ['prometheus.example.com/shard', true],
  ['a', true],
  ['A_b.c-D', true],
  [`${'p'.repeat(253)}/n`, true],
  [`${'p'.repeat(254)}/n`, false], // prefix of 254
  [`${'n'.repeat(63)}`, true],
  [`${'n'.repeat(64)}`, false],
  [`example.com/${'n'.repeat(64)}`, false],
  ['', false],
  ['/release', false],
  ['example.com/', false],
  ['Example.com/release', false], // the prefix is a lowercase DNS subdomain
  ['a/b/c', false],
  ['-release', false],
  ['release-', false],
  ['__proto__', false],
  ['constructor', true], // an ordinary label key, and harmless as one
  ['rélease', false],
  ['release\n', false],
  ['release name', false],
  ['example..com/x', false],
];

const VALUES: [value: string, valid: boolean][] = [
  ['', true],
  ['kube-prometheus-stack', true],
  ['v1.2_3', true],
  ['v'.repeat(63), true],
  ['v'.repeat(64), false],
  ['-x', false],
  ['x.', false],
  ['a b', false],
  ['ä', false],
  ['x\n', false],
];

describe('label syntax', () => {
  for (const [key, valid] of KEYS) {
    it(`key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 20)}…(${key.length})` : key)} is ${valid ? 'valid' : 'refused'}`, () => {
      assert.equal(isLabelKey(key), valid);
    });
  }
  for (const [value, valid] of VALUES) {
    it(`value ${JSON.stringify(value.length > 40 ? `${value.slice(0, 20)}…(${value.length})` : value)} is ${valid ? 'valid' : 'refused'}`, () => {
      assert.equal(isLabelValue(value), valid);
    });
  }
  it("reserved: the hook's domain (and its subdomains) and app.kubernetes.io/managed-by, nothing else", () => {
    for (const k of ['vaultapp.techweaver.io/name', 'vaultapp.techweaver.io/metrics-for', 'x.vaultapp.techweaver.io/y', 'app.kubernetes.io/managed-by']) {
      assert.equal(isReservedLabelKey(k), true, k);
    }
    for (const k of ['app.kubernetes.io/name', 'release', 'notvaultapp.techweaver.io/x', 'vaultapp.techweaver.io.example.com/x', 'managed-by']) {
      assert.equal(isReservedLabelKey(k), false, k);
    }
  });
});

describe("the configuration's label map (extraLabelsProblems)", () => {
  it('accepts a map of valid labels, and an empty map', () => {
    assert.deepEqual(extraLabelsProblems({ release: 'kube-prometheus-stack', 'example.com/team': '' }), []);
    assert.deepEqual(extraLabelsProblems({}), []);
  });
  it('refuses what is not a map', () => {
    for (const v of [null, 'release=x', ['release'], 3]) assert.match(extraLabelsProblems(v).join(), /must be a map of label keys to values/, String(v));
  });
  it('names each bad key and value, and a reserved key as reserved', () => {
    const problems = extraLabelsProblems({ 'bad key': 'x', ok: 'bad value', 'app.kubernetes.io/managed-by': 'helm', n: 1 });
    assert.deepEqual(problems, [
      '"bad key" is not a valid label key ([prefix/]name, name at most 63 characters)',
      'the value of "ok" is not a valid label value (at most 63 characters, alphanumeric at both ends)',
      '"app.kubernetes.io/managed-by" is reserved: the hook sets keys under vaultapp.techweaver.io/ and app.kubernetes.io/managed-by itself',
      'the value of "n" must be a string (quote numbers and booleans)',
    ]);
  });
  it('a "__proto__" key from JSON is an own key, refused, and pollutes nothing', () => {
    const parsed: unknown = JSON.parse('{"__proto__": {"polluted": "yes"}, "release": "x"}');
    assert.equal(extraLabelsProblems(parsed).length, 2, 'an invalid key, and a value that is not a string');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
  it(`more than ${MAX_EXTRA_LABELS} labels are refused by count, without a message per label`, () => {
    const huge = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'v']));
    assert.deepEqual(extraLabelsProblems(huge), [`must hold at most ${MAX_EXTRA_LABELS} labels, not 100000`]);
  });
  it('a very long key is quoted shortened in the message', () => {
    const [message] = extraLabelsProblems({ ['x'.repeat(10_000)]: 'v' });
    assert.ok(message!.length < 200, message);
  });
});

describe("the hook's validation of spec.monitoring.labels (schema and CEL twins)", () => {
  const withLabels = (labels: unknown): unknown => {
    const app = structuredClone(loadExample()) as any;
    app.spec.monitoring.labels = labels;
    return app;
  };
  const fields = (obj: unknown): string[] | 'ok' => {
    const r = validateVaultApp(obj);
    return r.ok ? 'ok' : [...new Set(r.errors.map((e) => e.field))];
  };

  it('the seed example, without labels, is valid as before', () => assert.equal(fields(loadExample()), 'ok'));
  it('valid labels are accepted', () => {
    assert.equal(fields(withLabels({ release: 'kube-prometheus-stack', 'app.kubernetes.io/part-of': 'billing', empty: '' })), 'ok');
  });
  for (const [key, valid] of KEYS) {
    it(`key ${JSON.stringify(key.slice(0, 30))}${key.length > 30 ? `…(${key.length})` : ''}: ${valid ? 'accepted' : 'refused'}`, () => {
      assert.deepEqual(fields(withLabels({ [key]: 'v' })), valid ? 'ok' : ['spec.monitoring.labels']);
    });
  }
  for (const [value, valid] of VALUES) {
    it(`value ${JSON.stringify(value.slice(0, 30))}${value.length > 30 ? `…(${value.length})` : ''}: ${valid ? 'accepted' : 'refused'}`, () => {
      assert.deepEqual(
        fields(withLabels({ release: value })),
        valid ? 'ok' : [value.length > 63 ? 'spec.monitoring.labels.release' : 'spec.monitoring.labels'],
      );
    });
  }
  it('reserved keys are refused with a sentence', () => {
    const r = validateVaultApp(withLabels({ 'vaultapp.techweaver.io/metrics-for': 'other-app' }));
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [
      {
        field: 'spec.monitoring.labels',
        message: 'keys under vaultapp.techweaver.io/ and app.kubernetes.io/managed-by are set by the hook and cannot be given here',
      },
    ]);
  });
  it('"__proto__" parsed from JSON is an own key and refused', () => {
    const app = JSON.parse(JSON.stringify(withLabels({})).replace('"labels":{}', '"labels":{"__proto__":"x"}'));
    assert.deepEqual(Object.keys(app.spec.monitoring.labels), ['__proto__']);
    assert.deepEqual(fields(app), ['spec.monitoring.labels']);
  });
  it('values that are not strings, and a labels value that is not a map, are refused', () => {
    assert.deepEqual(fields(withLabels({ release: 1 })), ['spec.monitoring.labels.release']);
    assert.deepEqual(fields(withLabels({ release: null })), ['spec.monitoring.labels.release']);
    assert.deepEqual(fields(withLabels(['release'])), ['spec.monitoring.labels']);
  });
  it(`${MAX_EXTRA_LABELS} labels are accepted, ${MAX_EXTRA_LABELS + 1} and a map of 100,000 are refused`, () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    assert.equal(fields(withLabels(many(MAX_EXTRA_LABELS))), 'ok');
    assert.deepEqual(fields(withLabels(many(MAX_EXTRA_LABELS + 1))), ['spec.monitoring.labels']);
    const huge = validateVaultApp(withLabels(many(100_000)));
    assert.ok(!huge.ok);
    assert.ok(huge.errors.length <= 21, `a bounded report, not one error per label (${huge.errors.length})`);
  });
});
