// JavaScript twins of spec.secret's CEL rules (./secret-spec-schema.ts), part of
// ./cel-rules.ts' celTwins. The required-key rules are built from the same table as the CEL.
import { isRecord } from './json.js';
import {
  PULL_SECRET_TYPES,
  RESERVED_ANNOTATION_KEY_PATTERN,
  RULE_ANNOTATION_KEYS_FREE,
  RULE_NOT_SA_TOKEN,
  RULE_PULL_SECRET_TYPE,
  RULE_SECRET_TYPE_IMMUTABLE,
  TYPED_SECRET_KEYS,
  typedKeysRule,
  type TypedSecretKeys,
} from './secret-spec-schema.js';

const RESERVED_ANNOTATION = new RegExp(RESERVED_ANNOTATION_KEY_PATTERN);

function typedKeysTwin(t: TypedSecretKeys): (self: unknown) => boolean {
  return (self) => {
    const spec = self as { secret?: { type?: unknown }; vault?: { secrets?: unknown; dataFrom?: unknown; templates?: unknown } } | undefined;
    if (spec?.secret?.type !== t.type || spec.vault?.dataFrom !== undefined || !Array.isArray(spec.vault?.secrets)) return true;
    const templates = isRecord(spec.vault.templates) ? Object.keys(spec.vault.templates) : [];
    const targets = new Set([...spec.vault.secrets.map((s) => (s as { targetKey?: unknown })?.targetKey), ...templates]);
    return t.all ? t.all.every((k) => targets.has(k)) : t.any!.some((k) => targets.has(k));
  };
}

export const secretSpecTwins: Record<string, (self: unknown) => boolean> = {
  ...Object.fromEntries(TYPED_SECRET_KEYS.map((t) => [typedKeysRule(t).rule, typedKeysTwin(t)])),
  // A transition rule: the hook sees no oldSelf. It compares with the observed Secret
  // instead, and keeps that Secret's type (src/hook/children/secret-shape.ts).
  [RULE_SECRET_TYPE_IMMUTABLE]: () => true,
  [RULE_NOT_SA_TOKEN]: (self) => self !== 'kubernetes.io/service-account-token',
  [RULE_PULL_SECRET_TYPE]: (self) => {
    const s = self as { imagePullSecret?: unknown; type?: unknown } | undefined;
    return s?.imagePullSecret !== true || PULL_SECRET_TYPES.includes(s.type as string);
  },
  [RULE_ANNOTATION_KEYS_FREE]: (self) => !isRecord(self) || Object.keys(self).every((k) => !RESERVED_ANNOTATION.test(k)),
};
