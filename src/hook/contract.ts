// What the core and the Vault edge (src/vault) say to each other, and the only
// module of the core that the edge imports: what to do per path (the plan), what
// Vault answered (the material), the lease records the edge renews and revokes,
// what a revocation came to, and the context a creating token is sealed under.
// The core never imports the Vault client: reconcile is handed a `VaultEdge`.
import type { VaultApp } from '../api/vaultapp-schema.js';
import type { Problem } from '../errors/catalog.js';

export { pathsOf } from './secret-data/data-from.js';
export { identityOf, type Identity } from './children/workload.js';

/** The edge reconcile is handed: src/vault's reader, or one answering from recorded values. */
export interface VaultEdge {
  /** Logs in and does what the plan says for each path of the spec (reads every path without a plan). */
  material(app: VaultApp, plan?: VaultPlan): Promise<VaultMaterial>;
  /** Revokes leases (with the token that created each, where the record holds it); never throws for one lease. */
  revoke<R extends UnsignedLeaseRecord>(app: VaultApp, records: R[]): Promise<Revocation<R>[]>;
}

/** Timestamps as Kubernetes writes them, to the second: in conditions, lease records and the refresh state. */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export type Engine = 'kv2' | 'kv1' | 'leased';

/** A lease just issued, with what is known of the token that created it. */
export interface IssuedLease {
  id: string;
  durationSeconds: number;
  renewable: boolean;
  /** The creating token sealed with the hook's key; absent for tokens that never expire. */
  sealedToken?: string;
  tokenExpiresAt?: string;
  tokenTtl?: number;
}

export interface Renewal {
  ttl: number;
  requested: number;
}

export type PathRead =
  | { ok: true; engine: Engine; data: Record<string, unknown>; version?: number; lease?: IssuedLease }
  /** A lease still in use: its data stays as the observed Secret has it. */
  | { ok: true; engine: 'leased'; kept: LeaseRecord; renewal?: Renewal; tokenRenewal?: Renewal }
  /** A static path read less than the refresh interval ago (src/hook/carried-state/refresh-state.ts): the Secret's data stands. */
  | { ok: true; unchanged: true }
  | { ok: false; problem: Problem; kept?: LeaseRecord };

export interface VaultMaterial {
  auth: { ok: true } | { ok: false; problem: Problem };
  reads: Record<string, PathRead>;
  /** No request reached Vault (no login either): every path was fresh or a lease in use. */
  vaultSkipped?: true;
}

export type PathPlan =
  | { action: 'read' }
  /** A static path read less than the refresh interval ago: the Secret's data stands. */
  | { action: 'keep' }
  | { action: 'reuse'; record: LeaseRecord }
  | { action: 'renew'; record: LeaseRecord; lease: boolean; token: boolean };
export type VaultPlan = Record<string, PathPlan>;

/** The outcome of revoking one lease (by the Vault edge). */
export type Revocation<R extends UnsignedLeaseRecord = LeaseRecord> = { record: R; ok: true } | { record: R; ok: false; message: string };

export interface LeaseRecord {
  path: string;
  leaseId: string;
  issuedAt: string;
  renewedAt: string;
  /** Seconds the lease was first granted for. */
  duration: number;
  /** Seconds the lease lives from renewedAt. */
  ttl: number;
  renewable: boolean;
  /** Vault granted less than asked at the last renewal: the lease's max TTL is near. */
  maxed: boolean;
  /** The creating token, sealed with the hook's key (AES-GCM), so a restarted hook can keep it alive. */
  token?: string;
  /** When the creating token expires, as last known; absent for tokens that never expire. */
  tokenExpiresAt?: string;
  tokenRenewedAt?: string;
  tokenTtl?: number;
  tokenMaxed?: boolean;
  /** MAC of the other fields under the hook's key, bound to the VaultApp (./carried-state/mac.ts). */
  mac: string;
}

export type UnsignedLeaseRecord = Omit<LeaseRecord, 'mac'>;

// A lease id is used in a Vault URL (sys/leases/renew/<id>): Vault's ids are the
// path the credential was read from plus one generated segment, so anything else
// (a "..", a query string, another engine's path) is not an id the hook was given.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are among what this refuses
const UNSAFE_IN_LEASE_ID = /[%?#\\\u0000-\u001f\u007f]/;
export function leaseIdWithin(path: string, leaseId: string): boolean {
  if (!leaseId.startsWith(`${path}/`) || leaseId.length > path.length + 256 || UNSAFE_IN_LEASE_ID.test(leaseId)) return false;
  return leaseId.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** Whose state it is: a record is valid only for the VaultApp it was written for. */
export interface StateBinding {
  namespace: string;
  name: string;
  uid: string;
}

export function bindingOf(parent: { metadata: { name: string; namespace?: string; uid?: string } }): StateBinding {
  return { namespace: parent.metadata.namespace ?? '', name: parent.metadata.name, uid: parent.metadata.uid ?? '' };
}

/** Associated data of a sealed creating token: it opens only for this VaultApp, path and lease. */
export function sealedTokenContext(binding: StateBinding, path: string, leaseId: string): string {
  return JSON.stringify(['lease-token', binding.namespace, binding.name, binding.uid, path, leaseId]);
}

// The API server refuses a Secret whose keys and values come to more than 1 MiB
// (MaxSecretSize); said here, the Secret keeps its data instead of every apply failing.
export const MAX_SECRET_BYTES = 1024 * 1024;
