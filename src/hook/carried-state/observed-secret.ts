// What the observed managed Secret carries that a sync acts on, checked once per sync:
// planning the Vault work and building the answer both need the lease records, the
// refresh state and the MACs of the data as it is, and each check costs HMACs.
// Pure; tenant-editable input, so only what passes its MAC is trusted (./leases.ts,
// ./refresh-state.ts).
import { observedLeases, type ObservedLeases } from './leases.js';
import { secretName } from '../children/names.js';
import { observedChild } from '../children/names.js';
import { dataMacs, observedState, type ObservedState } from './refresh-state.js';
import type { KubeObject, SyncRequest } from '../types.js';

export interface ObservedSecret {
  secret: KubeObject | undefined;
  /** The Secret's data; undefined when there is no Secret. */
  data: Record<string, string> | undefined;
  records: ObservedLeases;
  state: ObservedState;
  /** MACs of the data as it is, per path (./refresh-state.ts dataMacs); empty without a trusted state. */
  current: Record<string, string>;
}

export function observeManagedSecret(req: SyncRequest, hmacKey: string): ObservedSecret {
  const app = req.parent;
  const secret = observedChild(req, 'secret', secretName(app.metadata.name));
  const data = secret ? ((secret.data as Record<string, string> | undefined) ?? {}) : undefined;
  const state = observedState(secret, app, hmacKey);
  const current = state.kind === 'trusted' ? dataMacs(app, data ?? {}, hmacKey, state.state.dataFrom?.keys) : {};
  return { secret, data, records: observedLeases(secret, app, hmacKey), state, current };
}
