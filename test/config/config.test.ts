import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const emptyHome = mkdtempSync(join(tmpdir(), 'vaultapp-home-'));

describe('loadConfig', () => {
  it('defaults follow the vault CLI and the issue: port 8080, resync 300 s, token auth when a token is given', () => {
    const c = loadConfig({ VAULT_TOKEN: 't' }, emptyHome);
    assert.equal(c.port, 8080);
    assert.equal(c.vault.address, 'http://127.0.0.1:8200');
    assert.equal(c.resyncSeconds, 300);
    assert.deepStrictEqual(c.auth, { method: 'token', token: 't' });
    assert.equal(c.hmacKeyEphemeral, true);
  });

  it('reads ~/.vault-token like the CLI', () => {
    const home = mkdtempSync(join(tmpdir(), 'vaultapp-home-'));
    writeFileSync(join(home, '.vault-token'), 'from-file\n');
    assert.deepStrictEqual(loadConfig({}, home).auth, { method: 'token', token: 'from-file' });
  });

  it('without a token it uses Kubernetes auth, and then a stable HMAC key is required', () => {
    assert.throws(
      () => loadConfig({}, emptyHome),
      (e: Error) => e instanceof ConfigError && /VAULTAPP_HMAC_KEY/.test(e.message),
    );
    const keyFile = join(emptyHome, 'hmac');
    writeFileSync(keyFile, 'k'.repeat(32));
    const c = loadConfig(
      { VAULTAPP_HMAC_KEY_FILE: keyFile, VAULTAPP_K8S_AUTH_MOUNT: 'k8s-prod', KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      emptyHome,
    );
    assert.deepStrictEqual(c.auth, {
      method: 'kubernetes',
      mount: 'k8s-prod',
      identity: {
        model: 'workload',
        audience: 'vault',
        expirationSeconds: 600,
        kube: { url: 'https://10.96.0.1:443', tokenPath: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
      },
    });
    assert.equal(c.hmacKey, 'k'.repeat(32));
    assert.equal(c.hmacKeyEphemeral, false);
  });

  it('the controller identity needs an allowed-roles list, and reads it', () => {
    const base = { VAULTAPP_AUTH: 'kubernetes', VAULTAPP_IDENTITY: 'controller', VAULTAPP_HMAC_KEY: 'k'.repeat(16) };
    assert.throws(() => loadConfig(base, emptyHome), /VAULTAPP_ALLOWED_ROLES/);
    assert.throws(() => loadConfig({ ...base, VAULTAPP_ALLOWED_ROLES: '["a"]' }, emptyHome), /must map each namespace to a list of role names/);
    const c = loadConfig({ ...base, VAULTAPP_ALLOWED_ROLES: 'team-a: [app-a]\nteam-b: [app-b, app-b2]' }, emptyHome);
    assert.deepStrictEqual(c.auth, {
      method: 'kubernetes',
      mount: 'kubernetes',
      identity: {
        model: 'controller',
        jwtPath: '/var/run/secrets/kubernetes.io/serviceaccount/token',
        allowedRoles: { 'team-a': ['app-a'], 'team-b': ['app-b', 'app-b2'] },
      },
    });
  });

  it('workload identity outside a pod needs the API server address', () => {
    assert.throws(() => loadConfig({ VAULTAPP_AUTH: 'kubernetes', VAULTAPP_HMAC_KEY: 'k'.repeat(16) }, emptyHome), /VAULTAPP_KUBE_API_URL/);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ VAULT_TOKEN: 't', PORT: 'eighty' }, /PORT: must be integer/],
    [{ VAULT_TOKEN: 't', VAULT_ADDR: 'vault:8200' }, /VAULT_ADDR: must match pattern/],
    [{ VAULT_TOKEN: 't', VAULTAPP_RESYNC_SECONDS: '1' }, /VAULTAPP_RESYNC_SECONDS: must be >= 5/],
    [{ VAULT_TOKEN: 't', VAULTAPP_HMAC_KEY: 'short' }, /VAULTAPP_HMAC_KEY: must NOT have fewer than 16 characters/],
    [{ VAULT_TOKEN: 't', VAULT_CACERT: '/nonexistent/ca.pem' }, /VAULT_CACERT: cannot read \/nonexistent\/ca.pem: ENOENT/],
    [{ VAULTAPP_AUTH: 'token' }, /VAULTAPP_AUTH=token needs VAULT_TOKEN/],
  ];
  for (const [env, message] of bad) {
    it(`a bad value stops start-up naming the variable: ${Object.keys(env).at(-1)}`, () => {
      assert.throws(
        () => loadConfig(env, emptyHome),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      );
    });
  }
});

describe('VAULTAPP_MONITORING_LABELS', () => {
  const load = (labels?: string) => loadConfig({ VAULT_TOKEN: 't', ...(labels !== undefined ? { VAULTAPP_MONITORING_LABELS: labels } : {}) }, emptyHome);
  const refused = (labels: string, says: RegExp) =>
    assert.throws(
      () => load(labels),
      (e: Error) => e instanceof ConfigError && e.message.startsWith('VAULTAPP_MONITORING_LABELS: ') && says.test(e.message),
    );

  it('unset: no default labels, as before', () => assert.equal(load().monitoringLabels, undefined));
  it('reads a YAML or a JSON map', () => {
    assert.deepStrictEqual(load('release: kube-prometheus-stack\nexample.com/team: platform').monitoringLabels, {
      release: 'kube-prometheus-stack',
      'example.com/team': 'platform',
    });
    assert.deepStrictEqual(load('{"release": "prom"}').monitoringLabels, { release: 'prom' });
  });
  it('refuses what is not YAML, or not a map of strings, naming the variable', () => {
    refused('{release: [', /not YAML or JSON/);
    refused('- release', /must be a map of label keys to values/);
    refused('release', /must be a map of label keys to values/);
    refused('release: 1', /the value of "release" must be a string \(quote numbers and booleans\)/);
    refused('release: true', /must be a string/);
    refused('release: {a: b}', /must be a string/);
  });
  it("refuses invalid label keys and values, and the hook's own keys", () => {
    refused('"bad key": x', /"bad key" is not a valid label key/);
    refused(`${'n'.repeat(64)}: x`, /is not a valid label key/);
    refused(`release: ${'v'.repeat(64)}`, /the value of "release" is not a valid label value/);
    refused('vaultapp.techweaver.io/name: other', /"vaultapp.techweaver.io\/name" is reserved/);
    refused('app.kubernetes.io/managed-by: helm', /is reserved/);
  });
  it('hostile maps: "__proto__" stays a key and is refused; a huge map is refused by its size; aliases are bounded', () => {
    refused('__proto__: {polluted: yes}', /"__proto__" is not a valid label key/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    refused(Array.from({ length: 10_000 }, (_, i) => `k${i}: v`).join('\n'), /at most 32 labels, not 10000/);
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(', ')}]`,
      ),
    ].join('\n');
    refused(bomb, /not YAML or JSON: Excessive alias count/);
  });
});
