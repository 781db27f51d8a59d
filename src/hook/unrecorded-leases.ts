// Leases issued in a sync whose answer does not record them. A sync that fails for
// one path keeps the Secret as it was, so a credential just issued for another path
// goes nowhere: nothing would ever renew or revoke it, and a failing VaultApp would
// leave one more database user behind at every retry. The hook revokes these before
// answering (src/http/routes/hook.ts); this only finds them.
import type { UnsignedLeaseRecord, VaultMaterial } from './contract.js';
import { issuedRecord, recordedLeaseIds } from './carried-state/leases.js';
import type { KubeObject } from './types.js';

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
