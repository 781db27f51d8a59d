// spec.secret: the managed Secret's type, labels and annotations. Part of the one
// VaultApp schema (./vaultapp-schema.ts); its CEL rules have twins in ./cel-rules.ts,
// and the hook checks the data it writes against the type (src/hook/children/secret-shape.ts).
import { Type } from '@sinclair/typebox';
import { RULE_LABEL_KEYS } from './kube-labels.js';
import { extraLabelsSchema, stringMapSchema } from './string-map-schema.js';
import { celString, SECRET_TYPE_RULE, validations } from './string-rules.js';

export const DEFAULT_SECRET_TYPE = 'Opaque';
// The API server checks the keys of the built-in types only; anything else is free-form
// (its syntax: SECRET_TYPE_RULE in ./string-rules.ts).

/**
 * The built-in types whose keys the API server requires (ValidateSecret in
 * k8s.io/kubernetes pkg/apis/core/validation): `all` keys, or at least one of `any`.
 * `json`: the value must be a JSON object (the API server unmarshals it).
 */
export interface TypedSecretKeys {
  type: string;
  all?: string[];
  any?: string[];
  json?: string;
}
export const TYPED_SECRET_KEYS: TypedSecretKeys[] = [
  { type: 'kubernetes.io/dockerconfigjson', all: ['.dockerconfigjson'], json: '.dockerconfigjson' },
  { type: 'kubernetes.io/dockercfg', all: ['.dockercfg'], json: '.dockercfg' },
  { type: 'kubernetes.io/tls', all: ['tls.crt', 'tls.key'] },
  { type: 'kubernetes.io/ssh-auth', all: ['ssh-privatekey'] },
  { type: 'kubernetes.io/basic-auth', any: ['username', 'password'] },
];
/** Types a kubelet accepts in a pod's imagePullSecrets. */
export const PULL_SECRET_TYPES = ['kubernetes.io/dockerconfigjson', 'kubernetes.io/dockercfg'];

const list = (keys: string[], and: string): string => (keys.length === 1 ? keys[0]! : `${keys.slice(0, -1).join(', ')} ${and} ${keys.at(-1)}`);
const hasTarget = (key: string): string =>
  `(self.vault.secrets.exists(s, has(s.targetKey) && s.targetKey == '${key}') ` + `|| (has(self.vault.templates) && '${key}' in self.vault.templates))`;
/** The CEL rule (on spec) and its message for one typed Secret. */
export function typedKeysRule(t: TypedSecretKeys): { rule: string; message: string } {
  const keys = t.all ? t.all.map(hasTarget).join(' && ') : `(${t.any!.map(hasTarget).join(' || ')})`;
  return {
    // With dataFrom the keys are known only once Vault is read: the hook checks them then (typeProblems).
    rule: `!has(self.secret) || !has(self.secret.type) || self.secret.type != '${t.type}' || has(self.vault.dataFrom) || ${keys}`,
    message:
      `secret.type ${t.type} needs ` +
      `${t.all ? `the key${t.all.length > 1 ? 's' : ''} ${list(t.all, 'and')}` : `the key ${list(t.any!, 'or')}`}: ` +
      'give it as a targetKey in vault.secrets or a key of vault.templates (or copy it with vault.dataFrom)',
  };
}

// The type of a Secret is immutable: the API server refuses an update that changes it.
// Refusing the change here says so when the user makes it, instead of every sync failing
// to apply; a transition rule, evaluated on updates only (oldSelf).
const typeOf = (v: string): string => `(has(${v}.secret) && has(${v}.secret.type) ? ${v}.secret.type : '${DEFAULT_SECRET_TYPE}')`;
export const RULE_SECRET_TYPE_IMMUTABLE = `${typeOf('self')} == ${typeOf('oldSelf')}`;
export const SECRET_TYPE_IMMUTABLE_MESSAGE =
  'secret.type cannot be changed: the type of a Secret is immutable. ' + 'To change it, delete the VaultApp and create it again with the new type';

export const RULE_NOT_SA_TOKEN = "self != 'kubernetes.io/service-account-token'";
export const RULE_PULL_SECRET_TYPE = `!has(self.imagePullSecret) || !self.imagePullSecret || (has(self.type) && self.type in [${PULL_SECRET_TYPES.map(
  (t) => `'${t}'`,
).join(', ')}])`;

/**
 * Annotations the hook or Metacontroller write on the Secret: the hook's own domain
 * (sync state, lease records) and Metacontroller's last-applied configuration, which a
 * user value would corrupt.
 */
export const RESERVED_ANNOTATION_KEY_PATTERN = '^(([^/]*\\.)?vaultapp\\.techweaver\\.io/|([^/]*\\.)?metacontroller\\.k8s\\.io/)';
export const RULE_ANNOTATION_KEYS_FREE = `self.all(k, !k.matches(${celString(RESERVED_ANNOTATION_KEY_PATTERN)}))`;
export const MAX_SECRET_ANNOTATIONS = 32;
export const MAX_ANNOTATION_VALUE_LENGTH = 4096;

export const SecretSpecSchema = Type.Object(
  {
    type: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        default: DEFAULT_SECRET_TYPE,
        description:
          'Type of the managed Secret, e.g. kubernetes.io/dockerconfigjson, kubernetes.io/tls, kubernetes.io/basic-auth. ' +
          'The keys the type requires must be targetKeys. Immutable: changing it is refused.',
        'x-kubernetes-validations': [
          ...validations(SECRET_TYPE_RULE),
          { rule: RULE_NOT_SA_TOKEN, message: 'secret.type kubernetes.io/service-account-token is filled by Kubernetes itself, not from Vault' },
        ],
      }),
    ),
    labels: extraLabelsSchema(
      "Labels of the managed Secret, besides the hook's own (keys under vaultapp.techweaver.io/ and " + 'app.kubernetes.io/managed-by are refused).',
    ),
    annotations: stringMapSchema({
      valueMaxLength: MAX_ANNOTATION_VALUE_LENGTH,
      maxProperties: MAX_SECRET_ANNOTATIONS,
      description:
        "Annotations of the managed Secret, besides the hook's own (keys under vaultapp.techweaver.io/ and " + 'metacontroller.k8s.io/ are refused).',
      validations: [
        // Annotation keys have the syntax of label keys (the same rule, and twin).
        {
          rule: RULE_LABEL_KEYS,
          message: 'annotation keys must be [prefix/]name, the name at most 63 characters and the prefix a DNS subdomain',
        },
        {
          rule: RULE_ANNOTATION_KEYS_FREE,
          message:
            'annotation keys under vaultapp.techweaver.io/ and metacontroller.k8s.io/ are written by the hook and Metacontroller, ' + 'not by a VaultApp',
        },
      ],
    }),
    imagePullSecret: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Add the Secret to the pod spec's imagePullSecrets (type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg).",
      }),
    ),
  },
  {
    'x-kubernetes-validations': [
      {
        rule: RULE_PULL_SECRET_TYPE,
        message: 'imagePullSecret needs secret.type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg',
      },
    ],
  },
);

export const SECRET_SPEC_VALIDATIONS = [...TYPED_SECRET_KEYS.map(typedKeysRule), { rule: RULE_SECRET_TYPE_IMMUTABLE, message: SECRET_TYPE_IMMUTABLE_MESSAGE }];
