// Dynamic-secret leases, kept on the managed Secret so that the hook needs
// nothing in memory: after a restart, or on another replica, the next sync
// continues from what the observed Secret says. Pure: `now` is an argument.
//
// A credential lives until the earlier of its lease's end and the end of the
// Vault token that created it (Vault revokes a token's leases with it). The
// lease is renewed at two thirds of its TTL, the creating token likewise, and a
// new credential is issued only when neither can be extended far enough — never
// because of a restart or a resync.
import { bindingOf, type StateBinding, isoSeconds, leaseIdWithin, type IssuedLease, type LeaseRecord, type UnsignedLeaseRecord } from '../contract.js';
import type { VaultApp } from '../../api/vaultapp-schema.js';
import { stateMac, stateMacMatches } from './mac.js';
import { pathsOf } from '../secret-data/data-from.js';
import type { KubeObject } from '../types.js';

export const LEASES_ANNOTATION = 'vaultapp.techweaver.io/leases';

export type LeaseAction = 'reuse' | 'renew' | 'issue';

const ms = (iso: string | undefined): number => (iso ? Date.parse(iso) : NaN);
// Seconds no lease or token outlives (ten years): anything beyond is not a record of ours.
const MAX_SECONDS = 10 * 365 * 24 * 3600;
const seconds = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_SECONDS;
const time = (v: unknown): boolean => typeof v === 'string' && Number.isFinite(ms(v));
const optional = (v: unknown, check: (x: unknown) => boolean): boolean => v === undefined || check(v);
const isLeaseRecordShape = (x: unknown): x is LeaseRecord => {
  const r = x as LeaseRecord;
  return (
    typeof r?.path === 'string' &&
    typeof r.leaseId === 'string' &&
    time(r.issuedAt) &&
    time(r.renewedAt) &&
    seconds(r.ttl) &&
    seconds(r.duration) &&
    typeof r.renewable === 'boolean' &&
    typeof r.maxed === 'boolean' &&
    optional(r.token, (t) => typeof t === 'string') &&
    optional(r.tokenExpiresAt, time) &&
    optional(r.tokenTtl, seconds) &&
    optional(r.tokenRenewedAt, time) &&
    optional(r.tokenMaxed, (t) => typeof t === 'boolean') &&
    typeof r.mac === 'string'
  );
};

const MAC_PURPOSE = 'lease-record';
// Every field but the MAC, in a fixed order: the MAC does not depend on key order.
const macFields = (r: LeaseRecord): unknown[] => [
  r.path,
  r.leaseId,
  r.issuedAt,
  r.renewedAt,
  r.duration,
  r.ttl,
  r.renewable,
  r.maxed,
  r.token ?? null,
  r.tokenExpiresAt ?? null,
  r.tokenRenewedAt ?? null,
  r.tokenTtl ?? null,
  r.tokenMaxed ?? null,
];

/** The record with its MAC, bound to the VaultApp: the only form in which the hook writes one. */
export function signLease(record: UnsignedLeaseRecord, binding: StateBinding, hmacKey: string): LeaseRecord {
  const { mac: _old, ...fields } = record as LeaseRecord;
  return { ...fields, mac: stateMac(hmacKey, MAC_PURPOSE, binding, macFields(fields as LeaseRecord)) };
}

/** Why a record on the observed Secret is not acted on. */
export type RejectedLease =
  | 'not a lease record'
  | 'not written by the hook for this VaultApp'
  | 'a lease id outside its path'
  | 'a second record for one path'
  | 'too many records';

export interface ObservedLeases {
  /** Records the hook wrote for this VaultApp, for paths of its spec, one per path. */
  trusted: LeaseRecord[];
  rejected: RejectedLease[];
}

// A VaultApp has at most 64 paths, so the hook writes at most 64 records; a genuine
// record hidden among many forged ones is still found (and revoked at finalize), up to
// a bound on the work: a MAC costs a few µs, the annotation is at most 256 KiB in a
// cluster (a direct call is bounded by the body limit).
const MAX_RECORDS_EXAMINED = 2048;
const MAX_ANNOTATION_LENGTH = 1024 * 1024;

/**
 * The lease records of the observed Secret that the hook may act on. A record
 * counts only if its MAC verifies for this VaultApp, its lease id lies under its
 * path, and its path is in the spec; anything else is rejected (and reported by
 * the caller), or, for a genuine record of a path the spec no longer has, dropped.
 */
export function observedLeases(secret: KubeObject | undefined, parent: VaultApp, hmacKey: string): ObservedLeases {
  const text = secret?.metadata?.annotations?.[LEASES_ANNOTATION];
  if (text === undefined || text === '') return { trusted: [], rejected: [] };
  let parsed: unknown;
  try {
    parsed = typeof text === 'string' && text.length <= MAX_ANNOTATION_LENGTH ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) return { trusted: [], rejected: ['not a lease record'] };
  const binding = bindingOf(parent);
  const paths = new Set(pathsOf(parent));
  const trusted: LeaseRecord[] = [];
  const rejected: RejectedLease[] = parsed.length > MAX_RECORDS_EXAMINED ? ['too many records'] : [];
  for (const r of parsed.slice(0, MAX_RECORDS_EXAMINED)) {
    if (!isLeaseRecordShape(r)) rejected.push('not a lease record');
    else if (!stateMacMatches(hmacKey, MAC_PURPOSE, binding, macFields(r), r.mac)) rejected.push('not written by the hook for this VaultApp');
    else if (!leaseIdWithin(r.path, r.leaseId)) rejected.push('a lease id outside its path');
    else if (!paths.has(r.path))
      continue; // genuine, but the spec no longer reads this path: not renewed, not revoked
    else if (trusted.some((t) => t.path === r.path)) rejected.push('a second record for one path');
    else trusted.push(pick(r));
  }
  return { trusted, rejected };
}

// Only the fields the hook knows: whatever else a JSON object carries stays behind.
function pick(r: LeaseRecord): LeaseRecord {
  const keys = [
    'path',
    'leaseId',
    'issuedAt',
    'renewedAt',
    'duration',
    'ttl',
    'renewable',
    'maxed',
    'token',
    'tokenExpiresAt',
    'tokenRenewedAt',
    'tokenTtl',
    'tokenMaxed',
    'mac',
  ] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (r[k] !== undefined) out[k] = r[k];
  return out as unknown as LeaseRecord;
}

/** The record of a lease just issued, before it is signed. */
export function issuedRecord(path: string, l: IssuedLease, now: Date): UnsignedLeaseRecord {
  return {
    path,
    leaseId: l.id,
    issuedAt: isoSeconds(now),
    renewedAt: isoSeconds(now),
    duration: l.durationSeconds,
    ttl: l.durationSeconds,
    renewable: l.renewable,
    maxed: false,
    ...(l.sealedToken ? { token: l.sealedToken } : {}),
    ...(l.tokenExpiresAt ? { tokenExpiresAt: l.tokenExpiresAt, tokenRenewedAt: isoSeconds(now), tokenTtl: l.tokenTtl ?? 0, tokenMaxed: false } : {}),
  };
}

/** The lease ids an answer records: the hook's own output, so no check is needed. */
export function recordedLeaseIds(secret: KubeObject | undefined): Set<string> {
  const text = secret?.metadata.annotations?.[LEASES_ANNOTATION];
  if (!text) return new Set();
  return new Set((JSON.parse(text) as LeaseRecord[]).map((r) => r.leaseId));
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
