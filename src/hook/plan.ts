// What the Vault edge must do for one sync, decided from the request alone:
// read a path, or, for a lease recorded on the observed Secret, keep it as it
// is or renew it. Pure.
import type { VaultPlan } from './contract.js';
import type { VaultApp } from '../api/vaultapp-schema.js';
import { dataFromOf, pathsOf } from './secret-data/data-from.js';
import { leaseAction, renewalsDue } from './carried-state/leases.js';
import { observeManagedSecret, type ObservedSecret } from './carried-state/observed-secret.js';
import { ownGet, ownSet } from '../api/json.js';
import { pathUnchanged, staticDataFresh, templatesStale } from './carried-state/refresh-state.js';
import type { SyncConfig, SyncRequest } from './types.js';

/** The refresh interval of a VaultApp: its own, else the hook's, else the resync interval. */
export function refreshSecondsOf(app: VaultApp, config: Pick<SyncConfig, 'resyncSeconds' | 'refreshSeconds'>): number {
  const own = app.spec.vault.refreshInterval === undefined ? NaN : durationSeconds(app.spec.vault.refreshInterval);
  return Number.isFinite(own) ? own : (config.refreshSeconds ?? config.resyncSeconds);
}

/**
 * Only state that passes its checks (lease records, refresh state) is planned on:
 * a rejected record or state never skips a read. Static paths are kept while the
 * refresh state says they are fresh and the Secret holds what the hook wrote;
 * leased paths follow their lease records, and are read anew when their data was edited.
 */
export function planVaultWork(
  req: SyncRequest,
  now: Date,
  config: Pick<SyncConfig, 'hmacKey' | 'resyncSeconds' | 'refreshSeconds'>,
  observed: ObservedSecret = observeManagedSecret(req, config.hmacKey),
): VaultPlan {
  const app = req.parent;
  const data = observed.data ?? {};
  const records = observed.records.trusted;
  const { state, current } = observed;
  const leasedBefore = new Set(state.kind === 'trusted' ? state.state.leased : []);
  const paths = pathsOf(app);
  const staticPaths = paths.filter((p) => !leasedBefore.has(p) && !records.some((r) => r.path === p));
  const complete = (path: string): boolean =>
    app.spec.vault.secrets.filter((s) => s.path === path).every((s) => s.targetKey === undefined || Object.hasOwn(data, s.targetKey));
  const keepStatic = staticPaths.every(complete) && staticDataFresh(app, state, current, staticPaths, now, refreshSecondsOf(app, config));
  const plan: VaultPlan = {};
  for (const path of paths) {
    const record = records.find((r) => r.path === path);
    if (!record) {
      ownSet(plan, path, keepStatic && staticPaths.includes(path) ? { action: 'keep' } : { action: 'read' });
      continue;
    }
    // A key the Secret does not hold yet, or data someone edited, needs a new read: all keys of a path come from one credential.
    const edited = state.kind === 'trusted' && Object.hasOwn(state.state.data, path) && !pathUnchanged(state.state, current, path);
    const action = complete(path) && !edited ? leaseAction(record, now) : 'issue';
    ownSet(plan, path, action === 'issue' ? { action: 'read' } : action === 'reuse' ? { action, record } : { action, record, ...renewalsDue(record, now) });
  }
  const planned = observed.records.rejected.length > 0 ? readsDeferred(app, plan, data) : plan;
  return withTemplateInputs(app, planned, templatesStale(app, state, current));
}

/**
 * A sync that finds a lease record the hook did not write keeps the observed data
 * whatever Vault answers (./carried-state/managed-secret.ts), so what it would read is thrown away:
 * for a dynamic path, a credential issued only to be revoked unrecorded
 * (./reconcile.ts), and another one issued by the next sync. Such a sync keeps
 * instead every path whose keys the Secret holds; the next one, which finds the
 * annotation the hook rewrote, reads it: one credential per forgery. dataFrom's paths
 * (static, and read all or none) and template-only values are read as planned.
 */
function readsDeferred(app: VaultApp, plan: VaultPlan, data: Record<string, string>): VaultPlan {
  const fromDataFrom = new Set(dataFromOf(app).map((d) => d.path));
  const held = (path: string): boolean =>
    !fromDataFrom.has(path) &&
    app.spec.vault.secrets.filter((s) => s.path === path).every((s) => s.targetKey !== undefined && Object.hasOwn(data, s.targetKey));
  const out: VaultPlan = {};
  for (const [path, p] of Object.entries(plan)) ownSet(out, path, p.action === 'read' && held(path) ? { action: 'keep' } : p);
  return out;
}

/**
 * A value that feeds templates only is not in the Secret: when the templates render (a
 * value they use is read, or they are stale), its path is read too. For a dynamic
 * credential that is a new lease — the price of keeping it out of the Secret.
 */
function withTemplateInputs(app: VaultApp, plan: VaultPlan, stale: boolean): VaultPlan {
  const named = app.spec.vault.secrets.filter((s) => s.name !== undefined);
  if (Object.keys(app.spec.vault.templates ?? {}).length === 0 || named.length === 0) return plan;
  const render = stale || named.some((s) => ownGet(plan, s.path)?.action === 'read');
  if (!render) return plan;
  for (const s of named) if (s.targetKey === undefined) ownSet(plan, s.path, { action: 'read' });
  return plan;
}

// Durations as the Prometheus Operator writes them ("1h30m", "90s", "500ms", "0"),
// the form the schema's DURATION_PATTERN admits. Pure.
const UNIT_SECONDS: Record<string, number> = { y: 365 * 86400, w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** Seconds in a duration the schema admitted; NaN for anything else. */
export function durationSeconds(text: string): number {
  if (text === '0') return 0;
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const m = /^(\d+)(ms|y|w|d|h|m|s)/.exec(rest);
    if (!m) return NaN;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return text === '' ? NaN : total;
}
