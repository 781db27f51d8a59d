// The desired-state function: (request, material read from Vault, now, config)
// → response. Pure: no I/O, no clock, no Vault client, no HTTP.
//
// Never lose data: a child left out of the response is deleted by
// Metacontroller, so when Vault fails the observed Secret's data is returned as
// it is and the workload (Deployment or StatefulSet) is kept; only the user's own
// spec change removes data.
import { isoSeconds, type VaultMaterial } from './contract.js';
import { errorCatalog, type Problem, problem } from '../errors/catalog.js';
import type { VaultAppStatus } from '../api/vaultapp-schema.js';
import { withTransitionTimes, type ConditionInput, vaultAuthenticated } from './conditions.js';
import { pathsOf, skippedMessage } from './secret-data/data-from.js';
import { deploymentReadiness, statefulSetReadiness } from './children/readiness.js';
import { desiredWorkload, workloadOf } from './children/workload.js';
import { desiredMonitoring } from './children/monitoring.js';
import { observeManagedSecret, type ObservedSecret } from './carried-state/observed-secret.js';
import { credentialEnd, nextLeaseActionSeconds } from './carried-state/leases.js';
import { managedSecret } from './carried-state/managed-secret.js';
import { secretName, VERSION_ANNOTATION, childTypeManaged, observedChild } from './children/names.js';
import { refreshSecondsOf } from './plan.js';
import { lastUpdate, secondsUntilRefresh } from './carried-state/refresh-state.js';
import { secretVersion } from './secret-data/secret-version.js';
import type { SyncConfig, KubeObject, SyncRequest, SyncResponse } from './types.js';

const describe = (problems: Problem[]): string => problems.map((p) => p.message).join('; ');
const reasonOf = (problems: Problem[]): string => errorCatalog[problems[0]!.code].reason;

export function sync(
  req: SyncRequest,
  material: VaultMaterial,
  now: Date,
  config: SyncConfig,
  observed: ObservedSecret = observeManagedSecret(req, config.hmacKey),
): SyncResponse {
  const app = req.parent;
  const name = app.metadata.name;
  const children: KubeObject[] = [];
  const conditions: ConditionInput[] = [];

  // Secret
  const sName = secretName(name);
  const secret = managedSecret(req, material, now, config, observed);
  const { synced, observedData, leases, problems } = secret;
  const data = synced ?? observedData;
  if (secret.child) children.push(secret.child);
  conditions.push(vaultAuthenticated(app, material, secret.state?.login));
  const secretsOk = synced !== undefined;
  conditions.push(
    secretsOk
      ? {
          type: 'SecretsSynced',
          status: 'True',
          reason: secret.skipped ? 'SyncedWithSkippedKeys' : 'Synced',
          message: `${Object.keys(synced).length} keys from ${pathsOf(app).length} Vault paths in Secret ${sName}${skippedMessage(secret.skipped)}`,
        }
      : {
          type: 'SecretsSynced',
          status: 'False',
          reason: reasonOf(problems),
          message: `${describe(problems)}${observedData !== undefined ? `; Secret ${sName} keeps its current data` : `; Secret ${sName} not created yet`}`,
        },
  );

  // The workload: versioned by the observed Secret once it exists, so pods roll only
  // after the new data is in the cluster; on the first sync, by the data created.
  // Only an observed child of the spec's kind is read (./children/workload.ts).
  const workload = workloadOf(app);
  const workloadReady = workload.kind === 'StatefulSet' ? 'StatefulSetReady' : 'DeploymentReady';
  const observedWorkload = observedChild(req, workload.child, name);
  // An older CompositeController without statefulsets: Metacontroller lists only declared
  // types, so it would create the StatefulSet and then never see it again (never update it
  // on a rotation, never report its status, never delete it). Deployments were always declared.
  if (workload.kind === 'StatefulSet' && !childTypeManaged(req, 'statefulSet')) {
    const p = problem(
      'CHILD_TYPE_NOT_MANAGED',
      'the CompositeController does not declare apps/v1 statefulsets as a child type: apply the CompositeController of this release (metacontroller/ or the Helm chart) to run StatefulSets',
    );
    conditions.push({ type: workloadReady, status: 'False', reason: reasonOf([p]), message: p.message });
  } else if (data !== undefined || observedWorkload) {
    const { workload: child, problems } = desiredWorkload(app, workloadVersion(observedWorkload, observedData ?? data));
    children.push(child);
    const readiness = workload.kind === 'StatefulSet' ? statefulSetReadiness(observedWorkload) : deploymentReadiness(observedWorkload);
    conditions.push(
      problems.length > 0
        ? { type: workloadReady, status: 'False', reason: reasonOf(problems), message: describe(problems) }
        : { type: workloadReady, status: readiness.ready ? 'True' : 'False', reason: readiness.reason, message: readiness.message },
    );
  } else {
    conditions.push({
      type: workloadReady,
      status: 'False',
      reason: 'WaitingForSecret',
      message: `the ${workload.kind} is created once Secret ${sName} can be filled from Vault`,
    });
  }

  // Monitoring
  const monitoring = monitoringChildren(req);
  children.push(...monitoring.children);
  conditions.push(monitoring.condition);

  const notReady = conditions.filter((c) => c.status !== 'True');
  conditions.push(
    notReady.length === 0
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: `secrets synced, ${workload.kind === 'StatefulSet' ? 'StatefulSet ready' : 'Deployment available'}, monitoring configured`,
        }
      : { type: 'Ready', status: 'False', reason: notReady[0]!.reason, message: notReady.map((c) => `${c.type}: ${c.message}`).join(' | ') },
  );

  // The parent's status may be one or two answers old (Metacontroller's informer lags
  // its own status write): only the transition time of a
  // condition whose status stands is taken from it; what must be remembered is in the Secret's state.
  const finalConditions = withTransitionTimes(conditions, app.status?.conditions, now, app.metadata.generation);
  const lastSecretUpdateTime = secret.state && lastUpdate(secret.state);
  const status: VaultAppStatus = {
    conditions: finalConditions,
    ...(data !== undefined ? { secretName: sName } : {}),
    ...(lastSecretUpdateTime ? { lastSecretUpdateTime } : {}),
    ...(leases.length > 0 ? { leases: leases.map((l) => ({ path: l.path, expiresAt: isoSeconds(new Date(credentialEnd(l))), renewable: l.renewable })) } : {}),
  };
  // The next sync comes in time for the next lease action and the next refresh.
  const refresh = refreshSecondsOf(app, config);
  const due = [
    resyncAfter(secretsOk, finalConditions, now, config),
    nextLeaseActionSeconds(leases, now),
    secretsOk && secret.state && refresh > 0 ? secondsUntilRefresh(secret.state.readAt, now, refresh) : undefined,
  ].filter((s): s is number => s !== undefined);
  return { status, children, resyncAfterSeconds: Math.min(...due) };

  // rotation: none leaves the pod template alone (the kubelet refreshes mounted
  // files); environment variables are read once, so with injectEnv pods always roll.
  function workloadVersion(observed: KubeObject | undefined, versioned: Record<string, string> | undefined): string {
    const kept = (observed?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template?.metadata?.annotations?.[
      VERSION_ANNOTATION
    ];
    if (app.spec.vault.rotation === 'none' && !app.spec.vault.injectEnv && kept) return kept;
    return secretVersion(versioned, config.hmacKey);
  }

  function monitoringChildren(request: SyncRequest): { children: KubeObject[]; condition: ConditionInput } {
    const none = (condition: ConditionInput) => ({ children: [], condition });
    if (!app.spec.monitoring?.enabled) return none({ type: 'MonitoringReady', status: 'True', reason: 'Disabled', message: 'monitoring is disabled' });
    const m = desiredMonitoring(app, config.monitoringLabels);
    if (m.problems.length > 0) return none({ type: 'MonitoringReady', status: 'False', reason: reasonOf(m.problems), message: describe(m.problems) });
    const smManaged = childTypeManaged(request, 'serviceMonitor');
    const out = smManaged ? [m.service!, m.serviceMonitor!] : [m.service!];
    const serviceSeen = observedChild(request, 'service', m.service!.metadata.name) !== undefined;
    const smSeen = !smManaged || observedChild(request, 'serviceMonitor', name) !== undefined;
    if (!serviceSeen || !smSeen)
      return {
        children: out,
        condition: {
          type: 'MonitoringReady',
          status: 'False',
          reason: 'Creating',
          message: `creating the metrics Service${smManaged ? ' and ServiceMonitor' : ''}`,
        },
      };
    return {
      children: out,
      condition: smManaged
        ? { type: 'MonitoringReady', status: 'True', reason: 'Configured', message: `ServiceMonitor ${name} scrapes Service ${m.service!.metadata.name}` }
        : {
            type: 'MonitoringReady',
            status: 'True',
            reason: 'ServiceOnly',
            message: `this controller does not manage ServiceMonitors; Service ${m.service!.metadata.name} exposes the metrics port`,
          },
    };
  }
}

// Stateless backoff: the longer SecretsSynced has been False, the longer the wait,
// from errorBackoffMinSeconds up to the healthy resync interval.
function resyncAfter(secretsOk: boolean, conditions: { type: string; lastTransitionTime: string }[], now: Date, config: SyncConfig): number {
  if (secretsOk) return config.resyncSeconds;
  const since = Date.parse(conditions.find((c) => c.type === 'SecretsSynced')?.lastTransitionTime ?? '');
  const failingFor = Number.isFinite(since) ? Math.max(0, (now.getTime() - since) / 1000) : 0;
  return Math.round(Math.min(config.resyncSeconds, Math.max(config.errorBackoffMinSeconds, failingFor)));
}
