// What one request to the hook does, start to end; the HTTP route, `npm run render`
// and the bench all call this, so there is one place to read it.
//
// A sync: the observed Secret's state is checked once (./carried-state/observed-secret.ts),
// the Vault work is planned from the request alone (./plan.ts), the edge does it, the
// desired state is computed from what it got (./sync.ts), credentials issued but not
// recorded in the answer are revoked, and the answer is said to hold until a time
// (./carried-state/answer-stability.ts) so that the same request can be answered
// again without this. A finalize: the recorded leases still alive are revoked, then
// the answer says whether the parent may go (./finalize.ts).
//
// The Vault edge is an argument (./contract.ts `VaultEdge`): nothing here knows the
// Vault client or HTTP, and `now` is a clock, read again after the revocations of a
// finalize, which may take a while.
import { answerStableUntil } from './carried-state/answer-stability.js';
import { issuedRecord, recordedLeaseIds } from './carried-state/leases.js';
import { observeManagedSecret } from './carried-state/observed-secret.js';
import type { UnsignedLeaseRecord, VaultEdge, VaultMaterial } from './contract.js';
import { finalize, leasesToRevoke } from './finalize.js';
import { planVaultWork } from './plan.js';
import { sync } from './sync.js';
import type { KubeObject, SyncConfig, SyncRequest, SyncResponse } from './types.js';

export interface Reconciled {
  response: SyncResponse;
  /** Epoch ms before which the same request, reconciled again, gets this same answer; absent: no reuse. */
  stableUntil?: number;
  /** Credentials this sync issued that its answer does not record, and how revoking them went. */
  unrecorded?: UnrecordedRevocation;
}

/** Best effort: the answer goes out whatever happens; what is not revoked expires with its TTL. */
export interface UnrecordedRevocation {
  paths: string[];
  /** Vault's refusals, one per lease not revoked. */
  failures: string[];
  /** Set when revoking failed as a whole (the edge threw). */
  error?: unknown;
}

export async function reconcile(request: SyncRequest, reader: VaultEdge, now: () => Date, config: SyncConfig): Promise<Reconciled> {
  if (request.finalizing) {
    const alive = leasesToRevoke(request, now(), config.hmacKey);
    const revocations = alive.length > 0 ? await reader.revoke(request.parent, alive) : [];
    return { response: finalize(request, revocations, now(), config) };
  }
  const at = now();
  const observed = observeManagedSecret(request, config.hmacKey);
  const plan = planVaultWork(request, at, config, observed);
  const material = await reader.material(request.parent, plan);
  const response = sync(request, material, at, config, observed);
  const unrecorded = await revokeUnrecorded(request, reader, unrecordedLeases(material, response, at));
  const until = answerStableUntil(request, plan, response, config, observed);
  return {
    response,
    ...(until !== undefined && until > at.getTime() ? { stableUntil: until } : {}),
    ...(unrecorded ? { unrecorded } : {}),
  };
}

async function revokeUnrecorded(request: SyncRequest, reader: VaultEdge, records: UnsignedLeaseRecord[]): Promise<UnrecordedRevocation | undefined> {
  if (records.length === 0) return undefined;
  const paths = records.map((r) => r.path);
  try {
    const outcomes = await reader.revoke(request.parent, records);
    return { paths, failures: outcomes.flatMap((o) => (o.ok ? [] : [o.message])) };
  } catch (error) {
    return { paths, failures: [], error };
  }
}

// A sync that fails for one path keeps the Secret as it was, so a credential just issued
// for another path goes nowhere: nothing would ever renew or revoke it, and a failing
// VaultApp would leave one more database user behind at every retry.
/** Leases issued in this sync whose answer does not record them. */
export function unrecordedLeases(material: VaultMaterial, answer: { children: KubeObject[] }, now: Date): UnsignedLeaseRecord[] {
  const secret = answer.children.find((c) => c.kind === 'Secret' && c.apiVersion === 'v1');
  const recorded = recordedLeaseIds(secret);
  const out: UnsignedLeaseRecord[] = [];
  for (const [path, read] of Object.entries(material.reads)) {
    if (!read.ok || !('lease' in read) || !read.lease || recorded.has(read.lease.id)) continue;
    // Revoked with the token that created it (sealed in the record), as a recorded lease would be.
    out.push(issuedRecord(path, read.lease, now));
  }
  return out;
}
