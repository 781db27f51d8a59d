// A reader that answers from values recorded beforehand instead of asking Vault:
// `npm run render -- --values`, and the tests' and the bench's hooks that must not
// depend on a Vault server. The only one of its kind, so that all three hand the
// core what the real reader would.
import { pathsOf, type PathRead, type VaultMaterial } from '../hook/contract.js';
import type { VaultApp } from '../api/vaultapp-schema.js';
import { problem } from '../errors/catalog.js';
import type { ReaderStats, VaultReader } from './reader.js';

/** KV v2 data by the path as written in the spec: `{path: {key: value}}`. */
export type RecordedValues = Record<string, Record<string, unknown>>;

export interface RecordedOptions {
  /** The KV v2 version reported for every path; absent: none. */
  version?: number;
  /** Why a path has no recorded values (the problem's message). */
  missing?: (path: string) => string;
}

const notStored = (path: string): string => `cannot read path "${path}": nothing stored there (404)`;

/** What the real reader would hand over for these KV v2 values: one read per distinct path of the spec (secrets and dataFrom). */
export function recordedMaterial(app: VaultApp, values: RecordedValues, opts: RecordedOptions = {}): VaultMaterial {
  const reads: Record<string, PathRead> = {};
  for (const path of pathsOf(app)) {
    const data = Object.hasOwn(values, path) ? values[path] : undefined;
    reads[path] = data
      ? { ok: true, engine: 'kv2', data, ...(opts.version !== undefined ? { version: opts.version } : {}) }
      : { ok: false, problem: problem('VAULT_PATH_NOT_FOUND', (opts.missing ?? notStored)(path)) };
  }
  return { auth: { ok: true }, reads };
}

/**
 * A reader answering every sync from `recorded`: one material as it stands (a test's
 * chosen outcome, failures included) or KV v2 values by path. Counts its calls; revokes nothing.
 */
export function recordedReader(recorded: VaultMaterial | { values: RecordedValues; options?: RecordedOptions }): VaultReader & { calls: number } {
  const stats: ReaderStats = { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 };
  const reader = {
    calls: 0,
    stats,
    async material(app: VaultApp): Promise<VaultMaterial> {
      reader.calls++;
      return 'values' in recorded ? recordedMaterial(app, recorded.values, recorded.options) : recorded;
    },
    async revoke() {
      reader.calls++;
      return [];
    },
  };
  return reader;
}
