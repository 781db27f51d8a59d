// Generators of hostile hook requests for the fuzz tests: a well-formed
// Metacontroller request (the seed example with an observed Secret and
// Deployment) bent by one to four mutations — a value replaced by one of the wrong
// type, a long string or array, deep nesting, odd Unicode keys (including
// __proto__), Vault paths that try to leave the spec's reach, colliding
// targetKeys, hostile lease annotations — and sent as JSON or YAML.
import fc from 'fast-check';
import type { KubeObject, SyncRequest } from '../../src/hook/types.js';
import { loadExample, request } from '../fixtures/requests.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Strings that have broken parsers, loggers and terminals before. */
export const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  '\ufeff',
  '\u202e',
  '\u200b',
  '\u2028',
  '\u{1F4A9}',
  'é',
  'e\u0301',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '..',
  '.',
  '/',
  '\\',
  '%2e%2e',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the JNDI lookup is a hostile string on purpose
  '${jndi:x}',
  '{{x}}',
  '<script>',
  '"',
  "'",
  '\n',
  '\r\n',
  '*',
  '~',
  'null',
  'true',
  '0',
  '-1',
  '1e309',
  'NaN',
];

/** Vault paths a VaultApp must never make the hook read: all must end in 422 with no Vault call. */
export const HOSTILE_PATHS = [
  '..',
  '../sys/mounts',
  'kv/../sys/mounts',
  'kv/data/../../sys/policy',
  'kv/./data/x',
  './kv/data/x',
  'kv//data/x',
  'kv/data/x/',
  '/sys/mounts',
  '/kv/data/x',
  '//kv/data/x',
  'sys',
  'sys/',
  'sys/mounts',
  'sys/policy/root',
  'sys/raw/core',
  'auth',
  'auth/',
  'auth/token/lookup-self',
  'auth/token/create',
  'auth/kubernetes/role/x',
  'identity',
  'identity/entity/id',
  'kv/data/%2e%2e/sys',
  'kv/data/x?list=true',
  'kv/data/x#y',
  'kv/data/x y',
  'kv\\data\\x',
  'kv/data/\u0000',
  'kv/data/\u202ex',
  'kv/data/\u2025',
  '',
  'kv/data/..',
  'kv/data/.',
  'kv/..',
  'kv/data/x/..',
  // Vault Enterprise namespaces' own system backends, and the (shared, in token mode) token's cubbyhole.
  'ns1/sys/policy',
  'ns1/auth/token/lookup-self',
  'ns1/ns2/identity/entity/id',
  'cubbyhole',
  'cubbyhole/x',
  'ns1/cubbyhole/x',
  'kv/data/sys/x',
];

export type Path = (string | number)[];

const SECRET_NAME_CONST = 'billing-service-vault-secrets';

export function pathsOf(value: Json, max = 400): Path[] {
  const out: Path[] = [];
  const walk = (v: Json, p: Path): void => {
    if (out.length >= max) return;
    out.push(p);
    if (Array.isArray(v))
      v.forEach((x, i) => {
        walk(x, [...p, i]);
      });
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  };
  walk(value, []);
  return out;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function setAt(root: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? null : clone(value);
  let node = root as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else {
    // defineProperty, so that a "__proto__" key becomes an own property as a JSON parser makes it.
    // A clone: generators hand out shared constants, which later mutations must not tie into cycles.
    Object.defineProperty(node, last, { value: clone(value), enumerable: true, writable: true, configurable: true });
  }
  return root;
}

const nested = (depth: number, leaf: Json, asArray: boolean): Json => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
};

const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, '', [], {}, [null], { '': null }),
  fc.constantFrom(...ODD_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.tuple(fc.integer({ min: 100, max: 2_000 }), fc.constantFrom<Json>('x', 0, {}, null)).map(([n, v]) => Array.from({ length: n }, () => v)),
  fc.tuple(fc.integer({ min: 50, max: 3_000 }), fc.boolean()).map(([d, arr]) => nested(d, 'deep', arr)),
  fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>,
);

const hostileKey = fc.oneof(
  fc.constantFrom(...ODD_STRINGS),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 300, max: 2000 }).map((n) => 'k'.repeat(n)),
);

/** Fields the hook reads from the VaultApp's free-form deploymentSpec and from observed children. */
export const CONSUMED_FIELDS: Path[] = [
  ['parent', 'spec', 'deploymentSpec', 'template', 'spec', 'volumes'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'spec', 'initContainers'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'spec', 'containers', 0, 'volumeMounts'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'spec', 'containers', 0, 'ports'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'spec', 'containers', 0, 'ports', 0],
  ['parent', 'spec', 'deploymentSpec', 'template', 'spec', 'containers', 0, 'envFrom'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'spec', 'containers', 0, 'name'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'metadata'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'metadata', 'annotations'],
  ['parent', 'spec', 'deploymentSpec', 'template', 'metadata', 'labels'],
  ['parent', 'spec', 'deploymentSpec', 'replicas'],
  ['parent', 'spec', 'deploymentSpec', 'selector'],
  ['parent', 'spec', 'vault', 'injectEnv'],
  ['parent', 'spec', 'vault', 'rotation'],
  ['parent', 'spec', 'monitoring'],
  ['parent', 'status'],
  ['parent', 'status', 'conditions'],
  ['parent', 'metadata', 'generation'],
  ['children', 'Deployment.apps/v1', 'billing-service', 'status'],
  ['children', 'Deployment.apps/v1', 'billing-service', 'status', 'conditions'],
  ['children', 'Deployment.apps/v1', 'billing-service', 'spec'],
  ['children', 'Deployment.apps/v1', 'billing-service', 'spec', 'template', 'metadata', 'annotations'],
  ['children', 'Deployment.apps/v1', 'billing-service', 'metadata', 'generation'],
  ['children', 'Secret.v1', SECRET_NAME_CONST, 'metadata', 'annotations'],
  ['children', 'Secret.v1', SECRET_NAME_CONST, 'data'],
  ['children', 'Service.v1'],
  ['children', 'ServiceMonitor.monitoring.coreos.com/v1'],
  ['related'],
  ['finalizing'],
  ['controller'],
];

/** An observed lease annotation: valid-looking records with extreme fields, or junk. */
export const leaseAnnotation: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        path: fc.constantFrom('kv/data/billing/database', 'kv/data/billing/provider-x', 'database/creds/x'),
        leaseId: fc.constantFrom('database/creds/x/abc', ''),
        issuedAt: fc.constantFrom('2026-11-27T11:00:00Z', 'garbage', '+275760-09-13T00:00:00Z', '1970-01-01T00:00:00Z'),
        renewedAt: fc.constantFrom('2026-11-27T11:00:00Z', '+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z', '1970-01-01T00:00:00Z'),
        duration: fc.oneof(fc.constantFrom(0, -1, 1e308, -1e308, 3600), fc.double()),
        ttl: fc.oneof(fc.constantFrom(0, -1, 1e308, -1e308, 3600), fc.double()),
        renewable: fc.boolean(),
        maxed: fc.boolean(),
        token: fc.option(fc.constantFrom('v1.AAAA', 'junk'), { nil: undefined }),
        tokenExpiresAt: fc.option(fc.constantFrom('2026-11-27T13:00:00Z', 'garbage', '+275760-09-13T00:00:00Z'), { nil: undefined }),
        tokenRenewedAt: fc.option(fc.constantFrom('2026-11-27T11:00:00Z', 'garbage'), { nil: undefined }),
        tokenTtl: fc.option(fc.oneof(fc.constantFrom(0, 1e308, -5), fc.double()), { nil: undefined }),
        tokenMaxed: fc.option(fc.boolean(), { nil: undefined }),
      },
      { requiredKeys: ['path', 'leaseId', 'renewedAt', 'duration', 'ttl', 'renewable'] },
    )
    .map((r) => JSON.stringify([r])),
);

export type Mutation =
  | { kind: 'field'; field: number; value: Json }
  | { kind: 'replace'; at: number; value: Json }
  | { kind: 'delete'; at: number }
  | { kind: 'addKey'; at: number; key: string; value: Json }
  | { kind: 'vaultPath'; entry: number; path: string }
  | { kind: 'collideTargetKey'; entry: number }
  | { kind: 'manySecrets'; count: number }
  | { kind: 'leaseAnnotation'; text: string }
  | { kind: 'secretData'; value: Json };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('field' as const),
      field: fc.nat(CONSUMED_FIELDS.length - 1),
      value: fc.oneof(
        hostileValue,
        fc.array(hostileValue, { maxLength: 3 }),
        fc.array(fc.dictionary(hostileKey, hostileValue, { maxKeys: 3 }), { maxLength: 3 }),
      ),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('addKey' as const), at: fc.nat(), key: hostileKey, value: hostileValue }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('vaultPath' as const),
      entry: fc.nat(3),
      path: fc.oneof(
        fc.constantFrom(...HOSTILE_PATHS),
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.tuple(fc.constantFrom(...HOSTILE_PATHS), fc.constantFrom('sys/', 'auth/', 'identity/', '../', '/')).map(([a, b]) => b + a),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('collideTargetKey' as const), entry: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('manySecrets' as const), count: fc.integer({ min: 60, max: 2000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leaseAnnotation' as const), text: leaseAnnotation }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('secretData' as const), value: fc.oneof(hostileValue, fc.dictionary(hostileKey, hostileValue, { maxKeys: 5 })) }),
  },
);

export const SECRET_NAME = SECRET_NAME_CONST;

/** The unmutated request: the seed example with its Secret and Deployment already observed. */
export function baseRequest(): SyncRequest {
  const parent = loadExample();
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SECRET_NAME, namespace: 'default' },
    type: 'Opaque',
    data: { db_url: 'b2xkLWRi', provider_x_api_key: 'b2xkLXB4' },
  };
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'billing-service', namespace: 'default', generation: 1 },
    spec: structuredClone(parent.spec.deploymentSpec) as unknown as Record<string, unknown>,
    status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
  };
  return request(parent, [secret, deployment]);
}

export function applyMutations(base: SyncRequest, mutations: Mutation[]): Json {
  let root = clone(base) as unknown as Json;
  const obj = () =>
    root as {
      parent: { spec: { vault: { secrets: { path: string; key: string; targetKey: string }[] } } };
      children: Record<string, Record<string, { metadata?: { annotations?: Record<string, string> }; data?: Json }>>;
    };
  for (const m of mutations) {
    const paths = pathsOf(root);
    switch (m.kind) {
      case 'field': {
        const p = CONSUMED_FIELDS[m.field % CONSUMED_FIELDS.length]!;
        if (get(root, p.slice(0, -1)) !== null && typeof get(root, p.slice(0, -1)) === 'object') root = setAt(root, p, m.value);
        break;
      }
      case 'replace':
        root = setAt(root, paths[m.at % paths.length]!, m.value);
        break;
      case 'delete': {
        const p = paths[m.at % paths.length]!;
        if (p.length > 0) root = setAt(root, p, undefined);
        break;
      }
      case 'addKey': {
        const objects = paths.filter((p) => {
          const v = get(root, p);
          return v !== null && typeof v === 'object' && !Array.isArray(v);
        });
        if (objects.length > 0) {
          const p = objects[m.at % objects.length]!;
          root = setAt(root, [...p, m.key], m.value);
        }
        break;
      }
      case 'vaultPath': {
        const s = obj()?.parent?.spec?.vault?.secrets;
        if (Array.isArray(s) && s.length > 0) {
          const e = s[m.entry % s.length];
          if (e && typeof e === 'object') e.path = m.path;
        }
        break;
      }
      case 'collideTargetKey': {
        const s = obj()?.parent?.spec?.vault?.secrets;
        if (Array.isArray(s) && s.length > 0) {
          const e = s[m.entry % s.length];
          if (e && typeof e === 'object') s.push({ path: 'kv/data/billing/other', key: 'k', targetKey: e.targetKey });
        }
        break;
      }
      case 'manySecrets': {
        const s = obj()?.parent?.spec?.vault?.secrets;
        if (Array.isArray(s)) for (let i = 0; i < m.count; i++) s.push({ path: `kv/data/many/${i}`, key: 'k', targetKey: `k${i}` });
        break;
      }
      case 'leaseAnnotation': {
        const secret = obj()?.children?.['Secret.v1']?.[SECRET_NAME];
        if (secret && typeof secret === 'object' && secret.metadata && typeof secret.metadata === 'object') {
          secret.metadata.annotations = {
            ...(typeof secret.metadata.annotations === 'object' ? secret.metadata.annotations : {}),
            'vaultapp.techweaver.io/leases': m.text,
          };
        }
        break;
      }
      case 'secretData': {
        const secret = obj()?.children?.['Secret.v1']?.[SECRET_NAME];
        if (secret && typeof secret === 'object') secret.data = clone(m.value);
        break;
      }
    }
  }
  return root;
}

function get(root: Json, path: Path): Json | undefined {
  let v: Json | undefined = root;
  for (const k of path) v = (v as Record<string | number, Json> | null)?.[k];
  return v;
}
