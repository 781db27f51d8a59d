// Whether the observed Deployment has rolled out, judged the way
// `kubectl rollout status` does.
import type { KubeObject } from './types.js';

export interface Readiness {
  ready: boolean;
  reason: string;
  message: string;
}

interface DeploymentView {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

export function deploymentReadiness(observed: KubeObject | undefined): Readiness {
  if (!observed) return { ready: false, reason: 'Creating', message: 'the Deployment does not exist yet' };
  const d = observed as unknown as DeploymentView;
  const name = observed.metadata.name;
  // Observed objects come from the API server, but the hook must not trust their shape.
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const raw = (typeof d.status === 'object' && d.status !== null ? d.status : {}) as Record<string, unknown>;
  const s = {
    observedGeneration: num(raw.observedGeneration),
    replicas: num(raw.replicas),
    updatedReplicas: num(raw.updatedReplicas),
    availableReplicas: num(raw.availableReplicas),
    conditions: Array.isArray(raw.conditions)
      ? (raw.conditions as { type?: unknown; reason?: unknown }[]).filter((c) => typeof c === 'object' && c !== null)
      : [],
  };
  const generation = num(d.metadata.generation) ?? 0;
  if ((s.observedGeneration ?? 0) < generation) {
    return { ready: false, reason: 'Progressing', message: `waiting for the Deployment controller to observe generation ${generation} of ${name}` };
  }
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { ready: false, reason: 'ProgressDeadlineExceeded', message: `Deployment ${name} exceeded its progress deadline` };
  }
  const want = num(d.spec?.replicas) ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < want) return { ready: false, reason: 'Progressing', message: `${updated} of ${want} replicas of ${name} updated` };
  if ((s.replicas ?? 0) > updated)
    return { ready: false, reason: 'Progressing', message: `${(s.replicas ?? 0) - updated} old replicas of ${name} pending termination` };
  if (available < updated) return { ready: false, reason: 'Progressing', message: `${available} of ${updated} updated replicas of ${name} available` };
  return { ready: true, reason: 'Available', message: `${available} of ${want} replicas of ${name} available` };
}
