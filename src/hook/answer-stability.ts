// Until when the answer to one exact request stays the same answer. At rest most
// syncs are resyncs whose request is byte for byte the one before (Metacontroller's
// objects did not change) and whose answer is the one Metacontroller already holds
// (it sends that answer's etag): recomputing it only costs the hook its CPU. The HTTP
// edge may answer 304 to the same request up to the time given here without running
// the sync again, so this must be a time before which recomputing gives the same bytes.
// Pure; conservative: any answer that depends on the clock in a way not bounded here
// gets no time at all.
import { isDeepStrictEqual } from 'node:util';
import type { VaultPlan } from './plan.js';
import { refreshSecondsOf } from './plan.js';
import { secretName } from './names.js';
import { EARLY_SECONDS, STATE_ANNOTATION } from './refresh-state.js';
import type { SyncConfig, SyncRequest, SyncResponse } from './types.js';

/**
 * Epoch milliseconds before which the same request, synced again, gets this same answer;
 * undefined when it may not be reused at all. Only a sync that planned no Vault work
 * (every path kept inside its refresh interval: no lease, whose timers run, and no read),
 * changed nothing in the status (a changed condition is stamped with the time) and asks
 * for the healthy resync (a shorter one counts down to a refresh or a retry) qualifies;
 * it stays the same until the refresh comes closer than one resync.
 */
export function answerStableUntil(
  req: SyncRequest,
  plan: VaultPlan,
  res: SyncResponse,
  config: Pick<SyncConfig, 'resyncSeconds' | 'refreshSeconds'>,
): number | undefined {
  if (req.finalizing || res.finalized !== undefined) return undefined;
  const actions = Object.values(plan);
  if (actions.length === 0 || !actions.every((p) => p.action === 'keep')) return undefined;
  if (res.resyncAfterSeconds !== config.resyncSeconds) return undefined;
  if (!isDeepStrictEqual(res.status, statusAsAnswered(req.parent.status))) return undefined;
  const readAt = readAtOf(res, secretName(req.parent.metadata.name));
  if (readAt === undefined) return undefined;
  const refresh = refreshSecondsOf(req.parent, config);
  // Two bounds: the plan keeps the data until `refresh - EARLY_SECONDS`; the answer's
  // resyncAfterSeconds counts down to the refresh once it is nearer than one resync.
  return readAt + Math.min(refresh - config.resyncSeconds, refresh - EARLY_SECONDS) * 1000;
}

// Metacontroller adds the parent's generation to every status it writes.
function statusAsAnswered(status: SyncRequest['parent']['status']): unknown {
  if (status === undefined || !Object.hasOwn(status, 'observedGeneration')) return status;
  const { observedGeneration: _added, ...answered } = status as Record<string, unknown>;
  return answered;
}

/** readAt of the refresh state the answer's Secret carries (the hook's own, kept as observed). */
function readAtOf(res: SyncResponse, name: string): number | undefined {
  const secret = res.children.find((c) => c.kind === 'Secret' && c.apiVersion === 'v1' && c.metadata.name === name);
  const text = secret?.metadata.annotations?.[STATE_ANNOTATION];
  if (typeof text !== 'string') return undefined;
  try {
    const readAt = Date.parse((JSON.parse(text) as { readAt?: unknown }).readAt as string);
    return Number.isFinite(readAt) ? readAt : undefined;
  } catch {
    return undefined;
  }
}
