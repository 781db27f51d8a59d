// JavaScript twins of the CEL rules in the schema's x-kubernetes-validations.
// The API server enforces the CEL at admission; the hook enforces these on what
// reaches it anyway (an older CRD, a direct curl). A test checks every rule in
// the schema has a twin here.
import {
  MAX_NAME_LENGTH, RULE_NAME_LENGTH, RULE_NO_SYSTEM_PATH, RULE_ONE_WORKLOAD, RULE_PORT_WHEN_ENABLED, RULE_UNIQUE_TARGET_KEYS,
  RULE_POD_MANAGEMENT_FIXED, RULE_SERVICE_NAME_FIXED, RULE_WORKLOAD_KIND_FIXED, SYSTEM_PATH_PATTERN,
} from './vaultapp-schema.js';
import {
  isLabelKey, isReservedLabelKey, matchesLabelValuePattern, RULE_LABEL_KEYS, RULE_LABEL_KEYS_NOT_RESERVED, RULE_LABEL_VALUES,
} from './kube-labels.js';
import { secretSpecTwins } from './secret-spec-twins.js';

// CEL's matches() is an unanchored RE2 search, as RegExp.test is; the pattern uses nothing the two read differently.
const SYSTEM_PATH = new RegExp(SYSTEM_PATH_PATTERN);

export type CelTwin = (self: unknown) => boolean;

// A map's rules pass on what is not a map: the schema's type check refuses that.
const everyEntry = (self: unknown, ok: (key: string, value: unknown) => boolean): boolean =>
  self === null || typeof self !== 'object' || Array.isArray(self) || Object.entries(self).every(([k, v]) => ok(k, v));

export const celTwins: Record<string, CelTwin> = {
  ...secretSpecTwins,
  [RULE_UNIQUE_TARGET_KEYS]: (self) => {
    if (!Array.isArray(self)) return true;
    const keys = self.map((x) => (x as { targetKey?: unknown })?.targetKey);
    return new Set(keys).size === keys.length;
  },
  [RULE_PORT_WHEN_ENABLED]: (self) => {
    const m = self as { enabled?: unknown; port?: unknown };
    return m?.enabled !== true || (typeof m.port === 'string' && m.port !== '');
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
  // reads an observed workload of the other kind (src/hook/workload.ts).
  [RULE_WORKLOAD_KIND_FIXED]: () => true,
  // Transition rules too; the API server refuses the StatefulSet update itself.
  [RULE_SERVICE_NAME_FIXED]: () => true,
  [RULE_POD_MANAGEMENT_FIXED]: () => true,
  [RULE_LABEL_KEYS]: (self) => everyEntry(self, (k) => isLabelKey(k)),
  [RULE_LABEL_KEYS_NOT_RESERVED]: (self) => everyEntry(self, (k) => !isReservedLabelKey(k)),
  [RULE_LABEL_VALUES]: (self) => everyEntry(self, (_k, v) => typeof v !== 'string' || matchesLabelValuePattern(v)),
};
