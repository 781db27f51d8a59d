// Plays Metacontroller against the hook over HTTP (app.inject): sends the parent
// and the observed children, keeps the returned children as the new observed
// state (as the API server would store them), drops children left out, and
// writes the returned status onto the parent. Deployments are marked rolled out
// at once, with generation bumped on every spec change, as the Deployment
// controller would eventually report.
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { KubeObject, SyncResponse } from '../../src/hook/types.js';

const TYPES = ['Secret.v1', 'Deployment.apps/v1', 'Service.v1', 'ServiceMonitor.monitoring.coreos.com/v1'];

export class MetacontrollerDriver {
  parent: VaultApp;
  readonly observed = new Map<string, Map<string, KubeObject>>(TYPES.map((t) => [t, new Map()]));
  last?: SyncResponse;
  deploymentUpdates = 0;

  /** `hook` is an app to inject into, or the base URL of a running hook process. */
  constructor(private readonly hook: FastifyInstance | string, parent: VaultApp, private readonly types = TYPES) {
    this.parent = structuredClone(parent);
  }

  private async post(path: '/sync' | '/finalize', payload: unknown): Promise<{ statusCode: number; body: string }> {
    if (typeof this.hook !== 'string') {
      const res = await this.hook.inject({ method: 'POST', url: path, payload: payload as Record<string, unknown> });
      return { statusCode: res.statusCode, body: res.body };
    }
    const res = await fetch(`${this.hook}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(10_000) });
    return { statusCode: res.status, body: await res.text() };
  }

  private request(): Record<string, unknown> {
    const children = Object.fromEntries(this.types.map((t) => [t, Object.fromEntries(this.observed.get(t)!)]));
    return { controller: {}, parent: this.parent, children };
  }

  /** Metacontroller's finalize call: applies the answer; true once finalized. */
  async finalize(): Promise<SyncResponse> {
    const res = await this.post('/finalize', { ...this.request(), finalizing: true });
    if (res.statusCode !== 200) throw new Error(`finalize answered ${res.statusCode}: ${res.body}`);
    const body = JSON.parse(res.body) as SyncResponse;
    this.apply(body);
    this.last = body;
    return body;
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
    const d = this.child('Deployment', this.parent.metadata.name) as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | undefined;
    return d?.spec?.template?.metadata?.annotations?.['vaultapp.techweaver.io/secret-version'];
  }

  async sync(): Promise<SyncResponse> {
    const res = await this.post('/sync', this.request());
    if (res.statusCode !== 200) throw new Error(`sync answered ${res.statusCode}: ${res.body}`);
    const body = JSON.parse(res.body) as SyncResponse;
    this.changed = this.apply(body);
    this.last = body;
    return body;
  }

  /** Whether the last sync changed any child, which makes Metacontroller sync again. */
  changed = false;

  /** Returns true when any stored child changed. */
  private apply(res: SyncResponse): boolean {
    let changed = false;
    const keep = new Set<string>();
    for (const desired of res.children) {
      const type = `${desired.kind}.${desired.apiVersion}`;
      if (!this.types.includes(type)) throw new Error(`hook returned a child of unmanaged type ${type}`);
      keep.add(`${type}/${desired.metadata.name}`);
      const group = this.observed.get(type)!;
      const before = group.get(desired.metadata.name);
      if (!before || !isDeepStrictEqual({ ...before, metadata: { ...before.metadata, uid: undefined, generation: undefined }, status: undefined }, { ...desired, metadata: { ...desired.metadata, uid: undefined, generation: undefined }, status: undefined })) changed = true;
      const stored: KubeObject = { ...structuredClone(desired), metadata: { ...desired.metadata, uid: `${desired.metadata.name}-uid` } };
      if (desired.kind === 'Deployment') {
        const changed = !before || !isDeepStrictEqual(before.spec, desired.spec);
        if (changed && before) this.deploymentUpdates++;
        const generation = ((before?.metadata.generation as number | undefined) ?? 0) + (changed ? 1 : 0);
        const replicas = (desired.spec as { replicas?: number }).replicas ?? 1;
        stored.metadata.generation = generation;
        stored.status = { observedGeneration: generation, replicas, updatedReplicas: replicas, availableReplicas: replicas };
      }
      group.set(desired.metadata.name, stored);
    }
    for (const [type, group] of this.observed) {
      for (const name of [...group.keys()]) {
        if (!keep.has(`${type}/${name}`)) {
          group.delete(name);
          changed = true;
        }
      }
    }
    this.parent = { ...this.parent, status: { ...res.status, observedGeneration: this.parent.metadata.generation ?? 1 } };
    return changed;
  }
}
