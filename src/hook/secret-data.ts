// Turns what was read from Vault into the managed Secret's data, or into the
// problems that stop it. All keys of one path come from the one read of it.
import type { VaultSecret } from '../api/vaultapp-schema.js';
import { problem, type Problem } from '../errors/catalog.js';
import type { PathRead, VaultMaterial } from './material.js';

export interface SecretDataOutcome {
  /** base64 values by targetKey; set only when every entry resolved. */
  data?: Record<string, string>;
  problems: Problem[];
}

export function secretDataFromVault(entries: VaultSecret[], material: VaultMaterial): SecretDataOutcome {
  if (!material.auth.ok) return { problems: [material.auth.problem] };
  const problems: Problem[] = [];
  const data: Record<string, string> = {};
  const failedPaths = new Map<string, { read: Extract<PathRead, { ok: false }>; targetKeys: string[] }>();

  for (const entry of entries) {
    const read = material.reads[entry.path];
    if (!read) {
      problems.push(problem('INTERNAL', `path "${entry.path}" was not read (targetKey ${entry.targetKey})`));
      continue;
    }
    if (!read.ok) {
      const failed = failedPaths.get(entry.path) ?? { read, targetKeys: [] };
      failed.targetKeys.push(entry.targetKey);
      failedPaths.set(entry.path, failed);
      continue;
    }
    const where = `key "${entry.key}" at path "${entry.path}" (targetKey ${entry.targetKey})`;
    if (!Object.hasOwn(read.data, entry.key)) {
      problems.push(problem('VAULT_KEY_NOT_FOUND', `${where} not found`));
      continue;
    }
    const value = read.data[entry.key];
    if (value === null || typeof value === 'object') {
      problems.push(problem('VAULT_VALUE_NOT_SCALAR', `${where} is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object'}, not a string`));
      continue;
    }
    data[entry.targetKey] = Buffer.from(String(value), 'utf8').toString('base64');
  }

  for (const [, { read, targetKeys }] of failedPaths) {
    problems.push({ code: read.problem.code, message: `${read.problem.message} (targetKey ${targetKeys.join(', ')})` });
  }
  return problems.length === 0 ? { data, problems } : { problems };
}
