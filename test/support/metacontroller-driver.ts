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

  constructor(private readonly app: FastifyInstance, parent: VaultApp, private readonly types = TYPES) {
    this.parent = structuredClone(parent);
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
    const children = Object.fromEntries(this.types.map((t) => [t, Object.fromEntries(this.observed.get(t)!)]));
    const res = await this.app.inject({ method: 'POST', url: '/sync', payload: { controller: {}, parent: this.parent, children } });
    if (res.statusCode !== 200) throw new Error(`sync answered ${res.statusCode}: ${res.body}`);
    const body = res.json() as SyncResponse;
    this.apply(body);
    this.last = body;
    return body;
  }

  private apply(res: SyncResponse): void {
    const keep = new Set<string>();
    for (const desired of res.children) {
      const type = `${desired.kind}.${desired.apiVersion}`;
      if (!this.types.includes(type)) throw new Error(`hook returned a child of unmanaged type ${type}`);
      keep.add(`${type}/${desired.metadata.name}`);
      const group = this.observed.get(type)!;
      const before = group.get(desired.metadata.name);
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
      for (const name of [...group.keys()]) if (!keep.has(`${type}/${name}`)) group.delete(name);
    }
    this.parent = { ...this.parent, status: { ...res.status, observedGeneration: this.parent.metadata.generation ?? 1 } };
  }
}
