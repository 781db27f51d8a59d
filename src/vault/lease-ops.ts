// Renewing and revoking the leases recorded on a Secret. Renewals use the
// creating token when the record carries it (sealed), so a restarted hook keeps
// that token — and with it the lease — alive instead of issuing a new credential.
//
// The records were checked by the pure core (src/hook/carried-state/leases.ts observedLeases);
// the lease id is checked again here, right where it becomes part of a URL.
import {
  type StateBinding,
  sealedTokenContext,
  leaseIdWithin,
  type UnsignedLeaseRecord,
  type PathPlan,
  type PathRead,
  type Renewal,
} from '../hook/contract.js';
import { problem } from '../errors/catalog.js';
import { describeVaultFailure, VaultRequestError, type VaultHttp } from './http.js';
import type { TokenSealer } from './token-seal.js';

const gone = (err: unknown): boolean => err instanceof VaultRequestError && err.kind === 'http' && [400, 403, 404].includes(err.status ?? 0);

/** `sys/leases/<op>/<lease id>` with each segment encoded; undefined for an id not under its path. */
export function leaseUrl(op: 'renew' | 'revoke', record: Pick<UnsignedLeaseRecord, 'path' | 'leaseId'>): string | undefined {
  if (!leaseIdWithin(record.path, record.leaseId)) return undefined;
  return `sys/leases/${op}/${record.leaseId.split('/').map(encodeURIComponent).join('/')}`;
}

export interface LeaseOps {
  /** undefined: the lease or its token is gone, and a new credential must be read. */
  renew(path: string, plan: Extract<PathPlan, { action: 'renew' }>, binding: StateBinding, currentToken: () => Promise<string>): Promise<PathRead | undefined>;
  /** ok once the lease is revoked or Vault no longer knows it. */
  revoke(record: UnsignedLeaseRecord, binding: StateBinding, currentToken: () => Promise<string>): Promise<{ ok: true } | { ok: false; message: string }>;
}

export function createLeaseOps(http: VaultHttp, sealer: TokenSealer): LeaseOps {
  const creatingToken = (r: UnsignedLeaseRecord, b: StateBinding): string | undefined =>
    r.token ? sealer.unseal(r.token, sealedTokenContext(b, r.path, r.leaseId)) : undefined;
  return {
    async renew(path, plan, binding, currentToken) {
      const record = plan.record;
      const url = leaseUrl('renew', record);
      if (record.path !== path || url === undefined) {
        return { ok: false, problem: problem('UNTRUSTED_STATE', `the lease record of path "${path}" names a lease outside that path: not renewed`) };
      }
      const creating = creatingToken(record, binding);
      let tokenRenewal: Renewal | undefined;
      let renewal: Renewal | undefined;
      try {
        if (plan.token && creating && record.tokenTtl) {
          const res = await http.write('auth/token/renew-self', { increment: `${record.tokenTtl}s` }, creating);
          tokenRenewal = { ttl: numberOr0(res?.auth?.lease_duration), requested: record.tokenTtl };
        }
      } catch (err) {
        if (gone(err)) return undefined; // the creating token expired: its leases went with it
        return {
          ok: false,
          kept: record,
          problem: problem('LEASE_RENEWAL_FAILED', `cannot renew the token behind the lease of path "${path}": ${describeVaultFailure(err)}`),
        };
      }
      try {
        if (plan.lease) {
          // The lease id in the URL lets a policy allow renewing only its own engine's leases.
          const res = await http.write(url, { increment: record.duration }, creating ?? (await currentToken()));
          renewal = { ttl: numberOr0(res?.lease_duration), requested: record.duration };
        }
      } catch (err) {
        if (err instanceof VaultRequestError && err.status === 400) return undefined; // lease expired or revoked
        return { ok: false, kept: record, problem: problem('LEASE_RENEWAL_FAILED', `cannot renew the lease of path "${path}": ${describeVaultFailure(err)}`) };
      }
      return { ok: true, engine: 'leased', kept: record, ...(renewal ? { renewal } : {}), ...(tokenRenewal ? { tokenRenewal } : {}) };
    },
    async revoke(record, binding, currentToken) {
      const url = leaseUrl('revoke', record);
      if (url === undefined) return { ok: false, message: `cannot revoke the lease of path "${record.path}": its id is not under that path` };
      try {
        await http.write(url, {}, creatingToken(record, binding) ?? (await currentToken()));
        return { ok: true };
      } catch (err) {
        if (err instanceof VaultRequestError && err.status === 400) return { ok: true }; // unknown lease: nothing left to revoke
        return { ok: false, message: `cannot revoke the lease of path "${record.path}": ${describeVaultFailure(err)}` };
      }
    },
  };
}

const numberOr0 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
