import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { celTwins } from './cel-rules.js';
import { VaultAppSchema, type VaultApp } from './vaultapp-schema.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as FormatsPlugin;

interface CelRule {
  rule: string;
  message: string;
}

export function createAjv(options: { allErrors: boolean } = { allErrors: true }): Ajv {
  const ajv = new Ajv({ allErrors: options.allErrors, strict: true, strictTypes: false });
  addFormats(ajv, ['date-time']);
  ajv.addKeyword({ keyword: 'x-kubernetes-preserve-unknown-fields' });
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    errors: true,
    validate: function celRules(this: unknown, rules: CelRule[], data: unknown): boolean {
      const failed = rules.filter((r) => {
        const twin = celTwins[r.rule];
        if (!twin) throw new Error(`no JavaScript twin for CEL rule ${r.rule}`);
        return !twin(data);
      });
      (celRules as unknown as { errors: Partial<ErrorObject>[] }).errors = failed.map((r) => ({
        keyword: 'x-kubernetes-validations',
        message: r.message,
        params: { rule: r.rule },
      }));
      return failed.length === 0;
    },
  });
  return ajv;
}

/** Field errors listed in a message; the rest are counted ("and 12 more"). */
export const MAX_REPORTED_ERRORS = 20;
/**
 * Above this many values (objects, lists and scalars), an invalid VaultApp is reported
 * by its first error only. With allErrors ajv keeps an object per error: 300,000
 * nameless containers (a 0.86 MiB body) made 300,000 of them, 150 MB and a 27 MiB answer.
 * Real VaultApps hold a few hundred values; valid ones are never counted.
 */
export const FULL_REPORT_MAX_VALUES = 5000;

let firstErrorValidator: ValidateFunction<VaultApp> | undefined;
let everyErrorValidator: ValidateFunction<VaultApp> | undefined;

export interface FieldError {
  field: string;
  message: string;
}

/** Validates a VaultApp; returns field errors in the API server's dotted style. */
export function validateVaultApp(obj: unknown): { ok: true; value: VaultApp } | { ok: false; errors: FieldError[] } {
  // Fail-fast first: the common, valid case costs one pass that builds no error objects.
  firstErrorValidator ??= createAjv({ allErrors: false }).compile<VaultApp>(VaultAppSchema);
  if (firstErrorValidator(obj)) return { ok: true, value: obj };
  if (holdsMoreValuesThan(obj, FULL_REPORT_MAX_VALUES)) {
    const first = (firstErrorValidator.errors ?? []).map(toFieldError).slice(0, 1);
    const note = `(the first error found; a VaultApp of more than ${FULL_REPORT_MAX_VALUES} values is checked up to its first error)`;
    return { ok: false, errors: first.map((e) => ({ ...e, message: `${e.message} ${note}` })) };
  }
  return { ok: false, errors: everyError(obj).map(toFieldError) };
}

function everyError(obj: unknown): ErrorObject[] {
  everyErrorValidator ??= createAjv({ allErrors: true }).compile<VaultApp>(VaultAppSchema);
  everyErrorValidator(obj);
  return everyErrorValidator.errors ?? [];
}

// What finalize reads of the parent (JSON pointers, '*' for a list index): who it is (the
// lease records are bound to it), how it logs in to Vault (role, the pods' service account),
// which paths its leases may be for, and the status it answers with.
const FINALIZE_READS = [
  '/metadata/name',
  '/metadata/namespace',
  '/metadata/uid',
  '/spec/vault/role',
  '/spec/vault/secrets/*/path',
  '/spec/vault/dataFrom/*/path',
  '/spec/deploymentSpec/template/spec/serviceAccountName',
  '/spec/deploymentSpec/template/spec/serviceAccount',
  '/spec/statefulSetSpec/template/spec/serviceAccountName',
  '/spec/statefulSetSpec/template/spec/serviceAccount',
  '/status',
].map((p) => p.split('/').slice(1));

// An error at `path` touches a read when one is a prefix of the other: the error is on the
// field read, inside it, or on an object around it (a missing property, a rule on the whole).
function touchesFinalize(path: string): boolean {
  const at = path.split('/').slice(1);
  return FINALIZE_READS.some((read) => {
    const n = Math.min(at.length, read.length);
    for (let i = 0; i < n; i++) if (read[i] !== '*' ? read[i] !== at[i] : !/^\d+$/.test(at[i]!)) return false;
    return true;
  });
}

/**
 * A VaultApp to finalize: valid, or invalid only in fields finalize does not read. A
 * VaultApp admitted under an older CRD (a targetKey the current one refuses, say) must
 * still be deletable: refusing its finalize would keep its finalizer, and its leases, for good.
 */
export function validateForFinalize(obj: unknown): { ok: true; value: VaultApp } | { ok: false; errors: FieldError[] } {
  const full = validateVaultApp(obj);
  if (full.ok || holdsMoreValuesThan(obj, FULL_REPORT_MAX_VALUES)) return full;
  const errors = everyError(obj);
  if (errors.length === 0 || errors.some((e) => touchesFinalize(e.instancePath))) return full;
  return { ok: true, value: obj as VaultApp };
}

/** Whether `value` holds more than `max` values in all, counted iteratively and no further than max. */
export function holdsMoreValuesThan(value: unknown, max: number): boolean {
  const stack: unknown[] = [value];
  let count = 1;
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const child of Object.values(v)) {
      if (++count > max) return true;
      stack.push(child);
    }
  }
  return false;
}

function toFieldError(e: ErrorObject): FieldError {
  let field = e.instancePath
    .split('/')
    .slice(1)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`))
    .join('')
    .replace(/^\./, '');
  if (e.keyword === 'required')
    field = field ? `${field}.${(e.params as { missingProperty: string }).missingProperty}` : (e.params as { missingProperty: string }).missingProperty;
  // ajv's "must be equal to one of the allowed values" leaves the reader to guess them.
  if (e.keyword === 'enum') {
    const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
    return { field: field || '(root)', message: `must be one of ${allowed}` };
  }
  return { field: field || '(root)', message: e.message ?? 'is invalid' };
}

/** The first MAX_REPORTED_ERRORS errors, and how many more there are: the message goes into an answer and a log line. */
export function describeFieldErrors(errors: FieldError[]): string {
  const listed = errors
    .slice(0, MAX_REPORTED_ERRORS)
    .map((e) => `${e.field}: ${e.message}`)
    .join('; ');
  const more = errors.length - MAX_REPORTED_ERRORS;
  return more > 0 ? `${listed}; and ${more} more` : listed;
}
