// The string fields' syntax as CEL rules with sentences (src/api/string-rules.ts): no
// `pattern` is left in the CRD (its refusal would quote a regular expression), each rule
// says which field it is about, and the two rules of a Vault path admit exactly the
// path pattern the fuzzers hold the hook to.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { renderCrdYaml } from '../../src/api/crd-yaml.js';
import { describeFieldErrors, validateVaultApp } from '../../src/api/validate.js';
import {
  DATA_FROM_PREFIX_RULE,
  ENTRY_NAME_RULE,
  INTERVAL_RULE,
  SERVICE_NAME_RULE,
  METRICS_PATH_RULE,
  PATH_CHARACTERS_RULE,
  PATH_SEGMENTS_RULE,
  PORT_RULE,
  REFRESH_INTERVAL_RULE,
  ROLE_RULE,
  SECRET_TYPE_RULE,
  STRING_RULES,
  TARGET_KEY_NOT_REFUSED_RULE,
  TARGET_KEY_RULE,
  VAULT_PATH_PATTERN,
} from '../../src/api/string-rules.js';
import { RAW_REGEX } from '../fixtures/messages.js';
import { loadExample } from '../fixtures/requests.js';

function keysAnywhere(v: unknown, key: string, at = '', out: string[] = []): string[] {
  if (v && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      if (k === key) out.push(`${at}.${k}`);
      else keysAnywhere(child, key, `${at}.${k}`, out);
    }
  }
  return out;
}

describe('string fields refuse with sentences', () => {
  it('the generated CRD has no pattern left: every syntax check is a CEL rule with a message', () => {
    const crd = parse(renderCrdYaml());
    assert.deepEqual(keysAnywhere(crd, 'pattern'), []);
  });

  it('the RAW_REGEX check finds the patterns it stands guard against', () => {
    for (const r of STRING_RULES.filter((x) => x.rule.includes('matches('))) assert.match(r.rule, RAW_REGEX, r.rule);
    assert.match('spec.vault.role: Invalid value: "billing app": spec.vault.role in body should match \'^[A-Za-z0-9][A-Za-z0-9_.@-]*$\'', RAW_REGEX);
  });

  const named: [rule: typeof ROLE_RULE, field: string][] = [
    [ROLE_RULE, 'role'],
    [PATH_CHARACTERS_RULE, 'path'],
    [PATH_SEGMENTS_RULE, 'path'],
    [TARGET_KEY_RULE, 'targetKey'],
    [TARGET_KEY_NOT_REFUSED_RULE, 'targetKey'],
    [PORT_RULE, 'port'],
    [METRICS_PATH_RULE, 'monitoring.path'],
    [INTERVAL_RULE, 'interval'],
    [REFRESH_INTERVAL_RULE, 'refreshInterval'],
    [SECRET_TYPE_RULE, 'secret.type'],
    [ENTRY_NAME_RULE, 'name'],
    [DATA_FROM_PREFIX_RULE, 'prefix'],
    [SERVICE_NAME_RULE, 'serviceName'],
  ];
  it('each message names its field first, is one sentence and quotes no regular expression', () => {
    assert.equal(named.length, STRING_RULES.length);
    for (const [r, field] of named) {
      assert.ok(r.message.startsWith(`${field} must `) || r.message.startsWith(`${field} may `), r.message);
      assert.doesNotMatch(r.message, RAW_REGEX);
      assert.doesNotMatch(r.message, /\.\s+[A-Z]/, 'one sentence');
    }
  });

  it('the two path rules together admit exactly VAULT_PATH_PATTERN (10,000 paths from a hostile alphabet)', () => {
    const reference = new RegExp(VAULT_PATH_PATTERN);
    const char = fc.constantFrom('a', 'Z', '0', '/', '/', '.', '.', '_', '-', '@', '~', '%', ' ', '?', '#', '\\', 'ä', '\n');
    fc.assert(
      fc.property(
        fc.array(char, { maxLength: 12 }).map((cs) => cs.join('')),
        (p) => {
          const rules = PATH_CHARACTERS_RULE.test(p) && PATH_SEGMENTS_RULE.test(p);
          assert.equal(rules, reference.test(p), JSON.stringify(p));
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("each refusal of the hook is the rule's sentence after the field's full name", () => {
    const cases: [(a: any) => void, string][] = [
      [(a) => (a.spec.vault.role = 'billing app'), `spec.vault.role: ${ROLE_RULE.message}`],
      [(a) => (a.spec.vault.secrets[1].path = 'kv/billing/../../sys'), `spec.vault.secrets[1].path: ${PATH_SEGMENTS_RULE.message}`],
      [(a) => (a.spec.vault.secrets[0].path = 'kv/data/a b'), `spec.vault.secrets[0].path: ${PATH_CHARACTERS_RULE.message}`],
      [(a) => (a.spec.vault.secrets[0].targetKey = 'db/url'), `spec.vault.secrets[0].targetKey: ${TARGET_KEY_RULE.message}`],
      [(a) => (a.spec.vault.secrets[1].targetKey = '__proto__'), `spec.vault.secrets[1].targetKey: ${TARGET_KEY_NOT_REFUSED_RULE.message}`],
      [(a) => (a.spec.monitoring.port = 'Http'), `spec.monitoring.port: ${PORT_RULE.message}`],
      [(a) => (a.spec.monitoring.path = 'metrics'), `spec.monitoring.path: ${METRICS_PATH_RULE.message}`],
      [(a) => (a.spec.monitoring.interval = '1 m'), `spec.monitoring.interval: ${INTERVAL_RULE.message}`],
      [(a) => (a.spec.vault.refreshInterval = '1h 30m'), `spec.vault.refreshInterval: ${REFRESH_INTERVAL_RULE.message}`],
      [(a) => (a.spec.secret = { type: 'Kubernetes.IO/tls' }), `spec.secret.type: ${SECRET_TYPE_RULE.message}`],
      // Not a pattern, but the same question: which values would do?
      [(a) => (a.spec.vault.rotation = 'Restart'), 'spec.vault.rotation: must be one of "restart", "none"'],
    ];
    for (const [mutate, expected] of cases) {
      const app = structuredClone(loadExample()) as any;
      mutate(app);
      const r = validateVaultApp(app);
      assert.equal(r.ok, false, expected);
      assert.equal(describeFieldErrors(r.ok ? [] : r.errors), expected);
    }
  });

  it('values at the edges of each rule', () => {
    const ok = (r: typeof ROLE_RULE, v: string) => assert.equal(r.test(v), true, `${r.message}: ${JSON.stringify(v)}`);
    const no = (r: typeof ROLE_RULE, v: string) => assert.equal(r.test(v), false, `${r.message}: ${JSON.stringify(v)}`);
    ok(ROLE_RULE, 'billing.app@x-y_z');
    no(ROLE_RULE, '-billing');
    no(ROLE_RULE, 'billing\n');
    ok(PATH_SEGMENTS_RULE, 'kv/.hidden');
    ok(PATH_SEGMENTS_RULE, 'kv/a..b');
    no(PATH_SEGMENTS_RULE, 'kv/..hidden');
    no(PATH_SEGMENTS_RULE, 'kv/.');
    no(PATH_SEGMENTS_RULE, './kv');
    no(PATH_SEGMENTS_RULE, 'kv/');
    no(PATH_SEGMENTS_RULE, '');
    ok(TARGET_KEY_RULE, '.env');
    no(TARGET_KEY_RULE, '..env');
    no(TARGET_KEY_RULE, '.');
    for (const key of ['__proto__', 'constructor', 'prototype']) no(TARGET_KEY_NOT_REFUSED_RULE, key);
    for (const key of ['__proto', 'Constructor', 'prototypes', 'toString', '_proto_']) ok(TARGET_KEY_NOT_REFUSED_RULE, key);
    ok(PORT_RULE, 'http-metrics');
    no(PORT_RULE, 'http-');
    no(PORT_RULE, 'HTTP');
    ok(METRICS_PATH_RULE, '/');
    no(METRICS_PATH_RULE, ' /metrics');
    ok(INTERVAL_RULE, '0');
    ok(INTERVAL_RULE, '1h30m');
    ok(INTERVAL_RULE, '500ms');
    no(INTERVAL_RULE, '30m1h'); // '' is minLength's
    ok(SECRET_TYPE_RULE, 'helm.sh/release.v1');
    ok(SECRET_TYPE_RULE, 'Opaque');
    no(SECRET_TYPE_RULE, 'a/b/c');
    no(SECRET_TYPE_RULE, 'kubernetes.io/tls-');
    ok(ENTRY_NAME_RULE, '_db2');
    no(ENTRY_NAME_RULE, '2db');
    no(ENTRY_NAME_RULE, 'my-db');
    ok(SERVICE_NAME_RULE, '');
    ok(SERVICE_NAME_RULE, 'web-0');
    no(SERVICE_NAME_RULE, 'Web');
    no(SERVICE_NAME_RULE, 'web-');
    ok(DATA_FROM_PREFIX_RULE, '');
    ok(DATA_FROM_PREFIX_RULE, 'db_.x-');
    no(DATA_FROM_PREFIX_RULE, 'a/');
  });
});
