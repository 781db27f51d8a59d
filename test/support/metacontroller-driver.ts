// Plays Metacontroller against the hook over HTTP, as v4.17.2 does (DESIGN.md,
// "Metacontroller facts"), so that the churn a real control plane brings is in the
// tests: each sync sends the parent and the observed children as the API server
// stores them (managedFields, the last-applied annotation, resourceVersion, uid,
// creationTimestamp, Deployment status: ./kube-server-form.ts), with the bearer token
// when given and `If-None-Match` with the previous answer's etag. The answer is
// applied as Metacontroller applies it (a write per changed child, children left out
// deleted, the status written when it differs), and every write brings another sync;
// so does each step of the Deployment's status, which arrives later and in steps
// (deploymentStatus: 'stepped'), or at once as before (the default, 'immediate').
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { KubeObject, SyncResponse } from '../../src/hook/types.js';
import { capturedRequest } from '../fixtures/metacontroller.js';
import {
  asApplied,
  deploymentStatusSteps,
  statefulSetStatusSteps,
  fieldsV1,
  LAST_APPLIED,
  mergeApplied,
  serverForm,
  statusManagedFields,
  type ServerContext,
} from './kube-server-form.js';

const TYPES = ['Secret.v1', 'Deployment.apps/v1', 'StatefulSet.apps/v1', 'Service.v1', 'ServiceMonitor.monitoring.coreos.com/v1'];

export interface HookAnswer {
  statusCode: number;
  body: string;
  etag?: string;
}
/** How a request reaches the hook: (path, JSON body, headers) → answer. */
export type HookTransport = (path: string, body: string, headers: Record<string, string>) => Promise<HookAnswer>;

export interface DriverOptions {
  /** Sent as `Authorization: Bearer <token>`, as Metacontroller does from a Secret. */
  bearerToken?: string;
  /** Send `If-None-Match` (Metacontroller's webhook etag); default true. */
  etag?: boolean;
  /** 'immediate' (default): the Deployment is rolled out at once; 'stepped': its status comes in steps, each bringing a sync. */
  deploymentStatus?: 'immediate' | 'stepped';
  /** The cluster's clock for timestamps (creationTimestamp, managedFields, conditions). */
  now?: () => Date;
  /** The CompositeController sent as `controller`; default the captured one. */
  controller?: unknown;
  /**
   * Only the driver changes its parent and observed objects (tests edit them behind its
   * back): it may then send the body it built last when nothing changed since, and skip
   * applying an unchanged (304) answer it already applied to the same objects, which would
   * change nothing. Either would be Metacontroller's CPU, not the hook's: the bench sets it
   * so that on shared cores the driver takes less of the time it measures.
   */
  ownWritesOnly?: boolean;
  /**
   * Metacontroller's informer lags its own status write (DESIGN.md): the watch event of a child
   * it has just written brings a sync before the parent's informer shows the status it wrote
   * with it. With this probability, a sync that follows an answer which wrote a child sends the
   * parent with the status of one or two answers before (either, equally likely), the rest of
   * the parent as it is now; a resync, or a sync brought by the status write alone, sees the
   * status as it is. Seeded, so that a failing run repeats.
   */
  statusLag?: { probability: number; seed: number };
}

/** Counters of what the driver did, as Metacontroller would count it. */
export interface DriverCounts {
  syncs: number;
  notModified: number;
  childWrites: number;
  statusWrites: number;
}

let resourceVersions = 1000;

export class MetacontrollerDriver {
  parent: VaultApp;
  readonly observed = new Map<string, Map<string, KubeObject>>(TYPES.map((t) => [t, new Map()]));
  last?: SyncResponse;
  /** Updates of the workload's spec (a Deployment's or a StatefulSet's), each a rollout. */
  deploymentUpdates = 0;
  /** Whether the last sync changed any child, which makes Metacontroller sync again. */
  changed = false;
  /** Whether the last sync wrote anything (a child or the status): its watch event brings another sync. */
  wrote = false;
  readonly counts: DriverCounts = { syncs: 0, notModified: 0, childWrites: 0, statusWrites: 0 };
  /** Syncs that were sent an older status of the parent (statusLag). */
  laggedSyncs = 0;
  private readonly transport: HookTransport;
  private readonly opts: DriverOptions;
  private readonly controller: unknown;
  private cached?: { etag: string; body: string };
  /** Deployment status steps not yet reported, by Deployment name. */
  private readonly pendingStatus = new Map<string, Record<string, unknown>[]>();
  /** Bumped by every change the driver makes to its observed objects (ownWritesOnly). */
  private version = 0;
  /** How many of those changes were a child's status only (ownWritesOnly). */
  private statusChanges = 0;
  private lastBody?: { parent: VaultApp; version: number; finalizing: boolean; text: string };
  /**
   * The answer last applied (its etag), to which parent and objects, a child's status
   * not counted: Metacontroller's merge leaves a child's status alone, so the same
   * answer applied again over a status change writes nothing (ownWritesOnly).
   */
  private lastApplied?: { parent: VaultApp; objects: number; etag: string };
  /** The parent's status after each answer, the one before the first answer first (statusLag). */
  private readonly statuses: VaultApp['status'][];
  private readonly random?: () => number;

  /** `hook` is an app to inject into, the base URL of a running hook process, or a transport. */
  constructor(
    hook: FastifyInstance | string | HookTransport,
    parent: VaultApp,
    private readonly types = TYPES,
    opts: DriverOptions = {},
  ) {
    this.transport = transportFor(hook);
    this.opts = opts;
    this.controller = opts.controller ?? capturedRequest().controller;
    this.parent = asServerParent(structuredClone(parent), this.now());
    this.statuses = [this.parent.status];
    if (opts.statusLag) this.random = seededRandom(opts.statusLag.seed);
  }

  /** All API writes: each created, changed or deleted child and each status write is one. */
  get apiWrites(): number {
    return this.counts.childWrites + this.counts.statusWrites;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  /** Seeds the observed children (e.g. a captured request's), as they are in the cluster. */
  observe(children: Record<string, Record<string, KubeObject>>): void {
    this.version++;
    for (const [type, group] of Object.entries(children))
      for (const obj of Object.values(group)) this.observed.get(type)?.set(obj.metadata.name, structuredClone(obj));
  }

  /** The request body Metacontroller would send now (the bench times the hook on these). */
  body(finalizing = false, parent = this.parent): string {
    const last = this.lastBody;
    if (last && last.parent === parent && last.version === this.version && last.finalizing === finalizing) return last.text;
    const children = Object.fromEntries(this.types.map((t) => [t, Object.fromEntries(this.observed.get(t)!)]));
    const text = JSON.stringify({ controller: this.controller, parent, children, related: {}, finalizing });
    if (this.opts.ownWritesOnly && parent === this.parent) this.lastBody = { parent, version: this.version, finalizing, text };
    return text;
  }

  /** The parent as this sync's informer has it: now, or (statusLag) with the status of one or two answers before. */
  private seenParent(): VaultApp {
    const lag = this.opts.statusLag;
    if (!lag || !this.random || !this.changed || this.random() >= lag.probability) return this.parent;
    const back = this.random() < 0.5 ? 1 : 2;
    const i = this.statuses.length - 1 - back;
    if (i < 0) return this.parent;
    const status = this.statuses[i];
    if (isDeepStrictEqual(status, this.parent.status)) return this.parent;
    this.laggedSyncs++;
    const { status: _now, ...rest } = this.parent;
    return (status === undefined ? rest : { ...rest, status }) as VaultApp;
  }

  private async post(path: '/sync' | '/finalize', finalizing: boolean): Promise<SyncResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.bearerToken) headers.authorization = `Bearer ${this.opts.bearerToken}`;
    if (this.opts.etag !== false && this.cached) headers['if-none-match'] = this.cached.etag;
    const res = await this.transport(path, this.body(finalizing, this.seenParent()), headers);
    this.counts.syncs++;
    let body = res.body;
    if (res.statusCode === 304 && this.cached) {
      // Metacontroller's etag cache: the previous answer again, unchanged.
      this.counts.notModified++;
      body = this.cached.body;
    } else if (res.statusCode !== 200) {
      throw new Error(`${path.slice(1)} answered ${res.statusCode}: ${res.body}`);
    }
    this.cached = res.statusCode === 200 && res.etag ? { etag: res.etag, body } : this.cached;
    const applied = this.lastApplied;
    if (
      res.statusCode === 304 &&
      applied &&
      this.last &&
      applied.parent === this.parent &&
      applied.objects === this.version - this.statusChanges &&
      applied.etag === this.cached?.etag
    ) {
      this.changed = false;
      this.wrote = false;
      return this.last;
    }
    const answer = JSON.parse(body) as SyncResponse;
    this.changed = this.apply(answer);
    this.last = answer;
    if (this.opts.ownWritesOnly && this.cached) this.lastApplied = { parent: this.parent, objects: this.version - this.statusChanges, etag: this.cached.etag };
    return answer;
  }

  /** Metacontroller's finalize call: applies the answer. */
  finalize(): Promise<SyncResponse> {
    return this.answered(this.post('/finalize', true));
  }

  sync(): Promise<SyncResponse> {
    return this.answered(this.post('/sync', false));
  }

  private async answered(answer: Promise<SyncResponse>): Promise<SyncResponse> {
    const res = await answer;
    this.statuses.push(this.parent.status);
    if (this.statuses.length > 3) this.statuses.shift();
    return res;
  }

  /**
   * Syncs until nothing brings another sync (no write, no Deployment status step
   * pending), as Metacontroller's watches would; returns how many syncs it took.
   */
  async settle(maxSyncs = 20): Promise<number> {
    for (let n = 1; n <= maxSyncs; n++) {
      await this.sync();
      if (!this.wrote && !this.deploymentStep()) return n;
    }
    throw new Error(`${this.parent.metadata.name} did not settle within ${maxSyncs} syncs`);
  }

  /** Reports the next pending step of a Deployment's status; false when none is pending. */
  deploymentStep(): boolean {
    for (const [name, steps] of this.pendingStatus) {
      const step = steps.shift();
      if (steps.length === 0) this.pendingStatus.delete(name);
      if (step) {
        this.setDeploymentStatus(name, step);
        return true;
      }
    }
    return false;
  }

  /**
   * A change of the Deployment's status that leaves its readiness as it is (the
   * Progressing condition's lastUpdateTime, as the controller's resync writes it):
   * the kind of event that brings a sync and should bring no Vault request.
   */
  touchDeploymentStatus(): void {
    const d = this.child('Deployment', this.parent.metadata.name);
    if (!d) return;
    const status = structuredClone((d.status ?? {}) as Record<string, unknown>);
    const t = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    status.conditions = ((status.conditions ?? []) as Record<string, unknown>[]).map((c) => (c.type === 'Progressing' ? { ...c, lastUpdateTime: t } : c));
    this.setDeploymentStatus(d.metadata.name, status);
  }

  private setDeploymentStatus(name: string, status: Record<string, unknown>): void {
    const group = [this.observed.get('Deployment.apps/v1'), this.observed.get('StatefulSet.apps/v1')].find((g) => g?.has(name));
    const d = group?.get(name);
    if (!d) return;
    const next: KubeObject = { ...d, metadata: { ...d.metadata, resourceVersion: String(++resourceVersions) }, status };
    const others = ((d.metadata.managedFields ?? []) as Record<string, unknown>[]).filter((m) => m.subresource !== 'status');
    next.metadata.managedFields = [...others, statusManagedFields(next, this.now())];
    group!.set(name, next);
    this.version++;
    this.statusChanges++;
  }

  child(kind: string, name: string): KubeObject | undefined {
    for (const [type, group] of this.observed) if (type.startsWith(`${kind}.`)) return group.get(name);
    return undefined;
  }

  secretValues(name = `${this.parent.metadata.name}-vault-secrets`): Record<string, string> | undefined {
    const data = this.child('Secret', name)?.data as Record<string, string> | undefined;
    return data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

  versionAnnotation(): string | undefined {
    const d = (this.child('Deployment', this.parent.metadata.name) ?? this.child('StatefulSet', this.parent.metadata.name)) as
      | { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }
      | undefined;
    return d?.spec?.template?.metadata?.annotations?.['vaultapp.techweaver.io/secret-version'];
  }

  /** Applies an answer as Metacontroller does; true when any child was written. */
  private apply(res: SyncResponse): boolean {
    let changed = false;
    const keep = new Set<string>();
    const ctx: ServerContext = { parent: this.parent, resourceVersion: () => String(++resourceVersions), now: () => this.now() };
    const parentUid = this.parent.metadata.uid ?? `${this.parent.metadata.name}-uid`;
    for (const desired of res.children) {
      const type = `${desired.kind}.${desired.apiVersion}`;
      if (!this.types.includes(type)) throw new Error(`hook returned a child of unmanaged type ${type}`);
      keep.add(`${type}/${desired.metadata.name}`);
      const group = this.observed.get(type)!;
      const before = group.get(desired.metadata.name);
      const applied = asApplied(desired, parentUid);
      const last = lastApplied(before);
      const merged = (before ? mergeApplied(before, last, applied) : applied) as KubeObject;
      if (before && isDeepStrictEqual(withLastApplied(merged, applied), before)) continue;
      changed = true;
      this.counts.childWrites++;
      const stored = serverForm(merged, applied, before, ctx);
      if (desired.kind === 'Deployment' || desired.kind === 'StatefulSet') this.rolledOut(stored, before);
      group.set(desired.metadata.name, stored);
      this.version++;
    }
    for (const [type, group] of this.observed) {
      for (const name of [...group.keys()]) {
        if (!keep.has(`${type}/${name}`)) {
          group.delete(name);
          this.version++;
          this.pendingStatus.delete(name);
          this.counts.childWrites++;
          changed = true;
        }
      }
    }
    const status = { ...res.status, observedGeneration: this.parent.metadata.generation ?? 1 };
    const statusChanged = !isDeepStrictEqual(this.parent.status, status);
    if (statusChanged) {
      this.counts.statusWrites++;
      this.parent = { ...this.parent, metadata: { ...this.parent.metadata, resourceVersion: String(++resourceVersions) }, status } as VaultApp;
    }
    this.wrote = changed || statusChanged;
    return changed;
  }

  /** A Deployment write: a new generation on a spec change, and its status now or in steps. */
  private rolledOut(stored: KubeObject, before: KubeObject | undefined): void {
    const generation = stored.metadata.generation as number;
    if (before && generation === before.metadata.generation) return;
    if (before) this.deploymentUpdates++;
    const replicas = (stored.spec as { replicas?: number }).replicas ?? 1;
    const steps =
      stored.kind === 'StatefulSet'
        ? statefulSetStatusSteps(stored.metadata.name, generation, replicas, !before)
        : deploymentStatusSteps(generation, replicas, () => this.now());
    if (this.opts.deploymentStatus === 'stepped') {
      this.pendingStatus.set(stored.metadata.name, steps);
      return;
    }
    stored.status = steps.at(-1);
    (stored.metadata.managedFields as unknown[]).push(statusManagedFields(stored, this.now()));
  }
}

const lastApplied = (obj: KubeObject | undefined): unknown => {
  const text = obj?.metadata.annotations?.[LAST_APPLIED];
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
};
const withLastApplied = (merged: KubeObject, applied: KubeObject): KubeObject => ({
  ...merged,
  metadata: { ...merged.metadata, annotations: { ...merged.metadata.annotations, [LAST_APPLIED]: JSON.stringify(applied) } },
});

/** A parent as the API server holds it: resourceVersion, timestamps, finalizer, managedFields. */
function asServerParent(parent: VaultApp, now: Date): VaultApp {
  const meta = parent.metadata as VaultApp['metadata'] & { resourceVersion?: string; annotations?: Record<string, string> };
  if (meta.resourceVersion !== undefined) return parent;
  const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const applied = {
    apiVersion: parent.apiVersion,
    kind: parent.kind,
    metadata: { annotations: {}, name: parent.metadata.name, namespace: parent.metadata.namespace },
    spec: parent.spec,
  };
  const entry = (manager: string, fields: unknown, subresource?: string) => ({
    apiVersion: parent.apiVersion,
    fieldsType: 'FieldsV1',
    fieldsV1: fields,
    manager,
    operation: 'Update',
    ...(subresource ? { subresource } : {}),
    time,
  });
  parent.metadata = {
    ...parent.metadata,
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(applied)}\n`, ...meta.annotations },
    creationTimestamp: time,
    finalizers: ['metacontroller.io/compositecontroller-vaultapp-controller'],
    managedFields: [
      entry(
        'kubectl-client-side-apply',
        fieldsV1({ metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '' } }, spec: parent.spec }),
      ),
      entry('metacontroller', { 'f:metadata': { 'f:finalizers': { '.': {}, 'v:"metacontroller.io/compositecontroller-vaultapp-controller"': {} } } }),
      entry(
        'metacontroller',
        { 'f:status': { '.': {}, 'f:conditions': {}, 'f:lastSecretUpdateTime': {}, 'f:observedGeneration': {}, 'f:secretName': {} } },
        'status',
      ),
    ],
    resourceVersion: String(++resourceVersions),
  } as VaultApp['metadata'];
  return parent;
}

/** mulberry32: a small seeded generator, enough to pick which syncs lag. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function transportFor(hook: FastifyInstance | string | HookTransport): HookTransport {
  if (typeof hook === 'function') return hook;
  if (typeof hook === 'string') {
    return async (path, body, headers) => {
      const res = await fetch(`${hook}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      return { statusCode: res.status, body: await res.text(), ...(res.headers.get('etag') ? { etag: res.headers.get('etag')! } : {}) };
    };
  }
  return async (path, body, headers) => {
    const res = await hook.inject({ method: 'POST', url: path, payload: body, headers });
    const etag = res.headers.etag;
    return { statusCode: res.statusCode, body: res.body, ...(typeof etag === 'string' ? { etag } : {}) };
  };
}
