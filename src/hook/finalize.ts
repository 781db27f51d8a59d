// Finalize: called instead of sync while the VaultApp is being deleted. Static
// secrets hold nothing in Vault; leases recorded on the Secret are revoked
// first. The parent is released once every lease is revoked or has expired by
// itself; until then the Secret (and its lease records) is kept and the call retried.
import { isoSeconds, type LeaseRecord, type Revocation } from './contract.js';
import type { Condition } from '../api/vaultapp-schema.js';
import { credentialEnd, LEASES_ANNOTATION, observedLeases, serializeLeases } from './carried-state/leases.js';
import { childLabels, secretName, observedChild } from './children/names.js';
import { observedState, STATE_ANNOTATION } from './carried-state/refresh-state.js';
import { secretAnnotations, secretLabels, typeToWrite } from './children/secret-shape.js';
import type { KubeObject, SyncConfig, SyncRequest, SyncResponse } from './types.js';

/**
 * The recorded leases still alive, which finalize must revoke: only records the
 * hook wrote for this VaultApp, for paths of its spec, so at most one per path.
 */
export function leasesToRevoke(req: SyncRequest, now: Date, hmacKey: string): LeaseRecord[] {
  const secret = observedChild(req, 'secret', secretName(req.parent.metadata.name));
  return observedLeases(secret, req.parent, hmacKey).trusted.filter((r) => credentialEnd(r) > now.getTime());
}

export function finalize(req: SyncRequest, revocations: Revocation[], now: Date, config: SyncConfig): SyncResponse {
  const { observedGeneration: _dropped, ...status } = req.parent.status ?? {};
  const failed = revocations.filter((r): r is Extract<Revocation, { ok: false }> => !r.ok && credentialEnd(r.record) > now.getTime());
  if (failed.length === 0) return { status: { ...status, ...(status.leases ? { leases: [] } : {}) }, children: [], finalized: true };

  const name = secretName(req.parent.metadata.name);
  const secret = observedChild(req, 'secret', name)!;
  const message = failed.map((f) => f.message).join('; ');
  const ready: Condition = {
    type: 'Ready',
    status: 'False',
    reason: 'LeaseRevocationFailed',
    message: `deletion waits for the leases to be revoked or to expire: ${message}`,
    lastTransitionTime:
      status.conditions?.find((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'LeaseRevocationFailed')?.lastTransitionTime ?? isoSeconds(now),
  };
  const expiresIn = Math.ceil((Math.max(...failed.map((f) => credentialEnd(f.record))) - now.getTime()) / 1000);
  return {
    status: { ...status, conditions: [...(status.conditions ?? []).filter((c) => c.type !== 'Ready'), ready] },
    // The Secret stays, with the records of what is left to revoke.
    children: [
      keptSecret(
        req,
        secret,
        failed.map((f) => f.record),
        config.hmacKey,
      ),
    ],
    finalized: false,
    resyncAfterSeconds: Math.max(1, Math.min(config.errorBackoffMinSeconds * 2, expiresIn)),
  };
}

// Shaped as /sync shapes it (./carried-state/managed-secret.ts): the observed type, since the API
// server refuses to change a Secret's type and would refuse every retry of an answer
// that did; the labels and annotations the spec asks for; the refresh state as it is,
// so that the only change is the lease records.
function keptSecret(req: SyncRequest, secret: KubeObject, records: LeaseRecord[], hmacKey: string): KubeObject {
  const app = req.parent;
  const name = secretName(app.metadata.name);
  const state = observedState(secret, app, hmacKey);
  const own = { [LEASES_ANNOTATION]: serializeLeases(records), ...(state.kind === 'trusted' ? { [STATE_ANNOTATION]: state.text } : {}) };
  const data = secret.data as Record<string, string> | undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: app.metadata.namespace, labels: secretLabels(app, childLabels(app.metadata.name)), annotations: secretAnnotations(app, own) },
    type: typeToWrite(app, secret, name).type,
    ...(data && Object.keys(data).length > 0 ? { data } : {}),
  };
}
