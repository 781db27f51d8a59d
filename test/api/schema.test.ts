import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { celTwins } from '../../src/api/cel-rules.js';
import { renderCrdYaml } from '../../src/api/crd-yaml.js';
import { describeFieldErrors, FULL_REPORT_MAX_VALUES, holdsMoreValuesThan, MAX_REPORTED_ERRORS, validateVaultApp } from '../../src/api/validate.js';
import { LIST_LIMITS, VaultAppSchema } from '../../src/api/vaultapp-schema.js';
import { loadExample } from '../fixtures/requests.js';

function celRules(schema: unknown, out: string[] = []): string[] {
  if (schema && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema)) {
      if (k === 'x-kubernetes-validations') out.push(...(v as { rule: string }[]).map((r) => r.rule));
      else celRules(v, out);
    }
  }
  return out;
}

describe('the VaultApp schema', () => {
  it('the committed CRD is what the schema generates (run `npm run gen:crd` after a schema change)', () => {
    assert.equal(readFileSync(new URL('../../crds/vaultapp.yaml', import.meta.url), 'utf8'), renderCrdYaml());
  });

  it('the CRD has the status subresource and the readiness and secret printer columns', () => {
    const crd = parse(renderCrdYaml());
    const v = crd.spec.versions[0];
    assert.equal(crd.metadata.name, 'vaultapps.app.techweaver.io');
    assert.deepStrictEqual(v.subresources, { status: {} });
    assert.deepStrictEqual(
      v.additionalPrinterColumns.map((c: { name: string }) => c.name),
      ['Ready', 'Reason', 'Secret', 'Updated', 'Age'],
    );
    // deploymentSpec or statefulSetSpec: exactly one, by a CEL rule.
    assert.deepStrictEqual(v.schema.openAPIV3Schema.properties.spec.required, ['vault']);
  });

  it('every CEL rule has a JavaScript twin, and no twin is left without a rule', () => {
    const rules = celRules(VaultAppSchema);
    assert.ok(rules.length >= 3);
    assert.deepStrictEqual([...new Set(rules)].sort(), Object.keys(celTwins).sort());
  });

  it('the seed example is valid unchanged', () => {
    const r = validateVaultApp(loadExample());
    assert.equal(r.ok, true, JSON.stringify(r));
  });

  const invalid: [string, (a: any) => void, string][] = [
    ['no role', (a) => delete a.spec.vault.role, "spec.vault.role: must have required property 'role'"],
    [
      'empty secrets and no dataFrom',
      (a) => (a.spec.vault.secrets = []),
      'spec.vault: vault needs at least one entry in secrets or in dataFrom: the Secret would have no data',
    ],
    ['duplicate targetKey', (a) => (a.spec.vault.secrets[1].targetKey = 'db_url'), 'spec.vault.secrets: targetKey must be unique'],
    ['monitoring enabled without a port', (a) => delete a.spec.monitoring.port, 'spec.monitoring: port is required when monitoring is enabled'],
    [
      'a targetKey that is not a Secret key',
      (a) => (a.spec.vault.secrets[0].targetKey = 'db/url'),
      'spec.vault.secrets[0].targetKey: targetKey must be a valid Secret key',
    ],
    ['a targetKey of ".."', (a) => (a.spec.vault.secrets[0].targetKey = '..'), 'spec.vault.secrets[0].targetKey: targetKey must be a valid Secret key'],
    [
      'a path with ..',
      (a) => (a.spec.vault.secrets[0].path = 'kv/data/../x'),
      "spec.vault.secrets[0].path: path must not begin or end with '/' or hold '//', and none of its segments may be '.' or begin with '..'",
    ],
    ['a path with a leading /', (a) => (a.spec.vault.secrets[0].path = '/kv/data/x'), "spec.vault.secrets[0].path: path must not begin or end with '/'"],
    ['a path with a %-escape', (a) => (a.spec.vault.secrets[0].path = 'kv/data/%2e%2e/x'), 'spec.vault.secrets[0].path: path may hold only letters, digits'],
    ['a role with a space', (a) => (a.spec.vault.role = 'billing app'), 'spec.vault.role: role must begin with a letter or digit'],
    ['a monitoring port in capitals', (a) => (a.spec.monitoring.port = 'HTTP'), 'spec.monitoring.port: port must be the name of a container port'],
    ['a metrics path without /', (a) => (a.spec.monitoring.path = 'metrics'), "spec.monitoring.path: monitoring.path must begin with '/'"],
    ['an interval without a unit', (a) => (a.spec.monitoring.interval = '30'), 'spec.monitoring.interval: interval must be a duration such as 30s'],
    [
      'a refreshInterval in words',
      (a) => (a.spec.vault.refreshInterval = '5 minutes'),
      'spec.vault.refreshInterval: refreshInterval must be a duration such as 30s',
    ],
    [
      'a secret type with a space',
      (a) => (a.spec.secret = { type: 'kubernetes.io/ tls' }),
      'spec.secret.type: secret.type must be a Secret type such as Opaque',
    ],
    [
      'a path under sys/',
      (a) => (a.spec.vault.secrets[0].path = 'sys/policies/acl/root'),
      "spec.vault.secrets[0].path: path must not reach Vault's system backends: sys/, auth/, identity/ or cubbyhole/ may not appear as a path segment (on Vault Enterprise <namespace>/sys/... is the namespace's system backend)",
    ],
    [
      'a path under cubbyhole/',
      (a) => (a.spec.vault.secrets[0].path = 'cubbyhole/app'),
      "spec.vault.secrets[0].path: path must not reach Vault's system backends",
    ],
    ['the path "cubbyhole"', (a) => (a.spec.vault.secrets[0].path = 'cubbyhole'), "spec.vault.secrets[0].path: path must not reach Vault's system backends"],
    [
      "a Vault Enterprise namespace's sys/",
      (a) => (a.spec.vault.secrets[0].path = 'ns1/sys/policy'),
      "spec.vault.secrets[0].path: path must not reach Vault's system backends",
    ],
    [
      "a namespace's token endpoint",
      (a) => (a.spec.vault.secrets[0].path = 'ns1/auth/token/lookup-self'),
      "spec.vault.secrets[0].path: path must not reach Vault's system backends",
    ],
    [
      "a nested namespace's identity/",
      (a) => (a.spec.vault.secrets[0].path = 'ns1/ns2/identity/entity/name/x'),
      "spec.vault.secrets[0].path: path must not reach Vault's system backends",
    ],
    [
      "a namespace's cubbyhole/",
      (a) => (a.spec.vault.secrets[0].path = 'ns1/cubbyhole/x'),
      "spec.vault.secrets[0].path: path must not reach Vault's system backends",
    ],
    [
      'a reserved word in the middle of a deeper path',
      (a) => (a.spec.vault.secrets[0].path = 'kv/data/sys/x'),
      "spec.vault.secrets[0].path: path must not reach Vault's system backends",
    ],
    [
      'no containers',
      (a) => (a.spec.deploymentSpec.template.spec.containers = []),
      'spec.deploymentSpec.template.spec.containers: must NOT have fewer than 1 items',
    ],
    ['no deploymentSpec', (a) => delete a.spec.deploymentSpec, 'spec: give exactly one of deploymentSpec and statefulSetSpec'],
    [
      'both deploymentSpec and statefulSetSpec',
      (a) => (a.spec.statefulSetSpec = structuredClone(a.spec.deploymentSpec)),
      'spec: give exactly one of deploymentSpec and statefulSetSpec',
    ],
    [
      'a statefulSetSpec without containers',
      (a) => {
        a.spec.statefulSetSpec = structuredClone(a.spec.deploymentSpec);
        delete a.spec.deploymentSpec;
        a.spec.statefulSetSpec.template.spec.containers = [];
      },
      'spec.statefulSetSpec.template.spec.containers: must NOT have fewer than 1 items',
    ],
    [
      'a statefulSetSpec serviceName that is not a DNS label',
      (a) => {
        a.spec.statefulSetSpec = { ...structuredClone(a.spec.deploymentSpec), serviceName: 'Billing_DB' };
        delete a.spec.deploymentSpec;
      },
      'spec.statefulSetSpec.serviceName: serviceName must be the name of a Service',
    ],
    [
      '257 claim templates',
      (a) => {
        a.spec.statefulSetSpec = {
          ...structuredClone(a.spec.deploymentSpec),
          volumeClaimTemplates: Array.from({ length: 257 }, (_, i) => ({ metadata: { name: `d${i}` } })),
        };
        delete a.spec.deploymentSpec;
      },
      'spec.statefulSetSpec.volumeClaimTemplates: must NOT have more than 256 items',
    ],
  ];
  // A reserved word as the last segment of a deeper path is an ordinary secret name, and a word that only starts like one is no reserved word.
  for (const path of ['kv/data/app/auth', 'kv/app/sys', 'ns1/kv/cubbyhole', 'sysx/foo', 'kv/authority/x', 'kv/my-sys/x', 'kv/identity.json', 'Sys/policy']) {
    it(`accepts the path ${JSON.stringify(path)}`, () => {
      const app = structuredClone(loadExample());
      app.spec.vault.secrets[0]!.path = path;
      const r = validateVaultApp(app);
      assert.equal(r.ok, true, JSON.stringify(r));
    });
  }

  for (const [name, mutate, expected] of invalid) {
    it(`rejects ${name}, naming the field`, () => {
      const app = structuredClone(loadExample());
      mutate(app);
      const r = validateVaultApp(app);
      assert.equal(r.ok, false);
      const text = r.ok ? '' : r.errors.map((e) => `${e.field}: ${e.message}`).join('\n');
      assert.ok(text.includes(expected), `expected "${expected}" in:\n${text}`);
    });
  }

  describe('typed lists have a maximum (Kubernetes has none; these are far above what pods use)', () => {
    const spec = (a: any) => a.spec.deploymentSpec.template.spec;
    const container = (i: number) => ({ name: `c${i}`, image: 'busybox' });
    const lists: [string, number, (a: any, n: number) => void][] = [
      ['containers', LIST_LIMITS.containers, (a, n) => (spec(a).containers = Array.from({ length: n }, (_, i) => container(i)))],
      ['initContainers', LIST_LIMITS.containers, (a, n) => (spec(a).initContainers = Array.from({ length: n }, (_, i) => container(i)))],
      ['volumes', LIST_LIMITS.volumes, (a, n) => (spec(a).volumes = Array.from({ length: n }, (_, i) => ({ name: `v${i}`, emptyDir: {} })))],
      ['containers[0].ports', LIST_LIMITS.ports, (a, n) => (spec(a).containers[0].ports = Array.from({ length: n }, (_, i) => ({ containerPort: 1000 + i })))],
      [
        'containers[0].volumeMounts',
        LIST_LIMITS.volumeMounts,
        (a, n) => (spec(a).containers[0].volumeMounts = Array.from({ length: n }, (_, i) => ({ name: 'v', mountPath: `/m/${i}` }))),
      ],
      [
        'containers[0].envFrom',
        LIST_LIMITS.envFrom,
        (a, n) => (spec(a).containers[0].envFrom = Array.from({ length: n }, (_, i) => ({ configMapRef: { name: `c${i}` } }))),
      ],
    ];
    for (const [list, max, fill] of lists) {
      it(`${list}: ${max} entries pass, ${max + 1} are refused naming the list`, () => {
        const ok = structuredClone(loadExample());
        fill(ok, max);
        assert.equal(validateVaultApp(ok).ok, true);
        const over = structuredClone(loadExample());
        fill(over, max + 1);
        const r = validateVaultApp(over);
        assert.equal(r.ok, false);
        assert.match(
          describeFieldErrors(r.ok ? [] : r.errors),
          new RegExp(`template\\.spec\\.${list.replace(/[.[\]]/g, '\\$&')}: must NOT have more than ${max} items`),
        );
      });
    }
  });

  describe('errors do not amplify', () => {
    it(`a message lists the first ${MAX_REPORTED_ERRORS} errors and counts the rest`, () => {
      const app = structuredClone(loadExample()) as any;
      app.spec.deploymentSpec.template.spec.containers = Array.from({ length: 30 }, () => ({}));
      const r = validateVaultApp(app);
      assert.equal(r.ok, false);
      const errors = r.ok ? [] : r.errors;
      assert.equal(errors.length, 30, 'all errors are found in a VaultApp of ordinary size');
      const text = describeFieldErrors(errors);
      assert.equal(text.split('; ').length, MAX_REPORTED_ERRORS + 1);
      assert.match(text, /containers\[19\]\.name: must have required property 'name'; and 10 more$/);
      assert.ok(!text.includes('containers[20]'));
    });

    it('300 000 nameless containers (0.86 MiB) give one error naming the list, not 300 000', () => {
      const app = structuredClone(loadExample()) as any;
      app.spec.deploymentSpec.template.spec.containers = Array.from({ length: 300_000 }, () => ({}));
      const r = validateVaultApp(app);
      assert.equal(r.ok, false);
      const errors = r.ok ? [] : r.errors;
      assert.equal(errors.length, 1);
      const text = describeFieldErrors(errors);
      assert.ok(text.length < 400, text);
      assert.match(
        text,
        /^spec\.deploymentSpec\.template\.spec\.containers(\[0\]\.name)?: must .* \(the first error found; a VaultApp of more than 5000 values is checked up to its first error\)$/,
      );
    });

    it(`just under ${FULL_REPORT_MAX_VALUES} values every error is still found; just over, the first`, () => {
      const app = structuredClone(loadExample()) as any;
      const c = app.spec.deploymentSpec.template.spec.containers[0];
      c.ports = [];
      c.env = [];
      c.volumeMounts = [1, 2];
      while (!holdsMoreValuesThan(app, FULL_REPORT_MAX_VALUES - 1)) c.env.push(0);
      c.env.pop();
      let r = validateVaultApp(app);
      assert.equal(r.ok ? 0 : r.errors.length, 2);
      c.env.push(0, 0);
      r = validateVaultApp(app);
      assert.equal(r.ok ? 0 : r.errors.length, 1);
    });

    it('holdsMoreValuesThan counts objects, lists and scalars, iteratively', () => {
      assert.equal(holdsMoreValuesThan({ a: [1, 2], b: { c: null } }, 6), false);
      assert.equal(holdsMoreValuesThan({ a: [1, 2], b: { c: null } }, 5), true);
      let deep: unknown = 0;
      for (let i = 0; i < 100_000; i++) deep = [deep];
      assert.equal(holdsMoreValuesThan(deep, 200_000), false);
    });
  });
});
