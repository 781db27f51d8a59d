// JavaScript twins of the CEL rules in the schema's x-kubernetes-validations.
// The API server enforces the CEL at admission; the hook enforces these on what
// reaches it anyway (an older CRD, a direct curl). A test checks every rule in
// the schema has a twin here.
import {
  MAX_NAME_LENGTH,
  RULE_NAME_LENGTH,
  RULE_NAME_ONE_PATH,
  RULE_NO_SYSTEM_PATH,
  RULE_ONE_WORKLOAD,
  RULE_POD_MANAGEMENT_FIXED,
  RULE_PORT_WHEN_ENABLED,
  RULE_SERVICE_NAME_FIXED,
  RULE_SOME_SOURCE,
  RULE_TARGET_OR_NAME,
  RULE_TEMPLATE_KEYS,
  RULE_TEMPLATE_KEYS_NOT_REFUSED,
  RULE_TEMPLATE_ONLY_NEEDS_TEMPLATES,
  RULE_TEMPLATES_NOT_TARGETS,
  RULE_UNIQUE_TARGET_KEYS,
  RULE_WORKLOAD_KIND_FIXED,
  SECRET_KEY_PATTERN,
  SYSTEM_PATH_PATTERN,
} from './vaultapp-schema.js';
import { isLabelKey, isReservedLabelKey, matchesLabelValuePattern, RULE_LABEL_KEYS, RULE_LABEL_KEYS_NOT_RESERVED, RULE_LABEL_VALUES } from './kube-labels.js';
import { secretSpecTwins } from './secret-spec-twins.js';
import { isRefusedKey, stringRuleTwins } from './string-rules.js';

// CEL's matches() is an unanchored RE2 search, as RegExp.test is; the pattern uses nothing the two read differently.
const SYSTEM_PATH = new RegExp(SYSTEM_PATH_PATTERN);
const SECRET_KEY = new RegExp(SECRET_KEY_PATTERN);

export type CelTwin = (self: unknown) => boolean;

// A map's rules pass on what is not a map: the schema's type check refuses that.
const everyEntry = (self: unknown, ok: (key: string, value: unknown) => boolean): boolean =>
  self === null || typeof self !== 'object' || Array.isArray(self) || Object.entries(self).every(([k, v]) => ok(k, v));

export const celTwins: Record<string, CelTwin> = {
  ...secretSpecTwins,
  ...stringRuleTwins,
  [RULE_UNIQUE_TARGET_KEYS]: (self) => {
    if (!Array.isArray(self)) return true;
    const keys = self.map((x) => (x as { targetKey?: unknown })?.targetKey).filter((k) => k !== undefined);
    return new Set(keys).size === keys.length;
  },
  [RULE_TARGET_OR_NAME]: (self) => {
    const e = self as { targetKey?: unknown; name?: unknown } | undefined;
    return e?.targetKey !== undefined || e?.name !== undefined;
  },
  [RULE_NAME_ONE_PATH]: (self) => {
    if (!Array.isArray(self)) return true;
    const pathOf = new Map<unknown, unknown>();
    return self.every((x) => {
      const e = x as { name?: unknown; path?: unknown } | undefined;
      if (e?.name === undefined) return true;
      if (!pathOf.has(e.name)) pathOf.set(e.name, e.path);
      return pathOf.get(e.name) === e.path;
    });
  },
  [RULE_TEMPLATE_KEYS]: (self) => everyEntry(self, (k) => k.length <= 253 && SECRET_KEY.test(k)),
  [RULE_TEMPLATE_KEYS_NOT_REFUSED]: (self) => everyEntry(self, (k) => !isRefusedKey(k)),
  [RULE_TEMPLATE_ONLY_NEEDS_TEMPLATES]: (self) => {
    const v = self as { secrets?: unknown; templates?: unknown } | undefined;
    return !Array.isArray(v?.secrets) || v.templates !== undefined || v.secrets.every((s) => (s as { targetKey?: unknown })?.targetKey !== undefined);
  },
  [RULE_TEMPLATES_NOT_TARGETS]: (self) => {
    const v = self as { secrets?: unknown; templates?: unknown } | undefined;
    if (v?.templates === null || typeof v?.templates !== 'object' || !Array.isArray(v.secrets)) return true;
    const templates = v.templates as Record<string, unknown>;
    return v.secrets.every((s) => {
      const key = (s as { targetKey?: unknown })?.targetKey;
      return typeof key !== 'string' || !Object.hasOwn(templates, key);
    });
  },
  [RULE_PORT_WHEN_ENABLED]: (self) => {
    const m = self as { enabled?: unknown; port?: unknown };
    return m?.enabled !== true || (typeof m.port === 'string' && m.port !== '');
  },
  [RULE_SOME_SOURCE]: (self) => {
    const v = self as { secrets?: unknown; dataFrom?: unknown } | undefined;
    // secrets is defaulted to [] by the API server; a body that reaches the hook without it has none.
    return (Array.isArray(v?.secrets) && v.secrets.length > 0) || v?.dataFrom !== undefined;
  },
  [RULE_NO_SYSTEM_PATH]: (self) => typeof self !== 'string' || !SYSTEM_PATH.test(self),
  [RULE_NAME_LENGTH]: (self) => {
    const name = (self as { metadata?: { name?: unknown } })?.metadata?.name;
    return typeof name !== 'string' || name.length <= MAX_NAME_LENGTH;
  },
  [RULE_ONE_WORKLOAD]: (self) => {
    const spec = self as Record<string, unknown> | null;
    if (spec === null || typeof spec !== 'object') return true;
    const given = (k: string) => Object.hasOwn(spec, k) && spec[k] !== undefined && spec[k] !== null;
    return given('deploymentSpec') !== given('statefulSetSpec');
  },
  // A transition rule: the hook sees no oldSelf. It follows the spec's kind and never
  // reads an observed workload of the other kind (src/hook/children/workload.ts).
  [RULE_WORKLOAD_KIND_FIXED]: () => true,
  // Transition rules too; the API server refuses the StatefulSet update itself.
  [RULE_SERVICE_NAME_FIXED]: () => true,
  [RULE_POD_MANAGEMENT_FIXED]: () => true,
  [RULE_LABEL_KEYS]: (self) => everyEntry(self, (k) => isLabelKey(k)),
  [RULE_LABEL_KEYS_NOT_RESERVED]: (self) => everyEntry(self, (k) => !isReservedLabelKey(k)),
  [RULE_LABEL_VALUES]: (self) => everyEntry(self, (_k, v) => typeof v !== 'string' || matchesLabelValuePattern(v)),
};
