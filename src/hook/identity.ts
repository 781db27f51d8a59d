// Who a VaultApp is to Vault: its pods' service account in its own namespace, with
// its role. Pure, so the core can tell when the identity (and so the data) changed.
import type { VaultApp } from '../api/vaultapp-schema.js';
import { workloadOf } from './workload.js';

export interface Identity {
  namespace: string;
  serviceAccount: string;
  role: string;
}

export function identityOf(app: VaultApp): Identity {
  const pod = workloadOf(app).spec.template.spec;
  return {
    namespace: app.metadata.namespace ?? 'default',
    serviceAccount: pod?.serviceAccountName || pod?.serviceAccount || 'default',
    role: app.spec.vault.role,
  };
}
