// Turns what was read from Vault into the managed Secret's data and lease
// records, or into the problems that stop it. All keys of one path come from the
// one read of it; a lease still in use keeps the data the observed Secret holds.
import { isoSeconds, type LeaseRecord, type UnsignedLeaseRecord, type PathRead, type Renewal, type VaultMaterial } from '../contract.js';
import type { VaultApp, VaultSecret } from '../../api/vaultapp-schema.js';
import { problem, type Problem } from '../../errors/catalog.js';
import { copyAllKeys, dataFromOf, type DataFromKeys } from './data-from.js';
import { issuedRecord } from '../carried-state/leases.js';
import { ownGet, ownSet } from '../../api/json.js';
import { renderTemplates, type TemplateValues } from './templates.js';

export interface SecretDataOutcome {
  /** base64 values by targetKey; set only when every entry resolved. */
  data?: Record<string, string>;
  /** Lease records to keep with `data`. */
  leases: LeaseRecord[];
  /** Lease records to keep when the observed data is kept instead (on problems). */
  fallbackLeases: LeaseRecord[];
  /** With `data`, when the VaultApp has dataFrom entries: the keys they wrote and what they skipped. */
  dataFrom?: DataFromKeys;
  problems: Problem[];
}

const maxedBy = (r: Renewal): boolean => r.ttl + 1 < r.requested;

/** Signs a record for the VaultApp being synced (../carried-state/leases.ts signLease). */
export type SignLease = (record: UnsignedLeaseRecord) => LeaseRecord;

function renewed(record: LeaseRecord, read: Extract<PathRead, { kept: LeaseRecord }>, now: Date, sign: SignLease): LeaseRecord {
  if (!read.renewal && !('tokenRenewal' in read && read.tokenRenewal)) return record;
  const next: UnsignedLeaseRecord = { ...record };
  if (read.renewal) Object.assign(next, { renewedAt: isoSeconds(now), ttl: read.renewal.ttl, maxed: maxedBy(read.renewal) });
  const t = 'tokenRenewal' in read ? read.tokenRenewal : undefined;
  if (t)
    Object.assign(next, {
      tokenRenewedAt: isoSeconds(now),
      tokenTtl: t.ttl,
      tokenMaxed: maxedBy(t),
      tokenExpiresAt: isoSeconds(new Date(now.getTime() + t.ttl * 1000)),
    });
  return sign(next);
}

/** What the trusted refresh state carries over from the last read. */
export interface KeptState {
  /** The keys dataFrom wrote at the last read: a path kept unchanged keeps them as the Secret holds them. */
  dataFrom?: DataFromKeys;
  /** The templates must render whatever was read (../carried-state/refresh-state.ts templatesStale). */
  templatesStale: boolean;
}

export function secretDataFromVault(
  app: VaultApp,
  material: VaultMaterial,
  observedData: Record<string, string> | undefined,
  kept: KeptState,
  now: Date,
  sign: SignLease,
): SecretDataOutcome {
  const keptFrom = kept.dataFrom;
  const entries = app.spec.vault.secrets;
  if (!material.auth.ok) return { problems: [material.auth.problem], leases: [], fallbackLeases: [] };
  const problems: Problem[] = [];
  const data: Record<string, string> = {};
  const leases = new Map<string, LeaseRecord>();
  const fallback = new Map<string, LeaseRecord>();
  const failedPaths: FailedPaths = new Map();

  // Values of named entries, for templates (plain strings); `fresh`: named entries whose path was read this sync.
  const values: TemplateValues = {};
  let freshNamed = false;
  const unavailable: string[] = [];
  const giveValue = (entry: VaultSecret, text: string): void => {
    if (entry.name === undefined) return;
    if (!Object.hasOwn(values, entry.name)) ownSet(values, entry.name, {});
    ownSet(values[entry.name]!, entry.key, text);
  };
  for (const entry of entries) {
    const label = entry.targetKey !== undefined ? `targetKey ${entry.targetKey}` : `template value ${entry.name}.${entry.key}`;
    const read = ownGet(material.reads, entry.path);
    if (!read) {
      problems.push(problem('INTERNAL', `path "${entry.path}" was not read (${label})`));
      continue;
    }
    if (!read.ok) {
      const failed = failedPaths.get(entry.path) ?? { problem: read.problem, targetKeys: [], others: [] };
      if (entry.targetKey !== undefined) failed.targetKeys.push(entry.targetKey);
      else failed.others.push(label);
      failedPaths.set(entry.path, failed);
      if (read.kept) fallback.set(entry.path, read.kept);
      continue;
    }
    const where = `key "${entry.key}" at path "${entry.path}" (${label})`;
    if ('unchanged' in read || 'kept' in read) {
      if ('kept' in read) {
        const record = renewed(read.kept, read, now, sign);
        leases.set(entry.path, record);
        fallback.set(entry.path, record);
      }
      // A template-only value is not in the Secret: its templates keep their output (../plan.ts reads its path when they must render).
      if (entry.targetKey === undefined) {
        unavailable.push(label);
        continue;
      }
      const value = observedData ? ownGet(observedData, entry.targetKey) : undefined;
      if (value === undefined)
        problems.push(problem('INTERNAL', `${where}: ${'kept' in read ? 'the lease is kept' : 'kept from the last read'} but the Secret lacks the key`));
      else {
        ownSet(data, entry.targetKey, value);
        giveValue(entry, Buffer.from(value, 'base64').toString('utf8'));
      }
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
    if (entry.name !== undefined) freshNamed = true;
    if (entry.targetKey !== undefined) ownSet(data, entry.targetKey, Buffer.from(String(value), 'utf8').toString('base64'));
    giveValue(entry, String(value));
  }

  const fromVault = dataFromOf(app).length > 0 ? copiedKeys(app, material, observedData, keptFrom, failedPaths) : undefined;
  if (fromVault) {
    problems.push(...fromVault.problems);
    for (const [k, v] of Object.entries(fromVault.data)) ownSet(data, k, v);
  }
  const templates = app.spec.vault.templates;
  if (templates && Object.keys(templates).length > 0 && problems.length === 0 && failedPaths.size === 0) {
    const rendered = templateData(templates, values, freshNamed || kept.templatesStale, unavailable, observedData);
    problems.push(...rendered.problems);
    for (const [k, v] of Object.entries(rendered.data)) ownSet(data, k, v);
  }
  for (const [, { problem: p, targetKeys, others }] of failedPaths) {
    const what = [...(targetKeys.length > 0 ? [`targetKey ${targetKeys.join(', ')}`] : []), ...others];
    problems.push({ code: p.code, message: `${p.message} (${what.join('; ')})` });
  }
  const fallbackLeases = [...fallback.values()];
  return problems.length === 0
    ? { data, problems, leases: [...leases.values()], fallbackLeases, ...(fromVault ? { dataFrom: fromVault.from } : {}) }
    : { problems, leases: [], fallbackLeases };
}

type FailedPaths = Map<string, { problem: Problem; targetKeys: string[]; others: string[] }>;

/**
 * Templates render when a value they may use was just read; otherwise their inputs are
 * what they were at the last render, and the outputs stand as the Secret holds them
 * (covered by the refresh state's MAC). Rendering needs every named value: ../plan.ts
 * reads the paths of template-only entries whenever the templates must render.
 */
function templateData(
  templates: Record<string, string>,
  values: TemplateValues,
  render: boolean,
  unavailable: string[],
  observedData: Record<string, string> | undefined,
): { data: Record<string, string>; problems: Problem[] } {
  if (render) {
    if (unavailable.length > 0)
      return { data: {}, problems: [problem('INTERNAL', `templates must render but ${unavailable.join(', ')} was not read in this sync`)] };
    return renderTemplates(templates, values);
  }
  const data: Record<string, string> = {};
  for (const key of Object.keys(templates)) {
    const value = observedData ? ownGet(observedData, key) : undefined;
    if (value === undefined) {
      // No named value was read (a spec of templates alone, or all kept): render from what is at hand.
      if (unavailable.length > 0)
        return { data: {}, problems: [problem('INTERNAL', `template "${key}" is not in the Secret and ${unavailable.join(', ')} was not read in this sync`)] };
      return renderTemplates(templates, values);
    }
    ownSet(data, key, value);
  }
  return { data, problems: [] };
}

// dataFrom's paths are all static (a lease is refused), and the plan keeps all static
// paths or reads them all: so either every dataFrom path was just read, or none was.
function copiedKeys(
  app: VaultApp,
  material: VaultMaterial,
  observedData: Record<string, string> | undefined,
  keptFrom: DataFromKeys | undefined,
  failedPaths: FailedPaths,
): { data: Record<string, string>; from: DataFromKeys; problems: Problem[] } {
  const entries = dataFromOf(app);
  const problems: Problem[] = [];
  const fresh: Record<string, Record<string, unknown>> = {};
  let unchanged = 0;
  for (const [i, entry] of entries.entries()) {
    const read = ownGet(material.reads, entry.path);
    const which = `dataFrom[${i}]`;
    if (!read) problems.push(problem('INTERNAL', `path "${entry.path}" was not read (${which})`));
    else if (!read.ok) {
      const failed = failedPaths.get(entry.path) ?? { problem: read.problem, targetKeys: [], others: [] };
      failed.others.push(which);
      failedPaths.set(entry.path, failed);
    } else if ('unchanged' in read) unchanged++;
    else if ('kept' in read || read.lease) {
      problems.push(
        problem(
          'DATA_FROM_NOT_KV',
          `path "${entry.path}" (${which}) gives a dynamic credential with a lease: dataFrom copies KV secrets only; name its keys in vault.secrets`,
        ),
      );
    } else ownSet(fresh, entry.path, read.data);
  }
  const none = { data: {}, from: { keys: {}, skipped: [] } };
  if (problems.length > 0 || failedPaths.size > 0) return { ...none, problems };
  if (unchanged === 0) {
    // Explicit keys win: vault.secrets' targetKeys and the templates' keys.
    const taken = new Map<string, string>([
      ...app.spec.vault.secrets.flatMap((s): [string, string][] => (s.targetKey === undefined ? [] : [[s.targetKey, 'a targetKey of vault.secrets']])),
      ...Object.keys(app.spec.vault.templates ?? {}).map((k): [string, string] => [k, 'a key of vault.templates']),
    ]);
    return copyAllKeys(entries, (path) => ownGet(fresh, path) ?? {}, taken);
  }
  if (unchanged !== entries.length || !keptFrom)
    return { ...none, problems: [problem('INTERNAL', 'dataFrom paths were kept from the last read without a record of their keys')] };
  const data: Record<string, string> = {};
  for (const key of Object.values(keptFrom.keys).flat()) {
    const value = observedData ? ownGet(observedData, key) : undefined;
    if (value === undefined) return { ...none, problems: [problem('INTERNAL', `key "${key}" from dataFrom: kept from the last read but the Secret lacks it`)] };
    ownSet(data, key, value);
  }
  return { data, from: keptFrom, problems: [] };
}
