// What Metacontroller and the API server make of a child the hook answered, so that
// the driver's observed children have the shape of a real request
// (test/fixtures/metacontroller/sync-request.json): Metacontroller's apply (a 3-way
// merge against its last-applied annotation), the API server's defaults, metadata
// and managedFields, and the Deployment controller's status in steps.
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../src/hook/types.js';

export const LAST_APPLIED = 'metacontroller.k8s.io/last-applied-configuration';

type Json = Record<string, unknown>;
const isMap = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

// Lists of maps Metacontroller merges item by item (pkg/dynamic/apply); other lists are replaced.
const LIST_MAP_KEYS = ['name', 'containerPort', 'port', 'mountPath', 'type'];
const listKey = (xs: unknown[]): string | undefined =>
  xs.length > 0 && xs.every(isMap) ? LIST_MAP_KEYS.find((k) => xs.every((x) => (x as Json)[k] !== undefined)) : undefined;

/**
 * Metacontroller's apply: every field the hook answers is set on the observed object;
 * fields it answered last time and no longer does are removed; the rest (server
 * defaults, other writers' fields) is left alone. Returns a new object.
 */
export function mergeApplied(observed: unknown, last: unknown, desired: unknown): unknown {
  if (isMap(desired)) {
    const out: Json = isMap(observed) ? { ...observed } : {};
    const before = isMap(last) ? last : {};
    for (const k of Object.keys(before)) if (!Object.hasOwn(desired, k)) delete out[k];
    for (const [k, v] of Object.entries(desired)) out[k] = mergeApplied(out[k], before[k], v);
    return out;
  }
  if (Array.isArray(desired) && Array.isArray(observed)) {
    const key = listKey(desired);
    if (key && listKey(observed) === key) {
      const find = (xs: unknown, v: unknown) => (Array.isArray(xs) ? xs.find((x) => isMap(x) && x[key] === v) : undefined);
      return desired.map((d) => mergeApplied(find(observed, (d as Json)[key]), find(last, (d as Json)[key]), d));
    }
  }
  return structuredClone(desired);
}

/** The API server's defaults for the fields the hook leaves out (the ones the fixture shows). */
function withDefaults(obj: Json): void {
  const setDefault = (m: Json, k: string, v: unknown) => {
    if (m[k] === undefined) m[k] = v;
  };
  const spec = (obj.spec ?? {}) as Json;
  if (obj.kind === 'Deployment' || obj.kind === 'StatefulSet') {
    if (obj.kind === 'Deployment') {
      for (const [k, v] of Object.entries({ progressDeadlineSeconds: 600, revisionHistoryLimit: 10, replicas: 1 })) setDefault(spec, k, v);
      setDefault(spec, 'strategy', { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' });
    } else {
      for (const [k, v] of Object.entries({ podManagementPolicy: 'OrderedReady', revisionHistoryLimit: 10, replicas: 1 })) setDefault(spec, k, v);
      setDefault(spec, 'updateStrategy', { rollingUpdate: { partition: 0 }, type: 'RollingUpdate' });
      setDefault(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
      for (const c of (spec.volumeClaimTemplates ?? []) as Json[]) {
        setDefault(c, 'apiVersion', 'v1');
        setDefault(c, 'kind', 'PersistentVolumeClaim');
        if (isMap(c.spec)) setDefault(c.spec, 'volumeMode', 'Filesystem');
        setDefault(c, 'status', { phase: 'Pending' });
      }
    }
    const pod = ((spec.template ?? {}) as Json).spec as Json | undefined;
    if (!pod) return;
    for (const [k, v] of Object.entries({
      dnsPolicy: 'ClusterFirst',
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
    }))
      setDefault(pod, k, v);
    setDefault(pod, 'securityContext', {});
    for (const c of (pod.containers ?? []) as Json[]) {
      for (const [k, v] of Object.entries({
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      }))
        setDefault(c, k, v);
      setDefault(c, 'resources', {});
      for (const p of (c.ports ?? []) as Json[]) setDefault(p, 'protocol', 'TCP');
    }
    for (const v of (pod.volumes ?? []) as Json[]) if (isMap(v.secret)) setDefault(v.secret, 'defaultMode', 420);
  } else if (obj.kind === 'Service') {
    const ip = '10.96.135.42';
    for (const [k, v] of Object.entries({
      clusterIP: ip,
      clusterIPs: [ip],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None',
      type: 'ClusterIP',
    }))
      setDefault(spec, k, v);
    for (const p of (spec.ports ?? []) as Json[]) setDefault(p, 'protocol', 'TCP');
    setDefault(obj, 'status', { loadBalancer: {} });
  }
}

/** managedFields' FieldsV1 of an object: every field as `f:name`, list maps by key as `k:{...}`. */
export function fieldsV1(x: unknown): Json {
  let entries: [string, unknown][] = [];
  if (isMap(x))
    entries = Object.entries(x)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [`f:${k}`, fieldsV1(v)]);
  else if (Array.isArray(x)) {
    const key = listKey(x);
    if (key) entries = (x as Json[]).map((item) => [`k:${JSON.stringify({ [key]: item[key] })}`, fieldsV1(item)]);
  }
  return entries.length > 0 ? Object.fromEntries([['.', {}], ...entries]) : {};
}

export interface ServerContext {
  parent: { apiVersion: string; kind: string; metadata: { name: string; uid?: string } };
  resourceVersion: () => string;
  now: () => Date;
}

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const uidOf = (obj: KubeObject, parentUid: string): string => {
  const hex = Buffer.from(`${obj.kind}/${obj.metadata.name}/${parentUid}`).toString('hex').padEnd(32, '0').slice(-32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/**
 * The object the API server stores when Metacontroller writes `merged` (the applied
 * child, or the result of mergeApplied): defaults, server metadata, the controller-uid
 * label and owner reference Metacontroller adds, its last-applied annotation, and a
 * managedFields entry per writer.
 */
export function serverForm(merged: KubeObject, applied: KubeObject, before: KubeObject | undefined, ctx: ServerContext): KubeObject {
  const obj = structuredClone(merged) as KubeObject;
  withDefaults(obj as Json);
  const parentUid = ctx.parent.metadata.uid ?? `${ctx.parent.metadata.name}-uid`;
  const time = iso(ctx.now());
  const { managedFields: _drop, ...meta } = obj.metadata as Json;
  const specChanged = !before || !isDeepStrictEqual(before.spec, obj.spec);
  const generation = ((before?.metadata.generation as number | undefined) ?? 0) + (specChanged ? 1 : 0);
  obj.metadata = {
    ...(meta as KubeObject['metadata']),
    annotations: { ...(meta.annotations as Record<string, string> | undefined), [LAST_APPLIED]: JSON.stringify(applied) },
    creationTimestamp: before?.metadata.creationTimestamp ?? time,
    ...(obj.kind === 'Deployment' || obj.kind === 'StatefulSet' || obj.kind === 'ServiceMonitor' ? { generation } : {}),
    ownerReferences: [
      { apiVersion: ctx.parent.apiVersion, blockOwnerDeletion: true, controller: true, kind: ctx.parent.kind, name: ctx.parent.metadata.name, uid: parentUid },
    ],
    resourceVersion: ctx.resourceVersion(),
    uid: (before?.metadata.uid as string | undefined) ?? uidOf(obj, parentUid),
    managedFields: [
      ...((before?.metadata.managedFields as Json[] | undefined) ?? []).filter((m) => m.manager !== 'metacontroller'),
      {
        apiVersion: obj.apiVersion,
        fieldsType: 'FieldsV1',
        fieldsV1: fieldsV1({ ...applied, apiVersion: undefined, kind: undefined }),
        manager: 'metacontroller',
        operation: 'Update',
        time,
      },
    ],
  };
  return obj;
}

/** The label and annotation Metacontroller puts on what it applies (generateSelector: true). */
export function asApplied(desired: KubeObject, parentUid: string): KubeObject {
  return { ...desired, metadata: { ...desired.metadata, labels: { ...desired.metadata.labels, 'controller-uid': parentUid } } };
}

/**
 * The Deployment controller's status after a spec change, in the steps it reports
 * them (each a status update, so each brings Metacontroller another sync): the new
 * generation observed, then the replicas updated, then available.
 */
export function deploymentStatusSteps(generation: number, replicas: number, now: () => Date): Json[] {
  const conditions = (available: boolean) => {
    const t = iso(now());
    return [
      {
        lastTransitionTime: t,
        lastUpdateTime: t,
        message: available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
        reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        status: available ? 'True' : 'False',
        type: 'Available',
      },
      { lastTransitionTime: t, lastUpdateTime: t, message: 'ReplicaSet is progressing.', reason: 'ReplicaSetUpdated', status: 'True', type: 'Progressing' },
    ];
  };
  return [
    { observedGeneration: generation, replicas, updatedReplicas: 0, unavailableReplicas: replicas, terminatingReplicas: 0, conditions: conditions(false) },
    {
      observedGeneration: generation,
      replicas,
      updatedReplicas: replicas,
      unavailableReplicas: replicas,
      terminatingReplicas: 0,
      conditions: conditions(false),
    },
    {
      observedGeneration: generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      terminatingReplicas: 0,
      conditions: conditions(true),
    },
  ];
}

/**
 * The StatefulSet controller's status after a spec change, in its steps: the new
 * generation observed with the pods still at the old revision, then every pod updated
 * (highest ordinal first, one at a time; reported here at the end) and the current
 * revision moved to the update revision. A new StatefulSet starts at its revision.
 */
export function statefulSetStatusSteps(name: string, generation: number, replicas: number, created: boolean): Json[] {
  const update = `${name}-rev${generation}`;
  const current = created ? update : `${name}-rev${generation - 1}`;
  const base = { observedGeneration: generation, replicas, readyReplicas: replicas, availableReplicas: replicas, collisionCount: 0 };
  return [
    { ...base, currentReplicas: created ? 0 : replicas, updatedReplicas: 0, currentRevision: current, updateRevision: update },
    { ...base, currentReplicas: replicas, updatedReplicas: replicas, currentRevision: update, updateRevision: update },
  ];
}

/** The kube-controller-manager's managedFields entry for a Deployment status. */
export function statusManagedFields(obj: KubeObject, now: Date): Json {
  return {
    apiVersion: obj.apiVersion,
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:status': fieldsV1(obj.status) },
    manager: 'kube-controller-manager',
    operation: 'Update',
    subresource: 'status',
    time: iso(now),
  };
}
