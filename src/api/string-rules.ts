// The syntax of the VaultApp's string fields as CEL rules with a sentence each, instead of
// OpenAPI `pattern`s: a pattern refusal quotes the regular expression to the person who
// typed the value ("should match '^\.?[A-Za-z0-9_@=+,:~-]...'"), a rule says what is wrong.
// Each rule carries its JavaScript twin, so the hook's validation (ajv, ./validate.ts)
// refuses the same values with the same sentence. Every rule runs on a string whose
// maxLength the schema bounds, which keeps the CRD under the API server's CEL cost budget.

/** One CEL rule on a string field, its message, and the check the hook runs instead. */
export interface StringRule {
  rule: string;
  message: string;
  test: (value: string) => boolean;
}

// A CEL string literal keeps the RE2 escapes (\.) for matches().
export const celString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

// CEL's matches() is an unanchored RE2 search, as RegExp.test is; the patterns here use
// nothing the two read differently (ASCII classes, ^ and $ without flags).
function matching(pattern: string, message: string): StringRule {
  const re = new RegExp(pattern);
  return { rule: `self.matches(${celString(pattern)})`, message, test: (v) => re.test(v) };
}
function notMatching(pattern: string, message: string): StringRule {
  const re = new RegExp(pattern);
  return { rule: `!self.matches(${celString(pattern)})`, message, test: (v) => !re.test(v) };
}

/** What goes into the schema's x-kubernetes-validations. */
export const validations = (...rules: StringRule[]): { rule: string; message: string }[] => rules.map(({ rule, message }) => ({ rule, message }));

// --- spec.vault.role
export const ROLE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.@-]*$';
export const ROLE_RULE = matching(ROLE_PATTERN, "role must begin with a letter or digit and hold only letters, digits, '_', '.', '@' and '-'");

// --- spec.vault.secrets[].path
// Path segments: no empty, "." or ".." segment, no leading "/", no percent-escapes. The two
// rules below say this in two sentences; together they admit exactly this pattern (a
// property test holds them to it), which stays the reference for the fuzzers.
const SEGMENT = '\\.?[A-Za-z0-9_@=+,:~-][A-Za-z0-9._@=+,:~-]*';
export const VAULT_PATH_PATTERN = `^${SEGMENT}(/${SEGMENT})*$`;
export const PATH_CHARACTERS_RULE = matching(
  '^[A-Za-z0-9._@=+,:~/-]*$',
  "path may hold only letters, digits, '/' and the characters . _ @ = + , : ~ - " +
    "(no spaces and no %-escapes: the hook puts it into Vault's URL as written)",
);
// At the start of a segment: the segment ends at once (empty: a leading or trailing "/",
// "//"), or is ".", or begins with "..".
export const PATH_SEGMENTS_RULE = notMatching(
  '(^|/)(/|$|\\.(/|$)|\\.\\.)',
  "path must not begin or end with '/' or hold '//', and none of its segments may be '.' or begin with '..'",
);

// --- spec.vault.secrets[].targetKey: Kubernetes' IsConfigMapKey ([-._a-zA-Z0-9]+, not "." and not starting with "..").
export const SECRET_KEY_PATTERN = '^(\\.[-_a-zA-Z0-9][-._a-zA-Z0-9]*|[-_a-zA-Z0-9][-._a-zA-Z0-9]*)$';
export const TARGET_KEY_RULE = matching(
  SECRET_KEY_PATTERN,
  'targetKey must be a valid Secret key (it is also a file name under /etc/secrets/vault): letters, digits, ' +
    "'-', '_' and '.', neither '.' itself nor beginning with '..'",
);

// --- Keys of the managed Secret (targetKey, template keys, dataFrom keys) the hook never writes.
// Each is a valid Secret key, but a name of the prototype chain: JSON parsers refuse or drop
// a key "__proto__" (Fastify's refused it, and so every later request carrying the Secret;
// the hook's now drop it, src/http/prototype-members.ts, so it would be a key the hook cannot
// see in the Secret it wrote), a plain object indexed with "__proto__" or "constructor"
// answers with the prototype's members, and "constructor" holding "prototype" is the other
// shape secure-json-parse refuses.
export const REFUSED_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];
export const isRefusedKey = (key: string): boolean => REFUSED_KEYS.includes(key);
export const REFUSED_KEYS_CEL = `[${REFUSED_KEYS.map(celString).join(', ')}]`;
export const REFUSED_KEYS_WORDS = '__proto__, constructor or prototype';
export const TARGET_KEY_NOT_REFUSED_RULE: StringRule = {
  rule: `!(self in ${REFUSED_KEYS_CEL})`,
  message: `targetKey must not be ${REFUSED_KEYS_WORDS}: names of an object's prototype chain, which JSON parsers refuse or drop`,
  test: (v) => !isRefusedKey(v),
};

// --- spec.vault.secrets[].name: what vault.templates reads as {{ <name>.<key> }}.
export const ENTRY_NAME_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_]*$';
export const ENTRY_NAME_RULE = matching(
  ENTRY_NAME_PATTERN,
  "name must begin with a letter or '_' and hold only letters, digits and '_' (templates read it as {{ name.key }})",
);

// --- spec.vault.dataFrom[].prefix: the start of a Secret key ('' allowed), so prefix + key is still one.
export const DATA_FROM_PREFIX_RULE = matching('^[-._a-zA-Z0-9]*$', "prefix may hold only letters, digits, '-', '_' and '.' (it begins each key in the Secret)");

// --- spec.statefulSetSpec.serviceName: a Service's name, a DNS label (maxLength 63 in the schema), or empty.
export const SERVICE_NAME_RULE = matching(
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$',
  "serviceName must be the name of a Service: lowercase letters, digits and '-', beginning and ending with a letter or digit (or empty)",
);

// --- spec.monitoring.port: IANA_SVC_NAME, what a named container port must be (maxLength 15 in the schema).
export const PORT_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const PORT_RULE = matching(
  PORT_NAME_PATTERN,
  "port must be the name of a container port: lowercase letters, digits and '-', beginning and ending with a letter or digit",
);

// --- spec.monitoring.path
export const METRICS_PATH_RULE: StringRule = {
  rule: "self.startsWith('/')",
  message: "monitoring.path must begin with '/', e.g. /metrics",
  test: (v) => v.startsWith('/'),
};

// --- spec.monitoring.interval and spec.vault.refreshInterval
// The Prometheus Operator's own pattern for a ServiceMonitor endpoint's interval,
// so an interval admitted here is never refused in the ServiceMonitor.
export const DURATION_PATTERN = '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$';
const durationMessage = (field: string): string =>
  `${field} must be a duration such as 30s, 5m, 1h30m or 0: whole numbers with the units y, w, d, h, m, s or ms, largest first, without spaces`;
export const INTERVAL_RULE = matching(DURATION_PATTERN, durationMessage('interval'));
export const REFRESH_INTERVAL_RULE = matching(DURATION_PATTERN, durationMessage('refreshInterval'));

// --- spec.secret.type: what a Secret type looks like in practice (Opaque, kubernetes.io/tls, helm.sh/release.v1).
export const SECRET_TYPE_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?' + '[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';
export const SECRET_TYPE_RULE = matching(
  SECRET_TYPE_PATTERN,
  "secret.type must be a Secret type such as Opaque or kubernetes.io/tls: an optional lowercase DNS subdomain and '/', " +
    "then letters, digits, '-', '_' or '.', beginning and ending with a letter or digit",
);

export const STRING_RULES: StringRule[] = [
  ROLE_RULE,
  PATH_CHARACTERS_RULE,
  PATH_SEGMENTS_RULE,
  TARGET_KEY_RULE,
  TARGET_KEY_NOT_REFUSED_RULE,
  ENTRY_NAME_RULE,
  DATA_FROM_PREFIX_RULE,
  SERVICE_NAME_RULE,
  PORT_RULE,
  METRICS_PATH_RULE,
  INTERVAL_RULE,
  REFRESH_INTERVAL_RULE,
  SECRET_TYPE_RULE,
];

/** The twins for ./cel-rules.ts: a rule passes on what is not a string (the schema's type check refuses that). */
export const stringRuleTwins: Record<string, (self: unknown) => boolean> = Object.fromEntries(
  STRING_RULES.map((r) => [r.rule, (self: unknown) => typeof self !== 'string' || r.test(self)]),
);
