// Renewing and revoking the leases recorded on a Secret. Renewals use the
// creating token when the record carries it (sealed), so a restarted hook keeps
// that token — and with it the lease — alive instead of issuing a new credential.
import { problem } from '../errors/catalog.js';
import type { LeaseRecord } from '../hook/leases.js';
import type { PathRead, Renewal } from '../hook/material.js';
import type { PathPlan } from '../hook/plan.js';
import { VaultRequestError, type VaultHttp } from './http.js';
import type { TokenSealer } from './token-seal.js';

const gone = (err: unknown): boolean => err instanceof VaultRequestError && err.kind === 'http' && [400, 403, 404].includes(err.status ?? 0);
const why = (err: unknown): string => (err instanceof VaultRequestError
  ? err.kind === 'unreachable' ? 'Vault is unreachable' : `Vault answered ${err.status}${err.vaultErrors.length ? ` (${err.vaultErrors.join('; ')})` : ''}`
  : err instanceof Error ? err.message : String(err));

export interface LeaseOps {
  /** undefined: the lease or its token is gone, and a new credential must be read. */
  renew(path: string, plan: Extract<PathPlan, { action: 'renew' }>, currentToken: () => Promise<string>): Promise<PathRead | undefined>;
  /** true once the lease is revoked or Vault no longer knows it. */
  revoke(record: LeaseRecord, currentToken: () => Promise<string>): Promise<{ ok: true } | { ok: false; message: string }>;
}

export function createLeaseOps(http: VaultHttp, sealer: TokenSealer): LeaseOps {
  const creatingToken = (r: LeaseRecord): string | undefined => (r.token ? sealer.unseal(r.token) : undefined);
  return {
    async renew(path, plan, currentToken) {
      const record = plan.record;
      const creating = creatingToken(record);
      let tokenRenewal: Renewal | undefined;
      let renewal: Renewal | undefined;
      try {
        if (plan.token && creating && record.tokenTtl) {
          const res = await http.write('auth/token/renew-self', { increment: `${record.tokenTtl}s` }, creating);
          tokenRenewal = { ttl: res.auth?.lease_duration ?? 0, requested: record.tokenTtl };
        }
      } catch (err) {
        if (gone(err)) return undefined; // the creating token expired: its leases went with it
        return { ok: false, kept: record, problem: problem('LEASE_RENEWAL_FAILED', `cannot renew the token behind the lease of path "${path}": ${why(err)}`) };
      }
      try {
        if (plan.lease) {
          // The lease id in the URL lets a policy allow renewing only its own engine's leases.
          const res = await http.write(`sys/leases/renew/${record.leaseId}`, { increment: record.duration }, creating ?? await currentToken());
          renewal = { ttl: Number(res.lease_duration ?? 0), requested: record.duration };
        }
      } catch (err) {
        if (err instanceof VaultRequestError && err.status === 400) return undefined; // lease expired or revoked
        return { ok: false, kept: record, problem: problem('LEASE_RENEWAL_FAILED', `cannot renew the lease of path "${path}": ${why(err)}`) };
      }
      return { ok: true, engine: 'leased', kept: record, ...(renewal ? { renewal } : {}), ...(tokenRenewal ? { tokenRenewal } : {}) };
    },
    async revoke(record, currentToken) {
      try {
        await http.write(`sys/leases/revoke/${record.leaseId}`, {}, creatingToken(record) ?? await currentToken());
        return { ok: true };
      } catch (err) {
        if (err instanceof VaultRequestError && err.status === 400) return { ok: true }; // unknown lease: nothing left to revoke
        return { ok: false, message: `cannot revoke the lease of path "${record.path}": ${why(err)}` };
      }
    },
  };
}
