import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { celTwins } from './cel-rules.js';
import { VaultAppSchema, type VaultApp } from './vaultapp-schema.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as FormatsPlugin;

interface CelRule { rule: string; message: string }

export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
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
        keyword: 'x-kubernetes-validations', message: r.message, params: { rule: r.rule },
      }));
      return failed.length === 0;
    },
  });
  return ajv;
}

let vaultAppValidator: ValidateFunction<VaultApp> | undefined;

export interface FieldError { field: string; message: string }

/** Validates a VaultApp; returns field errors in the API server's dotted style. */
export function validateVaultApp(obj: unknown): { ok: true; value: VaultApp } | { ok: false; errors: FieldError[] } {
  vaultAppValidator ??= createAjv().compile<VaultApp>(VaultAppSchema);
  if (vaultAppValidator(obj)) return { ok: true, value: obj };
  return { ok: false, errors: (vaultAppValidator.errors ?? []).map(toFieldError) };
}

function toFieldError(e: ErrorObject): FieldError {
  let field = e.instancePath.split('/').slice(1).map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`)).join('').replace(/^\./, '');
  if (e.keyword === 'required') field = field ? `${field}.${(e.params as { missingProperty: string }).missingProperty}` : (e.params as { missingProperty: string }).missingProperty;
  return { field: field || '(root)', message: e.message ?? 'is invalid' };
}

export function describeFieldErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
