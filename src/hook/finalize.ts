// Finalize: called instead of sync while the VaultApp is being deleted. Nothing
// the hook creates outlives the parent except what Vault holds; static secrets
// hold nothing, so the parent is released at once and its children go with it.
import type { SyncRequest, SyncResponse } from './types.js';

export function finalize(req: SyncRequest): SyncResponse {
  const { observedGeneration: _dropped, ...status } = req.parent.status ?? {};
  return { status, children: [], finalized: true };
}
