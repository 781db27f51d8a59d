// The one VaultApp schema. It is the CRD's openAPIV3Schema (scripts/gen-crd.ts),
// the hook's runtime validation (./validate.ts) and, through Static<>, the types.
// Constraints must be expressible both in Kubernetes' structural-schema subset
// (RE2 patterns, no if/then, CEL rules) and in ajv: hence no lookaheads and every
// CEL rule has a JavaScript twin in ./cel-rules.ts. A person reads every refusal, so the
// syntax of a string field is a CEL rule with a sentence (./string-rules.ts), never a
// `pattern`, whose refusal would quote the regular expression.
import { Type, type Static } from '@sinclair/typebox';
import type { DeploymentSpec, StatefulSetSpec } from 'kubernetes-types/apps/v1.js';
import { SECRET_SPEC_VALIDATIONS, SecretSpecSchema } from './secret-spec-schema.js';
import { extraLabelsSchema } from './string-map-schema.js';
import {
  celString,
  DATA_FROM_PREFIX_RULE,
  ENTRY_NAME_RULE,
  INTERVAL_RULE,
  METRICS_PATH_RULE,
  PATH_CHARACTERS_RULE,
  PATH_SEGMENTS_RULE,
  PORT_RULE,
  REFRESH_INTERVAL_RULE,
  ROLE_RULE,
  SECRET_KEY_PATTERN,
  SERVICE_NAME_RULE,
  REFUSED_KEYS_CEL,
  REFUSED_KEYS_WORDS,
  TARGET_KEY_NOT_REFUSED_RULE,
  TARGET_KEY_RULE,
  validations,
} from './string-rules.js';

export { SECRET_KEY_PATTERN, VAULT_PATH_PATTERN } from './string-rules.js';

export const RULE_UNIQUE_TARGET_KEYS = 'self.all(x, !has(x.targetKey) || self.exists_one(y, has(y.targetKey) && y.targetKey == x.targetKey))';
// Templates (spec.vault.templates): an entry's value is {{ <name>.<key> }}; entries of one name are one read.
export const RULE_TARGET_OR_NAME = 'has(self.targetKey) || has(self.name)';
export const RULE_NAME_ONE_PATH = 'self.all(x, !has(x.name) || self.all(y, !has(y.name) || y.name != x.name || y.path == x.path))';
export const MAX_TEMPLATES = 32;
export const MAX_TEMPLATE_LENGTH = 8192;
export const RULE_TEMPLATE_KEYS = `self.all(k, k.size() <= 253 && k.matches(${celString(SECRET_KEY_PATTERN)}))`;
export const RULE_TEMPLATE_KEYS_NOT_REFUSED = `self.all(k, !(k in ${REFUSED_KEYS_CEL}))`;
export const RULE_TEMPLATE_ONLY_NEEDS_TEMPLATES = 'self.secrets.all(s, has(s.targetKey)) || has(self.templates)';
export const RULE_TEMPLATES_NOT_TARGETS = '!has(self.templates) || self.secrets.all(s, !has(s.targetKey) || !(s.targetKey in self.templates))';
export const RULE_PORT_WHEN_ENABLED = "!self.enabled || (has(self.port) && self.port != '')";
// Vault's system backends: sys/, auth/ and identity/ at the root, and the same under a
// Vault Enterprise namespace (ns1/sys/policy is ns1's own sys/); cubbyhole/ is the
// calling token's private storage, which in token mode every tenant would share.
// Refused as the first segment, and as any segment followed by another; as the last
// segment of a deeper path (kv/app/auth) it is an ordinary secret name. One RE2 pattern,
// used by the CEL rule and by its JavaScript twin (./cel-rules.ts).
export const SYSTEM_PATH_PATTERN = '^(sys|auth|identity|cubbyhole)(/|$)|/(sys|auth|identity|cubbyhole)/';
export const RULE_NO_SYSTEM_PATH = `!self.matches('${SYSTEM_PATH_PATTERN}')`;
export const SYSTEM_PATH_MESSAGE =
  "path must not reach Vault's system backends: sys/, auth/, identity/ or cubbyhole/ may not appear as a path " +
  "segment (on Vault Enterprise <namespace>/sys/... is the namespace's system backend)";
// The Secret is named <name>-vault-secrets, and object names stop at 253 characters.
export const MAX_NAME_LENGTH = 253 - '-vault-secrets'.length;
export const RULE_NAME_LENGTH = `self.metadata.name.size() <= ${MAX_NAME_LENGTH}`;
export const ROOT_VALIDATIONS = [
  { rule: RULE_NAME_LENGTH, message: `metadata.name must be at most ${MAX_NAME_LENGTH} characters: the managed Secret is named <name>-vault-secrets` },
];

const preserve = { 'x-kubernetes-preserve-unknown-fields': true } as const;

export const VaultSecretSchema = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      maxLength: 512,
      description:
        'Vault API path of the secret, e.g. kv/data/billing/database (KV v2), kv1/billing (KV v1) or database/creds/app (leased). On a KV v2 mount, a path without data/ is read through data/ like `vault kv get` does. Paths through sys/, auth/, identity/ or cubbyhole/ (also under a namespace) are refused.',
      'x-kubernetes-validations': [...validations(PATH_CHARACTERS_RULE, PATH_SEGMENTS_RULE), { rule: RULE_NO_SYSTEM_PATH, message: SYSTEM_PATH_MESSAGE }],
    }),
    key: Type.String({ minLength: 1, maxLength: 256, description: 'Key inside the secret data at path.' }),
    targetKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description:
          'Key in the managed Secret, and file name under /etc/secrets/vault. Left out, the value feeds vault.templates only (the entry then needs a name).',
        'x-kubernetes-validations': validations(TARGET_KEY_RULE, TARGET_KEY_NOT_REFUSED_RULE),
      }),
    ),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        description:
          'Makes the value available to vault.templates as {{ <name>.<key> }}. Entries of one name must read the same path: ' +
          'one read, so the username and password of a dynamic credential come from one lease.',
        'x-kubernetes-validations': validations(ENTRY_NAME_RULE),
      }),
    ),
  },
  {
    'x-kubernetes-validations': [{ rule: RULE_TARGET_OR_NAME, message: 'an entry without targetKey feeds templates only, and needs a name' }],
  },
);

/** Keys all dataFrom entries of one VaultApp copy at most (a tenant's Vault secret may hold 100,000). */
export const MAX_DATA_FROM_KEYS = 256;
export const RULE_SOME_SOURCE = 'self.secrets.size() > 0 || has(self.dataFrom)';

export const DataFromSchema = Type.Object({
  path: Type.String({
    minLength: 1,
    maxLength: 512,
    description: 'Vault API path of a KV secret (v1 or v2) whose every key is copied into the managed Secret. Same path rules as vault.secrets.',
    'x-kubernetes-validations': [...validations(PATH_CHARACTERS_RULE, PATH_SEGMENTS_RULE), { rule: RULE_NO_SYSTEM_PATH, message: SYSTEM_PATH_MESSAGE }],
  }),
  prefix: Type.Optional(
    Type.String({
      maxLength: 128,
      'x-kubernetes-validations': validations(DATA_FROM_PREFIX_RULE),
      description: 'Put before each key in the Secret (e.g. db_ gives db_password). Default: none.',
    }),
  ),
});

export const VaultSpecSchema = Type.Object(
  {
    role: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'Vault role to log in with (Kubernetes auth).',
      'x-kubernetes-validations': validations(ROLE_RULE),
    }),
    // Defaulted by the API server, so a VaultApp of dataFrom alone may leave it out.
    secrets: Type.Array(VaultSecretSchema, {
      maxItems: 64,
      default: [],
      description: 'Values to copy from Vault into the managed Secret, one key each. May be empty (or left out) when dataFrom is given.',
      'x-kubernetes-validations': [
        { rule: RULE_UNIQUE_TARGET_KEYS, message: 'targetKey must be unique' },
        { rule: RULE_NAME_ONE_PATH, message: 'entries sharing a name must read the same path: a name is one read (for a dynamic credential, one lease)' },
      ],
    }),
    dataFrom: Type.Optional(
      Type.Array(DataFromSchema, {
        minItems: 1,
        maxItems: 16,
        description:
          `Vault KV secrets whose every key is copied into the managed Secret (at most ${MAX_DATA_FROM_KEYS} keys in all). ` +
          'A key that is also a targetKey of vault.secrets, or that an earlier dataFrom entry already gave, is skipped and reported (the explicit one wins); ' +
          'so is a key that is not a valid Secret key, or is __proto__, constructor or prototype.',
      }),
    ),
    rotation: Type.Optional(
      Type.Unsafe<'restart' | 'none'>({
        type: 'string',
        enum: ['restart', 'none'],
        default: 'restart',
        description:
          'When the data changes: restart rolls the pods once the Secret holds the new data; none leaves them running (the kubelet refreshes the mounted files; for applications that reload).',
      }),
    ),
    injectEnv: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Also expose every key as an environment variable (envFrom the Secret). Environment variables are read once, so a change always rolls the pods.',
      }),
    ),
    refreshInterval: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        'x-kubernetes-validations': validations(REFRESH_INTERVAL_RULE),
        description:
          "How long values read from Vault are used before they are read again (e.g. 5m, 1h; 0 reads at every sync). Default: the hook's VAULTAPP_REFRESH_SECONDS. Dynamic credentials keep their own lease schedule; the annotation vaultapp.techweaver.io/refresh (any new value) forces a read at the next sync.",
      }),
    ),
    // Unsafe: TypeBox's Record is patternProperties, which a structural schema does not allow.
    templates: Type.Optional(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        additionalProperties: { type: 'string', maxLength: MAX_TEMPLATE_LENGTH },
        maxProperties: MAX_TEMPLATES,
        description:
          'Keys of the managed Secret rendered from the values of named vault.secrets entries with Liquid, ' +
          'e.g. DATABASE_URL: "postgresql://{{ db.username }}:{{ db.password }}@db:5432/app". An unknown variable, a parse ' +
          'error or a render limit is reported naming the key, and the Secret keeps its data. Filters are an allowlist of ' +
          'deterministic ones whose cost is bounded by their input (no sample, date or *_exp filters).',
        'x-kubernetes-validations': [
          {
            rule: RULE_TEMPLATE_KEYS,
            message: 'every template key must be a Secret key: [-._a-zA-Z0-9], at most 253 characters, not "." or starting with ".."',
          },
          {
            rule: RULE_TEMPLATE_KEYS_NOT_REFUSED,
            message: `no template key may be ${REFUSED_KEYS_WORDS}: names of an object's prototype chain, which JSON parsers refuse or drop`,
          },
        ],
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      { rule: RULE_SOME_SOURCE, message: 'vault needs at least one entry in secrets or in dataFrom: the Secret would have no data' },
      { rule: RULE_TEMPLATES_NOT_TARGETS, message: 'a template key may not also be a targetKey of vault.secrets: each key of the Secret has one source' },
      { rule: RULE_TEMPLATE_ONLY_NEEDS_TEMPLATES, message: 'an entry without targetKey feeds templates only: give vault.templates, or the entry a targetKey' },
    ],
  },
);

export const MonitoringSpecSchema = Type.Object(
  {
    enabled: Type.Boolean({ description: 'Create a metrics Service and a ServiceMonitor.' }),
    port: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 15,
        description: 'Name of the container port to scrape. Required when enabled.',
        'x-kubernetes-validations': validations(PORT_RULE),
      }),
    ),
    path: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        default: '/metrics',
        description: 'HTTP path of the metrics endpoint.',
        'x-kubernetes-validations': validations(METRICS_PATH_RULE),
      }),
    ),
    interval: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        default: '30s',
        description: 'Scrape interval.',
        'x-kubernetes-validations': validations(INTERVAL_RULE),
      }),
    ),
    labels: extraLabelsSchema(
      "Labels of the ServiceMonitor, over the hook's defaults (VAULTAPP_MONITORING_LABELS): e.g. " +
        'release: kube-prometheus-stack, for a Prometheus that selects ServiceMonitors by label. ' +
        "Keys under vaultapp.techweaver.io/ and app.kubernetes.io/managed-by are the hook's own.",
    ),
  },
  {
    'x-kubernetes-validations': [{ rule: RULE_PORT_WHEN_ENABLED, message: 'port is required when monitoring is enabled' }],
  },
);

// The embedded DeploymentSpec is checked for its shape here and in full by the
// API server when Metacontroller applies the Deployment; embedding the whole
// apps/v1 schema would make the CRD several hundred kilobytes.
// The lists the hook reads or extends are typed here, so that a VaultApp with,
// say, `ports: "http"` is refused at admission instead of failing every sync.
// Kubernetes sets no maximum on these lists; the ones here are far above what a pod
// uses (a handful of containers, a few dozen mounts) and bound what one VaultApp makes
// the hook and the API server walk.
export const LIST_LIMITS = { containers: 128, volumes: 1024, ports: 1024, volumeMounts: 1024, envFrom: 256, volumeClaimTemplates: 256 } as const;
const listOfObjects = (maxItems: number) => Type.Array(Type.Object({}, preserve), { maxItems });
const ContainerSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    ports: Type.Optional(listOfObjects(LIST_LIMITS.ports)),
    volumeMounts: Type.Optional(listOfObjects(LIST_LIMITS.volumeMounts)),
    envFrom: Type.Optional(listOfObjects(LIST_LIMITS.envFrom)),
  },
  preserve,
);

// What a Deployment and a StatefulSet share and the hook reads or extends.
const workloadFields = {
  selector: Type.Object({}, { ...preserve, description: 'Label selector of the pods (apps/v1).' }),
  template: Type.Object(
    {
      metadata: Type.Optional(Type.Object({}, preserve)),
      spec: Type.Object(
        {
          containers: Type.Array(ContainerSchema, { minItems: 1, maxItems: LIST_LIMITS.containers }),
          initContainers: Type.Optional(Type.Array(ContainerSchema, { maxItems: LIST_LIMITS.containers })),
          volumes: Type.Optional(Type.Array(Type.Object({ name: Type.String({ minLength: 1 }) }, preserve), { maxItems: LIST_LIMITS.volumes })),
        },
        preserve,
      ),
    },
    preserve,
  ),
};

const DeploymentSpecSchema = Type.Unsafe<DeploymentSpec>(
  Type.Object(workloadFields, {
    ...preserve,
    description: 'An apps/v1 DeploymentSpec for the application. Exactly one of deploymentSpec and statefulSetSpec.',
  }),
);

// A DNS-1123 label, or empty (apps/v1 lets a StatefulSet go without a governing Service).
// Kubernetes refuses a change of these on an existing StatefulSet: refused here too, when
// the user makes it, instead of every apply failing (transition rules, updates only).
// selector and volumeClaimTemplates are immutable as well, but are untyped objects here,
// which CEL cannot compare whole.
const unchanged = (field: string, none: string): string =>
  `(has(self.${field}) ? self.${field} : '${none}') == (has(oldSelf.${field}) ? oldSelf.${field} : '${none}')`;
export const RULE_SERVICE_NAME_FIXED = unchanged('serviceName', '');
export const RULE_POD_MANAGEMENT_FIXED = unchanged('podManagementPolicy', 'OrderedReady');
// The claim templates' names become pod volumes; the hook reads them to keep its own
// volume's name free (a claim template named like it would replace the Secret volume).
const StatefulSetSpecSchema = Type.Unsafe<StatefulSetSpec>(
  Type.Object(
    {
      ...workloadFields,
      serviceName: Type.Optional(
        Type.String({
          maxLength: 63,
          description: "The headless Service that governs the pods' network identity (optional in apps/v1; immutable).",
          'x-kubernetes-validations': validations(SERVICE_NAME_RULE),
        }),
      ),
      podManagementPolicy: Type.Optional(
        Type.Unsafe<'OrderedReady' | 'Parallel'>({
          type: 'string',
          enum: ['OrderedReady', 'Parallel'],
          description: 'OrderedReady (the default) or Parallel; immutable.',
        }),
      ),
      volumeClaimTemplates: Type.Optional(
        Type.Array(
          Type.Object(
            {
              metadata: Type.Optional(Type.Object({ name: Type.Optional(Type.String()) }, preserve)),
            },
            preserve,
          ),
          { maxItems: LIST_LIMITS.volumeClaimTemplates },
        ),
      ),
    },
    {
      ...preserve,
      description: 'An apps/v1 StatefulSetSpec for the application, instead of deploymentSpec. The kind cannot change once the VaultApp exists.',
      'x-kubernetes-validations': [
        { rule: RULE_SERVICE_NAME_FIXED, message: "statefulSetSpec.serviceName cannot be changed: Kubernetes does not let a StatefulSet's serviceName change" },
        {
          rule: RULE_POD_MANAGEMENT_FIXED,
          message: "statefulSetSpec.podManagementPolicy cannot be changed: Kubernetes does not let a StatefulSet's podManagementPolicy change",
        },
      ],
    },
  ),
);

// Exactly one workload; and its kind is fixed at creation (a transition rule, on updates
// only): switching would delete the running workload and start another in its place.
export const RULE_ONE_WORKLOAD = 'has(self.deploymentSpec) != has(self.statefulSetSpec)';
export const RULE_WORKLOAD_KIND_FIXED = 'has(self.deploymentSpec) == has(oldSelf.deploymentSpec)';
export const WORKLOAD_VALIDATIONS = [
  { rule: RULE_ONE_WORKLOAD, message: 'give exactly one of deploymentSpec and statefulSetSpec' },
  {
    rule: RULE_WORKLOAD_KIND_FIXED,
    message:
      "deploymentSpec and statefulSetSpec cannot be swapped: the workload's kind is fixed when the VaultApp is created. " +
      'To change it, delete the VaultApp and create it again',
  },
];

export const VaultAppSpecSchema = Type.Object(
  {
    deploymentSpec: Type.Optional(DeploymentSpecSchema),
    statefulSetSpec: Type.Optional(StatefulSetSpecSchema),
    vault: VaultSpecSchema,
    monitoring: Type.Optional(MonitoringSpecSchema),
    secret: Type.Optional(SecretSpecSchema),
  },
  { 'x-kubernetes-validations': [...WORKLOAD_VALIDATIONS, ...SECRET_SPEC_VALIDATIONS] },
);

export const ConditionSchema = Type.Object({
  type: Type.String({ maxLength: 316 }),
  // enum, not a union of literals: structural schemas have no `const`.
  status: Type.Unsafe<'True' | 'False' | 'Unknown'>({ type: 'string', enum: ['True', 'False', 'Unknown'] }),
  reason: Type.String({ maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const VaultAppStatusSchema = Type.Object({
  conditions: Type.Optional(Type.Array(ConditionSchema, { maxItems: 16 })),
  secretName: Type.Optional(Type.String()),
  lastSecretUpdateTime: Type.Optional(Type.String({ format: 'date-time' })),
  leases: Type.Optional(
    Type.Array(
      Type.Object({
        path: Type.String(),
        expiresAt: Type.String({ format: 'date-time' }),
        renewable: Type.Boolean(),
      }),
      { maxItems: 64, description: 'Dynamic credentials in use: when each stops working unless renewed (lease ids stay on the Secret).' },
    ),
  ),
  observedGeneration: Type.Optional(Type.Integer()),
});

export const ObjectMetaSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 253 }),
    namespace: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
  },
  preserve,
);

export const VaultAppSchema = Type.Object(
  {
    apiVersion: Type.Literal('app.techweaver.io/v1alpha1'),
    kind: Type.Literal('VaultApp'),
    metadata: ObjectMetaSchema,
    spec: VaultAppSpecSchema,
    status: Type.Optional(VaultAppStatusSchema),
  },
  { 'x-kubernetes-validations': ROOT_VALIDATIONS },
);

export type VaultSecret = Static<typeof VaultSecretSchema>;
export type DataFrom = Static<typeof DataFromSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type VaultAppStatus = Static<typeof VaultAppStatusSchema>;
export type VaultApp = Static<typeof VaultAppSchema>;
