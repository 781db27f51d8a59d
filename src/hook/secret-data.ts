// Turns what was read from Vault into the managed Secret's data and lease
// records, or into the problems that stop it. All keys of one path come from the
// one read of it; a lease still in use keeps the data the observed Secret holds.
import type { VaultSecret } from '../api/vaultapp-schema.js';
import { problem, type Problem } from '../errors/catalog.js';
import { isoSeconds } from './conditions.js';
import { issuedRecord, type LeaseRecord, type UnsignedLeaseRecord } from './leases.js';
import type { PathRead, Renewal, VaultMaterial } from './material.js';
import { ownGet, ownSet } from './own.js';

export interface SecretDataOutcome {
  /** base64 values by targetKey; set only when every entry resolved. */
  data?: Record<string, string>;
  /** Lease records to keep with `data`. */
  leases: LeaseRecord[];
  /** Lease records to keep when the observed data is kept instead (on problems). */
  fallbackLeases: LeaseRecord[];
  problems: Problem[];
}

const maxedBy = (r: Renewal): boolean => r.ttl + 1 < r.requested;

/** Signs a record for the VaultApp being synced (./leases.ts signLease). */
export type SignLease = (record: UnsignedLeaseRecord) => LeaseRecord;

function renewed(record: LeaseRecord, read: Extract<PathRead, { kept: LeaseRecord }>, now: Date, sign: SignLease): LeaseRecord {
  if (!read.renewal && !('tokenRenewal' in read && read.tokenRenewal)) return record;
  const next: UnsignedLeaseRecord = { ...record };
  if (read.renewal) Object.assign(next, { renewedAt: isoSeconds(now), ttl: read.renewal.ttl, maxed: maxedBy(read.renewal) });
  const t = 'tokenRenewal' in read ? read.tokenRenewal : undefined;
  if (t) Object.assign(next, { tokenRenewedAt: isoSeconds(now), tokenTtl: t.ttl, tokenMaxed: maxedBy(t), tokenExpiresAt: isoSeconds(new Date(now.getTime() + t.ttl * 1000)) });
  return sign(next);
}

export function secretDataFromVault(entries: VaultSecret[], material: VaultMaterial, observedData: Record<string, string> | undefined, now: Date, sign: SignLease): SecretDataOutcome {
  if (!material.auth.ok) return { problems: [material.auth.problem], leases: [], fallbackLeases: [] };
  const problems: Problem[] = [];
  const data: Record<string, string> = {};
  const leases = new Map<string, LeaseRecord>();
  const fallback = new Map<string, LeaseRecord>();
  const failedPaths = new Map<string, { problem: Problem; targetKeys: string[] }>();

  for (const entry of entries) {
    const read = ownGet(material.reads, entry.path);
    if (!read) {
      problems.push(problem('INTERNAL', `path "${entry.path}" was not read (targetKey ${entry.targetKey})`));
      continue;
    }
    if (!read.ok) {
      const failed = failedPaths.get(entry.path) ?? { problem: read.problem, targetKeys: [] };
      failed.targetKeys.push(entry.targetKey);
      failedPaths.set(entry.path, failed);
      if (read.kept) fallback.set(entry.path, read.kept);
      continue;
    }
    const where = `key "${entry.key}" at path "${entry.path}" (targetKey ${entry.targetKey})`;
    if ('unchanged' in read) {
      const value = observedData ? ownGet(observedData, entry.targetKey) : undefined;
      if (value === undefined) problems.push(problem('INTERNAL', `${where}: kept from the last read but the Secret lacks the key`));
      else ownSet(data, entry.targetKey, value);
      continue;
    }
    if ('kept' in read) {
      const record = renewed(read.kept, read, now, sign);
      leases.set(entry.path, record);
      fallback.set(entry.path, record);
      const value = observedData ? ownGet(observedData, entry.targetKey) : undefined;
      if (value === undefined) problems.push(problem('INTERNAL', `${where}: the lease is kept but the Secret lacks the key`));
      else ownSet(data, entry.targetKey, value);
      continue;
    }
    if (read.lease && !leases.has(entry.path)) leases.set(entry.path, sign(issuedRecord(entry.path, read.lease, now)));
    if (!Object.hasOwn(read.data, entry.key)) {
      problems.push(problem('VAULT_KEY_NOT_FOUND', `${where} not found`));
      continue;
    }
    const value = ownGet(read.data, entry.key);
    if (value === null || typeof value === 'object') {
      problems.push(problem('VAULT_VALUE_NOT_SCALAR', `${where} is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object'}, not a string`));
      continue;
    }
    ownSet(data, entry.targetKey, Buffer.from(String(value), 'utf8').toString('base64'));
  }

  for (const [, { problem: p, targetKeys }] of failedPaths) {
    problems.push({ code: p.code, message: `${p.message} (targetKey ${targetKeys.join(', ')})` });
  }
  const fallbackLeases = [...fallback.values()];
  return problems.length === 0 ? { data, problems, leases: [...leases.values()], fallbackLeases } : { problems, leases: [], fallbackLeases };
}
