// The benchmark's fleet of VaultApps and the Metacontroller stand-in that syncs it
// over real HTTP on loopback (node:http, keep-alive, a fixed number of requests in
// flight). Like test/support/metacontroller-driver.ts, the children a sync returns
// become the observed children of the next sync and the returned status is written
// onto the parent; Deployments are reported rolled out at once.
import { Agent, request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { VaultApp } from '../src/api/vaultapp-schema.js';
import type { KubeObject, SyncRequest, SyncResponse } from '../src/hook/types.js';

export const CHILD_TYPES = ['Secret.v1', 'Deployment.apps/v1', 'Service.v1', 'ServiceMonitor.monitoring.coreos.com/v1'];

export interface FleetShape {
  parents: number;
  /** Distinct KV v2 paths written to Vault; each parent picks `pathsPerParent` of them. */
  distinctPaths: number;
  pathsPerParent: number;
  namespaces: number;
  /** Prefix of the parents' names, so that two fleets on one hook never share a parent. */
  prefix: string;
  seed: number;
}

/** Spec path of the i-th KV secret (KV v2 API path, as in the seed example). */
export const kvPath = (i: number): string => `kv/data/fleet/app-${String(i).padStart(4, '0')}`;
/** What is written at the i-th path. */
export const kvData = (i: number): Record<string, string> => ({
  url: `postgres://svc-${i}:pw-${i}-${'x'.repeat(16)}@db-${i % 17}.internal:5432/app_${i}`,
  user: `svc-${i}`,
  key: `api-key-${i}-${'k'.repeat(24)}`,
});
export const namespaceOf = (n: number): string => `team-${n}`;
export const roleOf = (n: number): string => `team-${n}-app`;

// A small deterministic PRNG: the same fleet on every run.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function loadBillingExample(): VaultApp {
  return parse(readFileSync(new URL('../examples/billing-service.yaml', import.meta.url), 'utf8')) as VaultApp;
}

/**
 * Parents built from examples/billing-service.yaml with distinct names and uids,
 * each reading `pathsPerParent` distinct paths through pathsPerParent + 1 entries
 * (the first path gives two keys, as a database URL and user would): the seed reads
 * once per entry, the hook once per distinct path.
 */
export function buildFleet(shape: FleetShape): VaultApp[] {
  const base = loadBillingExample();
  const rnd = mulberry32(shape.seed);
  const out: VaultApp[] = [];
  for (let i = 0; i < shape.parents; i++) {
    const picks = new Set<number>();
    while (picks.size < shape.pathsPerParent) picks.add(Math.floor(rnd() * shape.distinctPaths));
    const [first, ...rest] = [...picks];
    const name = `${shape.prefix}-${String(i).padStart(5, '0')}`;
    const ns = i % shape.namespaces;
    const app = structuredClone(base);
    app.metadata = { name, namespace: namespaceOf(ns), uid: `6b1f3c2e-${String(shape.seed).padStart(4, '0').slice(-4)}-4000-8000-${String(i).padStart(12, '0')}`, generation: 1 } as VaultApp['metadata'];
    const labels = { app: name };
    app.spec.deploymentSpec!.selector = { matchLabels: labels };
    app.spec.deploymentSpec!.template.metadata = { labels };
    app.spec.deploymentSpec!.template.spec!.containers[0]!.name = name.slice(0, 63);
    app.spec.vault.role = roleOf(ns);
    app.spec.vault.secrets = [
      { path: kvPath(first!), key: 'url', targetKey: 'db_url' },
      { path: kvPath(first!), key: 'user', targetKey: 'db_user' },
      ...rest.map((p, j) => ({ path: kvPath(p), key: 'key', targetKey: `api_key_${j}` })),
    ];
    out.push(app);
  }
  return out;
}

/** What Metacontroller would hold for one parent: the parent and its observed children. */
export class ParentState {
  parent: VaultApp;
  readonly observed = new Map<string, Map<string, KubeObject>>(CHILD_TYPES.map((t) => [t, new Map()]));
  last?: SyncResponse;
  /** With ETags on: the last 200 answer and its ETag, reused on a 304 as Metacontroller's cache does. */
  etag?: { tag: string; text: string };
  constructor(parent: VaultApp) { this.parent = structuredClone(parent); }

  body(): string {
    const children = Object.fromEntries(CHILD_TYPES.map((t) => [t, Object.fromEntries(this.observed.get(t)!)]));
    return JSON.stringify({ controller: {}, parent: this.parent, children } satisfies SyncRequest & { controller: unknown });
  }

  apply(res: SyncResponse): void {
    const keep = new Set<string>();
    for (const desired of res.children) {
      const type = `${desired.kind}.${desired.apiVersion}`;
      const group = this.observed.get(type);
      if (!group) throw new Error(`hook returned a child of unmanaged type ${type}`);
      keep.add(`${type}/${desired.metadata.name}`);
      const stored: KubeObject = { ...desired, metadata: { ...desired.metadata, uid: `${desired.metadata.name}-uid` } };
      if (desired.kind === 'Deployment') {
        const before = group.get(desired.metadata.name);
        const changed = !before || JSON.stringify(before.spec) !== JSON.stringify(desired.spec);
        const generation = ((before?.metadata.generation as number | undefined) ?? 0) + (changed ? 1 : 0);
        const replicas = (desired.spec as { replicas?: number }).replicas ?? 1;
        stored.metadata.generation = generation;
        stored.status = { observedGeneration: generation, replicas, updatedReplicas: replicas, availableReplicas: replicas };
      }
      group.set(desired.metadata.name, stored);
    }
    for (const [type, group] of this.observed) for (const name of [...group.keys()]) if (!keep.has(`${type}/${name}`)) group.delete(name);
    this.parent = { ...this.parent, status: { ...res.status, observedGeneration: this.parent.metadata.generation ?? 1 } } as VaultApp;
    this.last = res;
  }

  secretValues(): Record<string, string> | undefined {
    const s = this.observed.get('Secret.v1')!.get(`${this.parent.metadata.name}-vault-secrets`);
    const data = s?.data as Record<string, string> | undefined;
    return data && Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

  condition(type: string): string | undefined {
    const c = this.last?.status.conditions?.find((x) => x.type === type);
    return c && (c.status === 'True' ? 'True' : `${c.status}/${c.reason}`);
  }
}

export interface RoundResult {
  syncs: number;
  /** Answers 304 Not Modified (only with etag). */
  notModified: number;
  /** Answer bytes received (bodies only). */
  bytesIn: number;
  errors: number;
  wallMs: number;
  latenciesMs: number[];
  /** Parents not synced because the time budget ran out. */
  skipped: number;
}

/** A keep-alive HTTP client to one hook on loopback. */
export class HookClient {
  readonly agent: Agent;
  constructor(readonly port: number, concurrency: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }

  post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; etag?: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        agent: this.agent, host: '127.0.0.1', port: this.port, method: 'POST', path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(etag ? { etag } : {}) }));
        res.on('error', reject);
      });
      req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void { this.agent.destroy(); }
}

/**
 * One round: every parent synced once, `concurrency` requests in flight. The
 * latency is from sending the request to the last byte of the answer; building the
 * body and applying the answer are outside it.
 */
export async function runRound(client: HookClient, fleet: ParentState[], concurrency: number, opts: { apply: boolean; deadline: number; etag?: boolean }): Promise<RoundResult> {
  const latencies: number[] = [];
  let notModified = 0;
  let bytesIn = 0;
  let next = 0;
  let errors = 0;
  let skipped = 0;
  let firstError: string | undefined;
  const start = performance.now();
  async function worker(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= fleet.length) return;
      // Out of time: the round ends early and says so, rather than failing the run.
      if (Date.now() > opts.deadline) { skipped = fleet.length - i; next = fleet.length; return; }
      const state = fleet[i]!;
      const body = state.body();
      const t0 = performance.now();
      let res: { status: number; text: string; etag?: string };
      try {
        res = await client.post('/sync', body, opts.etag && state.etag ? { 'if-none-match': state.etag.tag } : {});
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        continue;
      }
      latencies.push(performance.now() - t0);
      bytesIn += Buffer.byteLength(res.text);
      if (opts.etag && res.status === 304 && state.etag) {
        notModified++;
        res = { status: 200, text: state.etag.text };
      } else if (opts.etag && res.status === 200 && res.etag) {
        state.etag = { tag: res.etag, text: res.text };
      }
      if (res.status !== 200) {
        errors++;
        firstError ??= `HTTP ${res.status}: ${res.text.slice(0, 300)}`;
        continue;
      }
      if (opts.apply) state.apply(JSON.parse(res.text) as SyncResponse);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - start;
  if (firstError) process.stderr.write(`  (round had ${errors} failed syncs; first: ${firstError})\n`);
  if (skipped) process.stderr.write(`  (round cut short by the time budget: ${skipped} of ${fleet.length} parents not synced)\n`);
  return { syncs: fleet.length - errors - skipped, notModified, bytesIn, errors, wallMs, latenciesMs: latencies, skipped };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
