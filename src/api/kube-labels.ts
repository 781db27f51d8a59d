// Kubernetes label syntax (apimachinery's IsQualifiedName and IsValidLabelValue) as
// patterns both RE2 (CRD pattern, CEL matches()) and JavaScript read the same way, and
// the checks built on them: one definition for the CRD, the hook and its configuration.
import { celString } from './string-rules.js';

/** A label value: at most 63 characters (maxLength in the schema), alphanumeric at both ends, or empty. */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';
export const LABEL_VALUE_MAX_LENGTH = 63;

const DNS1123_SUBDOMAIN = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const LABEL_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
/** `[prefix/]name`: an optional DNS-1123 subdomain, then a name of at most 63 characters. */
export const LABEL_KEY_PATTERN = `^(${DNS1123_SUBDOMAIN}/)?${LABEL_NAME}$`;
/** The prefix is at most 253 characters; the key pattern alone does not bound it. */
export const LABEL_KEY_LONG_PREFIX_PATTERN = '^[^/]{254,}/';

/**
 * Keys a user may not set on a generated child: the hook's own domain (its children's
 * name label, and the metrics-for label the ServiceMonitor selects the Service by) and
 * app.kubernetes.io/managed-by, which says the hook made the object.
 */
export const RESERVED_LABEL_KEY_PATTERN = '^(([^/]*\\.)?vaultapp\\.techweaver\\.io/|app\\.kubernetes\\.io/managed-by$)';
export const RESERVED_LABEL_KEYS_TEXT = 'keys under vaultapp.techweaver.io/ and app.kubernetes.io/managed-by';

/** More labels than any scrape selector needs; bounds the object and the CEL cost. */
export const MAX_EXTRA_LABELS = 32;

const LABEL_VALUE = new RegExp(LABEL_VALUE_PATTERN);
const LABEL_KEY = new RegExp(LABEL_KEY_PATTERN);
const LONG_PREFIX = new RegExp(LABEL_KEY_LONG_PREFIX_PATTERN);
const RESERVED = new RegExp(RESERVED_LABEL_KEY_PATTERN);

/** The pattern alone, as the CEL rule checks it: the schema's maxLength bounds the length. */
export const matchesLabelValuePattern = (v: string): boolean => LABEL_VALUE.test(v);
export const isLabelValue = (v: string): boolean => v.length <= LABEL_VALUE_MAX_LENGTH && matchesLabelValuePattern(v);
export const isLabelKey = (k: string): boolean => LABEL_KEY.test(k) && !LONG_PREFIX.test(k);
export const isReservedLabelKey = (k: string): boolean => RESERVED.test(k);

const quote = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/**
 * Why `labels` is not a map of extra labels for a generated child, as sentences; empty when it is one.
 * Used by the configuration; the VaultApp's labels are checked by the schema and its CEL twins.
 */
export function extraLabelsProblems(labels: unknown): string[] {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    return ['must be a map of label keys to values, e.g. {"release": "kube-prometheus-stack"}'];
  }
  const entries = Object.entries(labels);
  if (entries.length > MAX_EXTRA_LABELS) return [`must hold at most ${MAX_EXTRA_LABELS} labels, not ${entries.length}`];
  const problems: string[] = [];
  for (const [k, v] of entries) {
    const key = quote(k);
    if (!isLabelKey(k)) problems.push(`${key} is not a valid label key ([prefix/]name, name at most 63 characters)`);
    else if (isReservedLabelKey(k)) problems.push(`${key} is reserved: the hook sets ${RESERVED_LABEL_KEYS_TEXT} itself`);
    if (typeof v !== 'string') problems.push(`the value of ${key} must be a string (quote numbers and booleans)`);
    else if (!isLabelValue(v)) {
      problems.push(`the value of ${key} is not a valid label value (at most 63 characters, alphanumeric at both ends)`);
    }
  }
  return problems;
}

/** CEL rules of a map of extra labels; twins in ./cel-rules.ts. Values are bounded by maxLength in the schema. */
export const RULE_LABEL_KEYS = `self.all(k, k.matches(${celString(LABEL_KEY_PATTERN)})` + ` && !k.matches(${celString(LABEL_KEY_LONG_PREFIX_PATTERN)}))`;
export const RULE_LABEL_KEYS_NOT_RESERVED = `self.all(k, !k.matches(${celString(RESERVED_LABEL_KEY_PATTERN)}))`;
export const RULE_LABEL_VALUES = `self.all(k, self[k].matches(${celString(LABEL_VALUE_PATTERN)}))`;
export const EXTRA_LABELS_VALIDATIONS = [
  {
    rule: RULE_LABEL_KEYS,
    message:
      'every key must be a valid label key: an optional DNS subdomain of at most 253 characters and "/", ' +
      'then a name of at most 63 letters, digits, "-", "_" or ".", beginning and ending with a letter or digit',
  },
  { rule: RULE_LABEL_KEYS_NOT_RESERVED, message: `${RESERVED_LABEL_KEYS_TEXT} are set by the hook and cannot be given here` },
  {
    rule: RULE_LABEL_VALUES,
    message: 'every value must be a valid label value: empty, or letters, digits, "-", "_" or ".", ' + 'beginning and ending with a letter or digit',
  },
];
