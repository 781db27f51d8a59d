// Reading the observed children of a request. Hook v1 keys children by name,
// v2 by namespace/name; both are read by iterating values, never by key.
import type { KubeObject, SyncRequest } from './types.js';

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
