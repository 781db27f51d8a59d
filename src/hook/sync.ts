// The desired-state function: (request, material read from Vault, now, config)
// → response. Pure: no I/O, no clock, no Vault client, no HTTP.
//
// Never lose data: a child left out of the response is deleted by
// Metacontroller, so when Vault fails the observed Secret's data is returned as
// it is and the Deployment is kept; only the user's own spec change removes data.
import { errorCatalog, problem, type Problem } from '../errors/catalog.js';
import type { VaultAppStatus } from '../api/vaultapp-schema.js';
import { isoSeconds, withTransitionTimes, type ConditionInput } from './conditions.js';
import { desiredDeployment } from './deployment.js';
import { deploymentReadiness } from './deployment-readiness.js';
import type { VaultMaterial } from './material.js';
import { desiredMonitoring } from './monitoring.js';
import { bindingOf } from './carried-state.js';
import { credentialEnd, LEASES_ANNOTATION, nextLeaseActionSeconds, observedLeases, serializeLeases, signLease, type LeaseRecord, type RejectedLease } from './leases.js';
import { childLabels, secretName, VERSION_ANNOTATION } from './names.js';
import { childTypeManaged, observedChild, observedSecretData } from './observed.js';
import { secretDataFromVault } from './secret-data.js';
import { sameData, secretVersion } from './secret-version.js';
import type { HookConfig, KubeObject, SyncRequest, SyncResponse } from './types.js';

const describe = (problems: Problem[]): string => problems.map((p) => p.message).join('; ');
const reasonOf = (problems: Problem[]): string => errorCatalog[problems[0]!.code].reason;

export function sync(req: SyncRequest, material: VaultMaterial, now: Date, config: HookConfig): SyncResponse {
  const app = req.parent;
  const name = app.metadata.name;
  const namespace = app.metadata.namespace;
  const previous = app.status;
  const children: KubeObject[] = [];
  const conditions: ConditionInput[] = [];

  // Secret
  const sName = secretName(name);
  const observedSecret = observedChild(req, 'secret', sName);
  const observedData = observedSecretData(req, sName);
  const records = observedLeases(observedSecret, app, config.hmacKey);
  const binding = bindingOf(app);
  const fromVault = secretDataFromVault(app.spec.vault.secrets, material, observedData, now, (r) => signLease(r, binding, config.hmacKey));
  // Records the hook did not write for this VaultApp are never acted on (./leases.ts); the
  // sync reports them and keeps the Secret's data, as for any other problem.
  const problems = records.rejected.length > 0 ? [untrustedRecords(records.rejected, sName), ...fromVault.problems] : fromVault.problems;
  const synced = fromVault.data !== undefined && problems.length === 0 ? fromVault.data : undefined;
  const data = synced ?? observedData;
  const leases = synced ? fromVault.leases : keptLeases(records.trusted, fromVault.fallbackLeases);
  // Written even when empty after a rejection: Metacontroller's apply leaves alone an
  // annotation the hook never set, so only setting it replaces what a tenant wrote.
  const writeLeases = leases.length > 0 || records.rejected.length > 0;
  if (data !== undefined) {
    children.push({
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: sName, namespace, labels: childLabels(name), ...(writeLeases ? { annotations: { [LEASES_ANNOTATION]: serializeLeases(leases) } } : {}) },
      type: 'Opaque',
      // An empty map would be normalised away by the API server: a perpetual diff.
      ...(Object.keys(data).length > 0 ? { data } : {}),
    });
  }
  conditions.push(material.auth.ok
    ? { type: 'VaultAuthenticated', status: 'True', reason: 'Authenticated', message: `logged in to Vault with role ${app.spec.vault.role}` }
    : { type: 'VaultAuthenticated', status: 'False', reason: reasonOf([material.auth.problem]), message: material.auth.problem.message });
  const secretsOk = synced !== undefined;
  conditions.push(secretsOk
    ? { type: 'SecretsSynced', status: 'True', reason: 'Synced', message: `${Object.keys(synced).length} keys from ${new Set(app.spec.vault.secrets.map((s) => s.path)).size} Vault paths in Secret ${sName}` }
    : { type: 'SecretsSynced', status: 'False', reason: reasonOf(problems), message: `${describe(problems)}${observedData !== undefined ? `; Secret ${sName} keeps its current data` : `; Secret ${sName} not created yet`}` });

  // Deployment: versioned by the observed Secret once it exists, so pods roll only
  // after the new data is in the cluster; on the first sync, by the data created.
  const observedDeployment = observedChild(req, 'deployment', name);
  if (data !== undefined || observedDeployment) {
    const { deployment, problems } = desiredDeployment(app, deploymentVersion(observedDeployment, observedData ?? data));
    children.push(deployment);
    const readiness = deploymentReadiness(observedDeployment);
    conditions.push(problems.length > 0
      ? { type: 'DeploymentReady', status: 'False', reason: reasonOf(problems), message: describe(problems) }
      : { type: 'DeploymentReady', status: readiness.ready ? 'True' : 'False', reason: readiness.reason, message: readiness.message });
  } else {
    conditions.push({ type: 'DeploymentReady', status: 'False', reason: 'WaitingForSecret', message: `the Deployment is created once Secret ${sName} can be filled from Vault` });
  }

  // Monitoring
  conditions.push(monitoringCondition(req, children));

  const notReady = conditions.filter((c) => c.status !== 'True');
  conditions.push(notReady.length === 0
    ? { type: 'Ready', status: 'True', reason: 'Ready', message: 'secrets synced, Deployment available, monitoring configured' }
    : { type: 'Ready', status: 'False', reason: notReady[0]!.reason, message: notReady.map((c) => `${c.type}: ${c.message}`).join(' | ') });

  const finalConditions = withTransitionTimes(conditions, previous?.conditions, now, app.metadata.generation);
  const dataChanged = synced !== undefined && (observedData === undefined || !sameData(synced, observedData));
  const lastSecretUpdateTime = dataChanged ? isoSeconds(now) : previous?.lastSecretUpdateTime;
  const status: VaultAppStatus = {
    conditions: finalConditions,
    ...(data !== undefined ? { secretName: sName } : {}),
    ...(lastSecretUpdateTime ? { lastSecretUpdateTime } : {}),
    ...(leases.length > 0 ? { leases: leases.map((l) => ({ path: l.path, expiresAt: isoSeconds(new Date(credentialEnd(l))), renewable: l.renewable })) } : {}),
  };
  const resync = resyncAfter(secretsOk, finalConditions, now, config);
  const leaseDue = nextLeaseActionSeconds(leases, now);
  return { status, children, resyncAfterSeconds: leaseDue === undefined ? resync : Math.min(resync, leaseDue) };

  // rotation: none leaves the pod template alone (the kubelet refreshes mounted
  // files); environment variables are read once, so with injectEnv pods always roll.
  function deploymentVersion(observed: KubeObject | undefined, versioned: Record<string, string> | undefined): string {
    const kept = (observed?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template?.metadata?.annotations?.[VERSION_ANNOTATION];
    if (app.spec.vault.rotation === 'none' && !app.spec.vault.injectEnv && kept) return kept;
    return secretVersion(versioned, config.hmacKey);
  }

  function monitoringCondition(request: SyncRequest, out: KubeObject[]): ConditionInput {
    if (!app.spec.monitoring?.enabled) return { type: 'MonitoringReady', status: 'True', reason: 'Disabled', message: 'monitoring is disabled' };
    const m = desiredMonitoring(app);
    if (m.problems.length > 0) return { type: 'MonitoringReady', status: 'False', reason: reasonOf(m.problems), message: describe(m.problems) };
    out.push(m.service!);
    const smManaged = childTypeManaged(request, 'serviceMonitor');
    if (smManaged) out.push(m.serviceMonitor!);
    const serviceSeen = observedChild(request, 'service', m.service!.metadata.name) !== undefined;
    const smSeen = !smManaged || observedChild(request, 'serviceMonitor', name) !== undefined;
    if (!serviceSeen || !smSeen) return { type: 'MonitoringReady', status: 'False', reason: 'Creating', message: `creating the metrics Service${smManaged ? ' and ServiceMonitor' : ''}` };
    return smManaged
      ? { type: 'MonitoringReady', status: 'True', reason: 'Configured', message: `ServiceMonitor ${name} scrapes Service ${m.service!.metadata.name}` }
      : { type: 'MonitoringReady', status: 'True', reason: 'ServiceOnly', message: `this controller does not manage ServiceMonitors; Service ${m.service!.metadata.name} exposes the metrics port` };
  }
}

// When the observed data is kept, so are the lease records that describe it,
// updated where a renewal succeeded (observedLeases already dropped the paths the spec no longer has).
function keptLeases(observed: LeaseRecord[], updated: LeaseRecord[]): LeaseRecord[] {
  return observed.map((r) => updated.find((u) => u.path === r.path && u.leaseId === r.leaseId) ?? r);
}

// Names what was wrong, never what the records said: their content is the tenant's.
function untrustedRecords(rejected: RejectedLease[], secret: string): Problem {
  const why = [...new Set(rejected)].join(', ');
  return problem('UNTRUSTED_STATE', `${rejected.length} lease record${rejected.length === 1 ? '' : 's'} in annotation ${LEASES_ANNOTATION} of Secret ${secret} ignored (${why}): the hook acts only on records it wrote for this VaultApp, and rewrites the annotation`);
}

// Stateless backoff: the longer SecretsSynced has been False, the longer the wait,
// from errorBackoffMinSeconds up to the healthy resync interval.
function resyncAfter(secretsOk: boolean, conditions: { type: string; lastTransitionTime: string }[], now: Date, config: HookConfig): number {
  if (secretsOk) return config.resyncSeconds;
  const since = Date.parse(conditions.find((c) => c.type === 'SecretsSynced')?.lastTransitionTime ?? '');
  const failingFor = Number.isFinite(since) ? Math.max(0, (now.getTime() - since) / 1000) : 0;
  return Math.round(Math.min(config.resyncSeconds, Math.max(config.errorBackoffMinSeconds, failingFor)));
}
