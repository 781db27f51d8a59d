// Whether the observed workload has rolled out, judged the way `kubectl rollout status`
// does. Observed objects come from the API server, but the hook does not trust their
// shape: every field is read through `num`, `revision` and `record`, so a missing or
// mistyped one counts as not there yet.
import { isRecord } from '../../api/json.js';
import type { KubeObject } from '../types.js';

export interface Readiness {
  ready: boolean;
  reason: string;
  message: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
// A revision is a controller-written name (<statefulset>-<hash>); anything else is not compared.
const revision = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 253 ? v : undefined);
const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

/** The generation observed, the progress deadline not exceeded, every replica updated and available, no old one left. */
export function deploymentReadiness(observed: KubeObject | undefined): Readiness {
  if (!observed) return { ready: false, reason: 'Creating', message: 'the Deployment does not exist yet' };
  const name = observed.metadata.name;
  const spec = record(observed.spec);
  const status = record(observed.status);
  const generation = num(observed.metadata.generation) ?? 0;
  if ((num(status.observedGeneration) ?? 0) < generation) {
    return { ready: false, reason: 'Progressing', message: `waiting for the Deployment controller to observe generation ${generation} of ${name}` };
  }
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isRecord) : [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { ready: false, reason: 'ProgressDeadlineExceeded', message: `Deployment ${name} exceeded its progress deadline` };
  }
  const want = num(spec.replicas) ?? 1;
  const replicas = num(status.replicas) ?? 0;
  const updated = num(status.updatedReplicas) ?? 0;
  const available = num(status.availableReplicas) ?? 0;
  if (updated < want) return { ready: false, reason: 'Progressing', message: `${updated} of ${want} replicas of ${name} updated` };
  if (replicas > updated) return { ready: false, reason: 'Progressing', message: `${replicas - updated} old replicas of ${name} pending termination` };
  if (available < updated) return { ready: false, reason: 'Progressing', message: `${available} of ${updated} updated replicas of ${name} available` };
  return { ready: true, reason: 'Available', message: `${available} of ${want} replicas of ${name} available` };
}

/** The generation observed, every replica ready, and with RollingUpdate every replica above the partition at the update revision. */
export function statefulSetReadiness(observed: KubeObject | undefined): Readiness {
  if (!observed) return { ready: false, reason: 'Creating', message: 'the StatefulSet does not exist yet' };
  const name = observed.metadata.name;
  const spec = record(observed.spec);
  const status = record(observed.status);
  const strategy = record(spec.updateStrategy);
  const generation = num(observed.metadata.generation) ?? 0;
  if ((num(status.observedGeneration) ?? 0) < generation) {
    return { ready: false, reason: 'Progressing', message: `waiting for the StatefulSet controller to observe generation ${generation} of ${name}` };
  }
  const want = num(spec.replicas) ?? 1;
  const replicas = num(status.replicas) ?? 0;
  const ready = num(status.readyReplicas) ?? 0;
  const updated = num(status.updatedReplicas) ?? 0;
  const available = num(status.availableReplicas);
  const current = revision(status.currentRevision);
  const update = revision(status.updateRevision);

  if (replicas > want) return { ready: false, reason: 'Progressing', message: `${replicas - want} replicas of ${name} pending termination` };
  if (ready < want) return { ready: false, reason: 'Progressing', message: `${ready} of ${want} replicas of ${name} ready` };
  // minReadySeconds: a ready pod counts once it has stayed ready that long.
  if (available !== undefined && available < want)
    return { ready: false, reason: 'Progressing', message: `${available} of ${want} ready replicas of ${name} available` };

  // OnDelete: pods take a new template only when someone deletes them; nothing to wait for.
  if (strategy.type === 'OnDelete') {
    const stale = current !== update || updated < want;
    return {
      ready: true,
      reason: 'Ready',
      message: `${ready} of ${want} replicas of ${name} ready${stale ? '; updateStrategy OnDelete: pods take the current template (and Secret version) only when they are deleted' : ''}`,
    };
  }
  const partition = Math.max(0, num(record(strategy.rollingUpdate).partition) ?? 0);
  if (partition > 0) {
    const above = Math.max(0, want - partition);
    if (updated < above)
      return { ready: false, reason: 'Progressing', message: `${updated} of ${above} replicas of ${name} above partition ${partition} updated` };
    return {
      ready: true,
      reason: 'Ready',
      message: `${ready} of ${want} replicas of ${name} ready; ordinals below partition ${partition} keep the previous revision`,
    };
  }
  if (updated < want) return { ready: false, reason: 'Progressing', message: `${updated} of ${want} replicas of ${name} updated` };
  if (current !== update)
    return {
      ready: false,
      reason: 'Progressing',
      message: `waiting for the rolling update of ${name} to finish: current revision ${current ?? '(none)'}, update revision ${update ?? '(none)'}`,
    };
  return { ready: true, reason: 'Ready', message: `${ready} of ${want} replicas of ${name} ready` };
}
