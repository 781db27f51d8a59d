// Until when the answer to one exact request stays the same answer. At rest most
// syncs are resyncs whose request is byte for byte the one before (Metacontroller's
// objects did not change) and whose answer is the one Metacontroller already holds
// (it sends that answer's etag): recomputing it only costs the hook its CPU. The HTTP
// edge may answer 304 to the same request up to the time given here without running
// the sync again, so this must be a time before which recomputing gives the same bytes.
// Pure; conservative: any answer that depends on the clock in a way not bounded here
// gets no time at all.
import type { VaultPlan } from '../contract.js';
import { isDeepStrictEqual } from 'node:util';
import { refreshSecondsOf } from '../plan.js';
import { observeManagedSecret, type ObservedSecret } from './observed-secret.js';
import { EARLY_SECONDS } from './refresh-state.js';
import type { SyncConfig, SyncRequest, SyncResponse } from '../types.js';

/**
 * Epoch milliseconds before which the same request, synced again, gets this same answer;
 * undefined when it may not be reused at all. Only a sync that planned no Vault work
 * (every path kept inside its refresh interval: no lease, whose timers run, and no read),
 * changed nothing in the status (a changed condition is stamped with the time) and asks
 * for the healthy resync (a shorter one counts down to a refresh or a retry) qualifies;
 * it stays the same until fewer than `resync - 1` seconds are left to the refresh.
 */
export function answerStableUntil(
  req: SyncRequest,
  plan: VaultPlan,
  res: SyncResponse,
  config: Pick<SyncConfig, 'hmacKey' | 'resyncSeconds' | 'refreshSeconds'>,
  observed: ObservedSecret = observeManagedSecret(req, config.hmacKey),
): number | undefined {
  if (req.finalizing || res.finalized !== undefined) return undefined;
  const actions = Object.values(plan);
  if (actions.length === 0 || !actions.every((p) => p.action === 'keep')) return undefined;
  if (res.resyncAfterSeconds !== config.resyncSeconds) return undefined;
  if (!isDeepStrictEqual(res.status, statusAsAnswered(req.parent.status))) return undefined;
  // Every path kept means a trusted refresh state, and the answer carries it as observed.
  if (observed.state.kind !== 'trusted') return undefined;
  const readAt = Date.parse(observed.state.state.readAt);
  const refresh = refreshSecondsOf(req.parent, config);
  // Two bounds: the plan keeps the data until `refresh - EARLY_SECONDS`; the answer's
  // resyncAfterSeconds (whole seconds to the refresh, rounded up) stays the healthy
  // resync while more than `resync - 1` seconds are left. The second bound is the
  // resync that lands on the refresh: at rest that is one in every refresh interval.
  return readAt + Math.min(refresh - config.resyncSeconds + 1, refresh - EARLY_SECONDS) * 1000;
}

// Metacontroller adds the parent's generation to every status it writes.
function statusAsAnswered(status: SyncRequest['parent']['status']): unknown {
  if (status === undefined || !Object.hasOwn(status, 'observedGeneration')) return status;
  const { observedGeneration: _added, ...answered } = status as Record<string, unknown>;
  return answered;
}
