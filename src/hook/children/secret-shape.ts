// The managed Secret's shape from spec.secret: its type, and the user's labels and
// annotations under the hook's own. What the API server would refuse (a typed Secret
// without its keys, a type change) becomes a problem here, so that the observed Secret
// is kept and the status says why, instead of Metacontroller failing every apply. Pure.
import { isRecord } from '../../api/json.js';
import { DEFAULT_SECRET_TYPE, RESERVED_ANNOTATION_KEY_PATTERN, TYPED_SECRET_KEYS } from '../../api/secret-spec-schema.js';
import { isReservedLabelKey } from '../../api/kube-labels.js';
import type { VaultApp } from '../../api/vaultapp-schema.js';
import { problem, type Problem } from '../../errors/catalog.js';
import { ownGet, ownSet } from '../../api/json.js';
import type { KubeObject } from '../types.js';

const RESERVED_ANNOTATION = new RegExp(RESERVED_ANNOTATION_KEY_PATTERN);
// Metacontroller labels every child with the parent's selector (generateSelector: controller-uid).
const METACONTROLLER_LABELS = new Set(['controller-uid']);

export const secretTypeOf = (app: VaultApp): string => app.spec.secret?.type ?? DEFAULT_SECRET_TYPE;

// Admission and the hook's validation refuse reserved keys; filtering them again means
// that nothing the user writes can replace what the hook or Metacontroller sets.
function userEntries(map: Record<string, string> | undefined, reserved: (key: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) if (!reserved(k)) ownSet(out, k, v);
  return out;
}

/** The user's labels with the hook's own over them. */
export function secretLabels(app: VaultApp, own: Record<string, string>): Record<string, string> {
  const user = userEntries(app.spec.secret?.labels, (k) => isReservedLabelKey(k) || METACONTROLLER_LABELS.has(k));
  return { ...user, ...own };
}

/** The user's annotations with the hook's own over them. */
export function secretAnnotations(app: VaultApp, own: Record<string, string>): Record<string, string> {
  return { ...userEntries(app.spec.secret?.annotations, (k) => RESERVED_ANNOTATION.test(k)), ...own };
}

const isJsonObject = (base64: string): boolean => {
  try {
    const v: unknown = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
    return isRecord(v);
  } catch {
    return false;
  }
};

/** Why `data` (base64 values by key) cannot be a Secret of `type`; names keys, never values. */
export function typeProblems(type: string, data: Record<string, string>, secret: string): Problem[] {
  const t = TYPED_SECRET_KEYS.find((x) => x.type === type);
  if (!t) return [];
  const has = (k: string): boolean => ownGet(data, k) !== undefined;
  const missing = t.all ? t.all.filter((k) => !has(k)) : t.any!.some(has) ? [] : t.any!;
  if (missing.length > 0) {
    const which = t.all ? missing.join(', ') : `one of ${missing.join(', ')}`;
    return [problem('SECRET_TYPE_KEYS', `Secret ${secret} of type ${type} needs the key ${which}, which the data from Vault lacks`)];
  }
  if (t.json && !isJsonObject(data[t.json]!)) {
    return [problem('SECRET_TYPE_KEYS', `Secret ${secret} of type ${type}: the value of key ${t.json} is not a JSON object`)];
  }
  return [];
}

/** The type to give the Secret: the observed one stands, as Kubernetes keeps it; a different one is reported. */
export function typeToWrite(app: VaultApp, observed: KubeObject | undefined, secret: string): { type: string; problems: Problem[] } {
  const wanted = secretTypeOf(app);
  const current = typeof observed?.type === 'string' && observed.type !== '' ? observed.type : undefined;
  if (current === undefined || current === wanted) return { type: wanted, problems: [] };
  return {
    type: current,
    problems: [
      problem(
        'SECRET_TYPE_IMMUTABLE',
        `Secret ${secret} has type ${current} and spec.secret.type is ${wanted}: ` +
          'the type of a Secret cannot change; the Secret keeps its type and data until it is deleted ' +
          '(the next sync then creates it with the new type)',
      ),
    ],
  };
}
