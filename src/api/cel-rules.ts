// JavaScript twins of the CEL rules in the schema's x-kubernetes-validations.
// The API server enforces the CEL at admission; the hook enforces these on what
// reaches it anyway (an older CRD, a direct curl). A test checks every rule in
// the schema has a twin here.
import {
  MAX_NAME_LENGTH, RULE_NAME_LENGTH, RULE_NO_SYSTEM_PATH, RULE_PORT_WHEN_ENABLED, RULE_UNIQUE_TARGET_KEYS, SYSTEM_PATH_PATTERN,
} from './vaultapp-schema.js';

// CEL's matches() is an unanchored RE2 search, as RegExp.test is; the pattern uses nothing the two read differently.
const SYSTEM_PATH = new RegExp(SYSTEM_PATH_PATTERN);

export type CelTwin = (self: unknown) => boolean;

export const celTwins: Record<string, CelTwin> = {
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
};
