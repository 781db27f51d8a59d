// The Deployment child: the user's deploymentSpec, kept whole, plus the secret
// volume, a read-only mount in every container and the secret-version annotation.
// Where the user already has something at our volume name or mount path, theirs
// wins and the collision is reported instead of silently overwritten. The pod spec
// is written as the API server stores it (resource quantities, ./quantity.ts; empty
// lists, ./empty-lists.ts) so that no sync finds the Deployment changed.
import type { Container, Volume, VolumeMount } from 'kubernetes-types/core/v1.js';
import type { DeploymentSpec } from 'kubernetes-types/apps/v1.js';
import type { VaultApp } from '../api/vaultapp-schema.js';
import { problem, type Problem } from '../errors/catalog.js';
import { childLabels, SECRET_MOUNT_PATH, SECRET_VOLUME, secretName, VERSION_ANNOTATION } from './names.js';
import { dropEmptyLists } from './empty-lists.js';
import { canonicalPodQuantities } from './quantity.js';
import type { KubeObject } from './types.js';
import { isDeepStrictEqual } from 'node:util';

export interface DeploymentOutcome { deployment: KubeObject; problems: Problem[] }

export function desiredDeployment(app: VaultApp, version: string): DeploymentOutcome {
  const name = app.metadata.name;
  const spec: DeploymentSpec = structuredClone(app.spec.deploymentSpec);
  const problems: Problem[] = [];
  const template = spec.template;
  template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, [VERSION_ANNOTATION]: version } };
  const podSpec = template.spec!;
  canonicalPodQuantities(podSpec);
  dropEmptyLists(podSpec);

  const volume: Volume = { name: SECRET_VOLUME, secret: { secretName: secretName(name) } };
  const volumes = podSpec.volumes ?? [];
  const clashing = volumes.findIndex((v) => v.name === SECRET_VOLUME);
  if (clashing < 0) podSpec.volumes = [...volumes, volume];
  else if (!isDeepStrictEqual(volumes[clashing], volume)) {
    problems.push(problem('VOLUME_CONFLICT', `deploymentSpec.template.spec.volumes[${clashing}] is already named "${SECRET_VOLUME}"; the Vault secret volume was not added`));
  }

  const mount: VolumeMount = { name: SECRET_VOLUME, mountPath: SECRET_MOUNT_PATH, readOnly: true };
  const inject = (containers: Container[] | undefined, field: 'containers' | 'initContainers'): void => {
    containers?.forEach((c, i) => {
      const mounts = c.volumeMounts ?? [];
      const at = mounts.findIndex((m) => m.name === SECRET_VOLUME || m.mountPath === SECRET_MOUNT_PATH);
      if (at < 0) c.volumeMounts = [...mounts, mount];
      else if (!isDeepStrictEqual(mounts[at], mount)) {
        problems.push(problem('VOLUME_CONFLICT', `deploymentSpec.template.spec.${field}[${i}].volumeMounts[${at}] (container ${c.name}) already uses the name "${SECRET_VOLUME}" or the path ${SECRET_MOUNT_PATH}; the Vault secret mount was not added there`));
      }
    });
  };
  inject(podSpec.containers, 'containers');
  inject(podSpec.initContainers, 'initContainers');

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
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: app.metadata.namespace, labels: childLabels(name) },
      spec: spec as unknown as Record<string, unknown>,
    },
    problems,
  };
}
