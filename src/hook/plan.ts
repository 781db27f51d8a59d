// What the Vault edge must do for one sync, decided from the request alone:
// read a path, or, for a lease recorded on the observed Secret, keep it as it
// is or renew it. Pure.
import { leaseAction, observedLeases, renewalsDue, type LeaseRecord } from './leases.js';
import { secretName } from './names.js';
import { observedChild } from './observed.js';
import { ownSet } from './own.js';
import type { SyncRequest } from './types.js';

export type PathPlan =
  | { action: 'read' }
  | { action: 'reuse'; record: LeaseRecord }
  | { action: 'renew'; record: LeaseRecord; lease: boolean; token: boolean };
export type VaultPlan = Record<string, PathPlan>;

/** Only records that pass observedLeases' checks are planned on: a rejected one never skips a read. */
export function planVaultWork(req: SyncRequest, now: Date, hmacKey: string): VaultPlan {
  const secret = observedChild(req, 'secret', secretName(req.parent.metadata.name));
  const data = (secret?.data ?? {}) as Record<string, string>;
  const records = observedLeases(secret, req.parent, hmacKey).trusted;
  const plan: VaultPlan = {};
  for (const entry of req.parent.spec.vault.secrets) {
    if (Object.hasOwn(plan, entry.path)) continue;
    const record = records.find((r) => r.path === entry.path);
    // A key the Secret does not hold yet needs a new read: all keys of a path come from one credential.
    const complete = req.parent.spec.vault.secrets.filter((s) => s.path === entry.path).every((s) => Object.hasOwn(data, s.targetKey));
    const action = record && complete ? leaseAction(record, now) : 'issue';
    ownSet(plan, entry.path, action === 'issue' ? { action: 'read' }
      : action === 'reuse' ? { action, record: record! }
      : { action, record: record!, ...renewalsDue(record!, now) });
  }
  return plan;
}
