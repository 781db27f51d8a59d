// Dynamic-secret leases, kept on the managed Secret so that the hook needs
// nothing in memory: after a restart, or on another replica, the next sync
// continues from what the observed Secret says. Pure: `now` is an argument.
//
// A credential lives until the earlier of its lease's end and the end of the
// Vault token that created it (Vault revokes a token's leases with it). The
// lease is renewed at two thirds of its TTL, the creating token likewise, and a
// new credential is issued only when neither can be extended far enough — never
// because of a restart or a resync.
import type { KubeObject } from './types.js';

export const LEASES_ANNOTATION = 'vaultapp.techweaver.io/leases';

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
}

export type LeaseAction = 'reuse' | 'renew' | 'issue';

const ms = (iso: string | undefined): number => (iso ? Date.parse(iso) : NaN);
// Seconds no lease or token outlives (ten years): anything beyond is not a record of ours.
const MAX_SECONDS = 10 * 365 * 24 * 3600;
const seconds = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_SECONDS;
const isRecord = (x: unknown): x is LeaseRecord => {
  const r = x as LeaseRecord;
  return typeof r?.path === 'string' && typeof r.leaseId === 'string' && typeof r.renewedAt === 'string' && Number.isFinite(ms(r.renewedAt))
    && seconds(r.ttl) && seconds(r.duration) && typeof r.renewable === 'boolean'
    && (r.tokenExpiresAt === undefined || (typeof r.tokenExpiresAt === 'string' && Number.isFinite(ms(r.tokenExpiresAt))))
    && (r.tokenTtl === undefined || seconds(r.tokenTtl))
    && (r.tokenRenewedAt === undefined || (typeof r.tokenRenewedAt === 'string' && Number.isFinite(ms(r.tokenRenewedAt))));
};

/** Lease records from the observed Secret; anything unreadable counts as no record. */
export function observedLeases(secret: KubeObject | undefined): LeaseRecord[] {
  const text = secret?.metadata.annotations?.[LEASES_ANNOTATION];
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter(isRecord) : [];
  } catch {
    return [];
  }
}

export function serializeLeases(records: LeaseRecord[]): string {
  return JSON.stringify([...records].sort((a, b) => (a.path < b.path ? -1 : 1)));
}

/** When the current credential stops working unless something is renewed. */
export function credentialEnd(r: LeaseRecord): number {
  return Math.min(ms(r.renewedAt) + r.ttl * 1000, r.tokenExpiresAt ? ms(r.tokenExpiresAt) : Infinity);
}

const leaseExtendable = (r: LeaseRecord): boolean => r.renewable && !r.maxed;
const tokenExtendable = (r: LeaseRecord): boolean => !!r.token && !r.tokenMaxed && !!r.tokenTtl && !!r.tokenRenewedAt;

/** Beyond this no renewal helps: a lease at its max TTL, or a creating token the hook cannot renew. */
function hardLimit(r: LeaseRecord): number {
  const leaseHard = leaseExtendable(r) ? Infinity : ms(r.renewedAt) + r.ttl * 1000;
  const tokenHard = r.tokenExpiresAt && !tokenExtendable(r) ? ms(r.tokenExpiresAt) : Infinity;
  return Math.min(leaseHard, tokenHard);
}

// A new credential is issued with a third of the lease's original duration left
// (at least 10 s): the old one stays valid while pods move to the new one.
const margin = (r: LeaseRecord): number => Math.max(10_000, (r.duration * 1000) / 3);
const rotateAt = (r: LeaseRecord): number => hardLimit(r) - margin(r);
// When renewals keep failing: half the margin before the credential's end.
const lastChance = (r: LeaseRecord): number => credentialEnd(r) - margin(r) / 2;

// From the token's expiry rather than from when the record was written: a
// token shared by several leases was renewed at its own times.
const tokenRenewAt = (r: LeaseRecord): number => (tokenExtendable(r) && r.tokenExpiresAt ? ms(r.tokenExpiresAt) - (r.tokenTtl! * 1000) / 3 : Infinity);

function renewAt(r: LeaseRecord): number {
  const lease = leaseExtendable(r) ? ms(r.renewedAt) + (r.ttl * 1000 * 2) / 3 : Infinity;
  return Math.min(lease, tokenRenewAt(r));
}

/** Which renewals are due now: the lease's, the creating token's, or both. */
export function renewalsDue(r: LeaseRecord, now: Date): { lease: boolean; token: boolean } {
  const t = now.getTime();
  return {
    lease: leaseExtendable(r) && t >= ms(r.renewedAt) + (r.ttl * 1000 * 2) / 3,
    token: t >= tokenRenewAt(r),
  };
}

export function leaseAction(r: LeaseRecord, now: Date): LeaseAction {
  const t = now.getTime();
  if (t >= lastChance(r) || t >= rotateAt(r)) return 'issue';
  if (t >= renewAt(r)) return 'renew';
  return 'reuse';
}

/** Seconds until the next lease needs the hook (a renewal or a new credential). */
export function nextLeaseActionSeconds(records: LeaseRecord[], now: Date): number | undefined {
  const times = records.flatMap((r) => [renewAt(r), rotateAt(r), lastChance(r)]).filter(Number.isFinite);
  if (times.length === 0) return undefined;
  return Math.max(1, Math.ceil((Math.min(...times) - now.getTime()) / 1000));
}
