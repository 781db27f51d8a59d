// The managed Secret of one sync: its data (from Vault, or kept as observed on any
// problem), the lease records and the refresh state it carries, and the problems that
// kept it as it was. Pure.
import { MAX_SECRET_BYTES, bindingOf, type LeaseRecord, type VaultMaterial } from '../contract.js';
import { problem, type Problem } from '../../errors/catalog.js';
import { LEASES_ANNOTATION, serializeLeases, signLease, type RejectedLease } from './leases.js';
import { childLabels, secretName } from '../children/names.js';
import type { ObservedSecret } from './observed-secret.js';
import { refreshSecondsOf } from '../plan.js';
import { keptState, nextState, serializeState, STATE_ANNOTATION, templatesStale, type RefreshState } from './refresh-state.js';
import { secretDataFromVault } from '../secret-data/secret-data.js';
import { secretAnnotations, secretLabels, typeProblems, typeToWrite } from '../children/secret-shape.js';
import { sameData } from '../secret-data/secret-version.js';
import { loginFact } from '../conditions.js';
import type { SyncConfig, KubeObject, SyncRequest } from '../types.js';

export interface ManagedSecret {
  /** The Secret to answer; absent when there is none yet and nothing to create. */
  child?: KubeObject;
  /** Data fresh from this sync, when every path resolved and nothing was rejected. */
  synced?: Record<string, string>;
  observedData?: Record<string, string>;
  leases: LeaseRecord[];
  /** With `synced`: what dataFrom skipped (keys, paths; never values), for the SecretsSynced condition. */
  skipped?: string[];
  /** The refresh state the answer carries (new, or kept as observed). */
  state?: RefreshState;
  problems: Problem[];
}

export function managedSecret(req: SyncRequest, material: VaultMaterial, now: Date, config: SyncConfig, seen: ObservedSecret): ManagedSecret {
  const app = req.parent;
  const name = secretName(app.metadata.name);
  const { secret: observed, data: observedData, records, state } = seen;
  const binding = bindingOf(app);
  const trusted = state.kind === 'trusted' ? state.state : undefined;
  const kept = {
    ...(trusted?.dataFrom ? { dataFrom: trusted.dataFrom } : {}),
    templatesStale: templatesStale(app, state, seen.current),
  };
  const fromVault = secretDataFromVault(app, material, observedData, kept, now, (r) => signLease(r, binding, config.hmacKey));
  const type = typeToWrite(app, observed, name);
  // State the hook did not write for this VaultApp is never acted on (./leases.ts,
  // ./refresh-state.ts); the sync reports it and keeps the Secret's data, as for any other problem.
  const problems = [
    ...(records.rejected.length > 0 ? [untrustedRecords(records.rejected, name)] : []),
    ...(state.kind === 'rejected' ? [untrustedState(name)] : []),
    ...fromVault.problems,
    ...type.problems,
    ...(fromVault.data ? typeProblems(type.type, fromVault.data, name) : []),
    ...(fromVault.data ? sizeProblems(fromVault.data, name) : []),
  ];
  const synced = fromVault.data !== undefined && problems.length === 0 ? fromVault.data : undefined;
  const data = synced ?? observedData;
  const leases = synced ? fromVault.leases : keptLeases(records.trusted, fromVault.fallbackLeases);
  const readNow = Object.values(material.reads).some((r) => r.ok && 'data' in r && !r.lease);
  const login = loginFact(app, material);
  const nextRefresh = synced
    ? nextState(
        app,
        state,
        synced,
        leases.map((l) => l.path),
        readNow,
        now,
        config.hmacKey,
        refreshSecondsOf(app, config),
        fromVault.dataFrom,
        { dataChanged: observedData === undefined || !sameData(synced, observedData), login },
      )
    : state.kind === 'trusted'
      ? keptState(app, state.state, login, config.hmacKey)
      : undefined;
  if (data === undefined) return { observedData, leases, problems };

  const annotations: Record<string, string> = {};
  // Written even when empty after a rejection: Metacontroller's apply leaves alone an
  // annotation the hook never set, so only setting it replaces what a tenant wrote.
  if (leases.length > 0 || records.rejected.length > 0) annotations[LEASES_ANNOTATION] = serializeLeases(leases);
  // Kept byte for byte when unchanged, so that a sync inside the refresh interval changes nothing.
  if (nextRefresh) annotations[STATE_ANNOTATION] = state.kind === 'trusted' && nextRefresh === state.state ? state.text : serializeState(nextRefresh);
  const all = secretAnnotations(app, annotations);
  const withAnnotations = Object.keys(all).length > 0 ? { annotations: all } : {};
  return {
    child: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: app.metadata.namespace, labels: secretLabels(app, childLabels(app.metadata.name)), ...withAnnotations },
      type: type.type,
      // An empty map would be normalised away by the API server: a perpetual diff.
      ...(Object.keys(data).length > 0 ? { data } : {}),
    },
    ...(synced ? { synced, ...(fromVault.dataFrom && fromVault.dataFrom.skipped.length > 0 ? { skipped: fromVault.dataFrom.skipped } : {}) } : {}),
    observedData,
    leases,
    problems,
    ...(nextRefresh ? { state: nextRefresh } : {}),
  };
}

function sizeProblems(data: Record<string, string>, secret: string): Problem[] {
  let size = 0;
  for (const [k, v] of Object.entries(data)) size += k.length + Buffer.byteLength(v, 'base64');
  return size > MAX_SECRET_BYTES
    ? [problem('SECRET_TOO_LARGE', `the data for Secret ${secret} comes to ${size} bytes, more than the ${MAX_SECRET_BYTES} a Secret holds`)]
    : [];
}

// When the observed data is kept, so are the lease records that describe it,
// updated where a renewal succeeded (observedLeases already dropped the paths the spec no longer has).
function keptLeases(observed: LeaseRecord[], updated: LeaseRecord[]): LeaseRecord[] {
  return observed.map((r) => updated.find((u) => u.path === r.path && u.leaseId === r.leaseId) ?? r);
}

// Names what was wrong, never what the records said: their content is the tenant's.
function untrustedRecords(rejected: RejectedLease[], secret: string): Problem {
  const why = [...new Set(rejected)].join(', ');
  return problem(
    'UNTRUSTED_STATE',
    `${rejected.length} lease record${rejected.length === 1 ? '' : 's'} in annotation ${LEASES_ANNOTATION} of Secret ${secret} ignored (${why}): the hook acts only on records it wrote for this VaultApp, and rewrites the annotation`,
  );
}

function untrustedState(secret: string): Problem {
  return problem(
    'UNTRUSTED_STATE',
    `the refresh state in annotation ${STATE_ANNOTATION} of Secret ${secret} was not written by the hook for this VaultApp: ignored, the data is read from Vault again`,
  );
}
