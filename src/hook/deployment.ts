// The Deployment child of a VaultApp with deploymentSpec (./workload.ts builds it).
import type { VaultApp } from '../api/vaultapp-schema.js';
import type { Problem } from '../errors/catalog.js';
import type { KubeObject } from './types.js';
import { desiredWorkload } from './workload.js';

export interface DeploymentOutcome {
  deployment: KubeObject;
  problems: Problem[];
}

export function desiredDeployment(app: VaultApp, version: string): DeploymentOutcome {
  const { workload, problems } = desiredWorkload(app, version);
  return { deployment: workload, problems };
}
