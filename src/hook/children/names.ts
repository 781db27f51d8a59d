// Names, labels and types of the children (all names derive from the parent's name),
// and finding them among a request's observed children: hook v1 keys children by
// name, v2 by namespace/name, so both are read by iterating values, never by key.
import { isLabelValue } from '../../api/kube-labels.js';
import type { KubeObject, SyncRequest } from '../types.js';
export const SECRET_VOLUME = 'vault-secrets';
export const SECRET_MOUNT_PATH = '/etc/secrets/vault';
export const VERSION_ANNOTATION = 'vaultapp.techweaver.io/secret-version';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vaultapp' } as const;
export const METRICS_FOR_LABEL = 'vaultapp.techweaver.io/metrics-for';
const NAME_LABEL = 'vaultapp.techweaver.io/name';

export const secretName = (app: string): string => `${app}-vault-secrets`;
export const metricsServiceName = (app: string): string => `${app}-metrics`;

export { isLabelValue };
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const isServiceName = (v: string): boolean => v.length <= 63 && DNS1035_LABEL.test(v);

/** Labels every child carries; the name label only where the name is a valid label value. */
export function childLabels(app: string): Record<string, string> {
  return isLabelValue(app) ? { ...MANAGED_BY, [NAME_LABEL]: app } : { ...MANAGED_BY };
}

export const CHILD_TYPE = {
  secret: 'Secret.v1',
  deployment: 'Deployment.apps/v1',
  statefulSet: 'StatefulSet.apps/v1',
  service: 'Service.v1',
  serviceMonitor: 'ServiceMonitor.monitoring.coreos.com/v1',
} as const;

export type ChildKind = keyof typeof CHILD_TYPE;

export function observedChild(req: SyncRequest, kind: ChildKind, name: string): KubeObject | undefined {
  const group = req.children?.[CHILD_TYPE[kind]];
  if (!group) return undefined;
  return Object.values(group).find((obj) => obj?.metadata?.name === name);
}

/** Metacontroller sends every declared child type, possibly empty: absent means not managed. */
export function childTypeManaged(req: SyncRequest, kind: ChildKind): boolean {
  return req.children != null && CHILD_TYPE[kind] in req.children;
}
