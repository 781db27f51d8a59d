// The workload child, a Deployment or a StatefulSet: the user's spec, kept whole, plus
// the secret volume, a read-only mount in every container and the secret-version
// annotation. Where the user already has something at our volume name or mount path,
// theirs wins and the collision is reported instead of silently overwritten. The spec is
// written as the API server stores it (resource quantities, ../stored-forms/quantity.ts; empty lists,
// ../stored-forms/empty-lists.ts; claim templates, ../stored-forms/claim-templates.ts) so that no sync finds the
// workload changed.
//
// The kind is the spec's (exactly one of deploymentSpec and statefulSetSpec; admission
// refuses a switch). An observed child of the other kind is never read: not for its
// version annotation, not for its readiness, not as proof that the workload exists.
// Left out of the answer, Metacontroller deletes it.
import type { Container, PersistentVolumeClaim, PodTemplateSpec, Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { VaultApp } from '../../api/vaultapp-schema.js';
import { problem, type Problem } from '../../errors/catalog.js';
import { childLabels, SECRET_MOUNT_PATH, SECRET_VOLUME, secretName, VERSION_ANNOTATION } from './names.js';
import { dropEmptyLists } from '../stored-forms/empty-lists.js';
import type { ChildKind } from './names.js';
import { isRecord } from '../../api/json.js';
import { canonicalPodQuantities } from '../stored-forms/quantity.js';
import { storedClaimTemplates } from '../stored-forms/claim-templates.js';
import type { KubeObject } from '../types.js';
import { isDeepStrictEqual } from 'node:util';

export type WorkloadKind = 'Deployment' | 'StatefulSet';

/** The part of a DeploymentSpec and a StatefulSetSpec the hook reads and extends. */
export interface WorkloadSpec {
  selector?: LabelSelector;
  template: PodTemplateSpec;
  volumeClaimTemplates?: PersistentVolumeClaim[];
}

export interface Workload {
  kind: WorkloadKind;
  /** The spec field it comes from, for messages. */
  field: 'deploymentSpec' | 'statefulSetSpec';
  child: Extract<ChildKind, 'deployment' | 'statefulSet'>;
  spec: WorkloadSpec;
}

/** The VaultApp's workload. Validation guarantees exactly one spec; a StatefulSet's wins if both got past it. */
export function workloadOf(app: VaultApp): Workload {
  if (app.spec.statefulSetSpec) return { kind: 'StatefulSet', field: 'statefulSetSpec', child: 'statefulSet', spec: app.spec.statefulSetSpec as WorkloadSpec };
  return { kind: 'Deployment', field: 'deploymentSpec', child: 'deployment', spec: app.spec.deploymentSpec as WorkloadSpec };
}

export interface WorkloadOutcome {
  workload: KubeObject;
  problems: Problem[];
}

export function desiredWorkload(app: VaultApp, version: string): WorkloadOutcome {
  const name = app.metadata.name;
  const { kind, field, spec: given } = workloadOf(app);
  const spec: WorkloadSpec = structuredClone(given);
  const problems: Problem[] = [];
  const template = spec.template;
  template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, [VERSION_ANNOTATION]: version } };
  const podSpec = template.spec!;
  canonicalPodQuantities(podSpec);
  dropEmptyLists(podSpec);
  // A Deployment has no claim templates: whatever stands there is not read.
  const claims = kind === 'StatefulSet' && Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [];
  if (claims.length > 0) storedClaimTemplates(claims);
  else if (kind === 'StatefulSet' && Array.isArray(spec.volumeClaimTemplates)) delete spec.volumeClaimTemplates;

  const volume: Volume = { name: SECRET_VOLUME, secret: { secretName: secretName(name) } };
  const volumes = podSpec.volumes ?? [];
  const clashing = volumes.findIndex((v) => v.name === SECRET_VOLUME);
  // The StatefulSet controller turns each claim template into a pod volume of its name,
  // replacing a volume of the same name: the Secret volume would silently be storage.
  const claimClash = claims.findIndex((c) => isRecord(c) && isRecord(c.metadata) && c.metadata.name === SECRET_VOLUME);
  if (claimClash >= 0) {
    problems.push(
      problem(
        'VOLUME_CONFLICT',
        `${field}.volumeClaimTemplates[${claimClash}] is named "${SECRET_VOLUME}", which the StatefulSet's pods would get as a volume in place of the Secret; the Vault secret volume was not added`,
      ),
    );
  } else if (clashing < 0) podSpec.volumes = [...volumes, volume];
  else if (!isDeepStrictEqual(volumes[clashing], volume)) {
    problems.push(
      problem('VOLUME_CONFLICT', `${field}.template.spec.volumes[${clashing}] is already named "${SECRET_VOLUME}"; the Vault secret volume was not added`),
    );
  }

  const mount: VolumeMount = { name: SECRET_VOLUME, mountPath: SECRET_MOUNT_PATH, readOnly: true };
  const inject = (containers: Container[] | undefined, list: 'containers' | 'initContainers'): void => {
    containers?.forEach((c, i) => {
      const mounts = c.volumeMounts ?? [];
      const at = mounts.findIndex((m) => m.name === SECRET_VOLUME || m.mountPath === SECRET_MOUNT_PATH);
      if (at < 0) c.volumeMounts = [...mounts, mount];
      else if (!isDeepStrictEqual(mounts[at], mount)) {
        problems.push(
          problem(
            'VOLUME_CONFLICT',
            `${field}.template.spec.${list}[${i}].volumeMounts[${at}] (container ${c.name}) already uses the name "${SECRET_VOLUME}" or the path ${SECRET_MOUNT_PATH}; the Vault secret mount was not added there`,
          ),
        );
      }
    });
  };
  // With a claim template in its place, the mount would be the claim's storage: none is added.
  if (claimClash < 0) {
    inject(podSpec.containers, 'containers');
    inject(podSpec.initContainers, 'initContainers');
  }

  if (app.spec.vault.injectEnv) {
    const envFrom = { secretRef: { name: secretName(name) } };
    for (const c of [...podSpec.containers, ...(podSpec.initContainers ?? [])]) {
      if (!c.envFrom?.some((e) => e.secretRef?.name === envFrom.secretRef.name)) c.envFrom = [...(c.envFrom ?? []), envFrom];
    }
  }

  // The kubelet pulls with it; a reference the user already wrote is not added twice.
  if (app.spec.secret?.imagePullSecret) {
    const pull = { name: secretName(name) };
    if (!podSpec.imagePullSecrets?.some((r) => r.name === pull.name)) podSpec.imagePullSecrets = [...(podSpec.imagePullSecrets ?? []), pull];
  }

  return {
    workload: {
      apiVersion: 'apps/v1',
      kind,
      metadata: { name, namespace: app.metadata.namespace, labels: childLabels(name) },
      spec: spec as unknown as Record<string, unknown>,
    },
    problems,
  };
}

// Who a VaultApp is to Vault: its pods' service account in its own namespace, with
// its role. Pure, so the core can tell when the identity (and so the data) changed.

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
