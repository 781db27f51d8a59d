// The benchmark's fleet of VaultApps, synced over real HTTP on loopback (node:http,
// keep-alive, a fixed number of requests in flight) by the tests' Metacontroller
// driver (test/support/metacontroller-driver.ts), one per VaultApp: requests in the
// shape Metacontroller sends, answers applied as it applies them, Deployments
// reported rolled out at once.
import { Agent, request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { VaultApp } from '../src/api/vaultapp-schema.js';
import { MetacontrollerDriver, type HookTransport } from '../test/support/metacontroller-driver.js';

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
    app.metadata = {
      name,
      namespace: namespaceOf(ns),
      uid: `6b1f3c2e-${String(shape.seed).padStart(4, '0').slice(-4)}-4000-8000-${String(i).padStart(12, '0')}`,
      generation: 1,
    } as VaultApp['metadata'];
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
  constructor(
    readonly port: number,
    concurrency: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }

  post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; etag?: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          agent: this.agent,
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ...(etag ? { etag } : {}) }));
          res.on('error', reject);
        },
      );
      req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** The driver's way to this hook. */
  readonly transport: HookTransport = async (path, body, headers) => {
    const res = await this.post(path, body, headers);
    return { statusCode: res.status, body: res.text, ...(res.etag ? { etag: res.etag } : {}) };
  };

  close(): void {
    this.agent.destroy();
  }
}

/**
 * A fleet: a driver per parent, all reaching the hook through one link that each
 * round points at a client and that counts what passes.
 */
export class DriverFleet {
  readonly drivers: MetacontrollerDriver[];
  private client?: HookClient;
  /** Whether this round sends the driver's `If-None-Match` (Metacontroller's `etag.enabled`). */
  private etag = false;
  private round = { latenciesMs: [] as number[], bytesIn: 0, notModified: 0 };

  constructor(parents: VaultApp[]) {
    this.drivers = parents.map((p) => new MetacontrollerDriver(this.transport, p));
  }

  // The latency is from sending the request to the last byte of the answer; building
  // the body and applying the answer are outside it.
  private readonly transport: HookTransport = async (path, body, headers) => {
    if (!this.etag) delete headers['if-none-match'];
    const t0 = performance.now();
    const res = await this.client!.transport(path, body, headers);
    this.round.latenciesMs.push(performance.now() - t0);
    this.round.bytesIn += Buffer.byteLength(res.body);
    if (res.statusCode === 304) this.round.notModified++;
    return res;
  };

  /**
   * One round: every parent (or those of `fleet`) synced once, `concurrency` requests in
   * flight. Without `apply` the request is only sent (the bare route's canned answer is no parent's).
   */
  async runRound(
    client: HookClient,
    concurrency: number,
    opts: { apply: boolean; deadline: number; etag?: boolean },
    fleet = this.drivers,
  ): Promise<RoundResult> {
    this.client = client;
    this.etag = opts.etag ?? false;
    this.round = { latenciesMs: [], bytesIn: 0, notModified: 0 };
    let next = 0;
    let errors = 0;
    let skipped = 0;
    let firstError: string | undefined;
    const start = performance.now();
    const sendOnly = async (d: MetacontrollerDriver): Promise<void> => {
      const res = await this.transport('/sync', d.body(), { 'content-type': 'application/json' });
      if (res.statusCode !== 200) throw new Error(`sync answered ${res.statusCode}: ${res.body}`);
    };
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= fleet.length) return;
        // Out of time: the round ends early and says so, rather than failing the run.
        if (Date.now() > opts.deadline) {
          skipped = fleet.length - i;
          next = fleet.length;
          return;
        }
        try {
          await (opts.apply ? fleet[i]!.sync() : sendOnly(fleet[i]!));
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message.slice(0, 300);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wallMs = performance.now() - start;
    if (firstError) process.stderr.write(`  (round had ${errors} failed syncs; first: ${firstError})\n`);
    if (skipped) process.stderr.write(`  (round cut short by the time budget: ${skipped} of ${fleet.length} parents not synced)\n`);
    return { syncs: fleet.length - errors - skipped, errors, wallMs, skipped, ...this.round };
  }
}

/** The status of a condition the hook last answered: 'True', or status/reason. */
export function conditionOf(d: MetacontrollerDriver, type: string): string | undefined {
  const c = d.last?.status.conditions?.find((x) => x.type === type);
  return c && (c.status === 'True' ? 'True' : `${c.status}/${c.reason}`);
}
