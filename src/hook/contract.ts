// What the Vault edge hands to the pure core: the outcome of logging in and of
// each distinct path read, keyed by the path as written in the spec. Types only,
// so the core never depends on the Vault client.
import type { Problem } from '../errors/catalog.js';
import type { LeaseRecord } from './carried-state/leases.js';

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
