// The churn bench's fleet: one Metacontroller driver per VaultApp, each starting from
// the request captured from Metacontroller v4.17.2 (another name and uid, its own
// pair of Vault paths), synced over real HTTP through the hook's server process while
// a simulated clock moves the hook's `now` (so an hour of VaultApp-time passes in seconds).
import { capturedRequestFor } from '../test/fixtures/metacontroller.js';
import { MetacontrollerDriver } from '../test/support/metacontroller-driver.js';
import { HookClient } from './fleet.js';
import type { Server } from './servers.js';

/** Distinct pairs of Vault paths: VaultApps i and i + TENANTS share one, rarely at the same moment. */
export const TENANTS = 500;
export const tenantPath = (t: number, leaf: 'database' | 'provider-x'): string => `kv/data/billing/t-${t}/${leaf}`;
export const tenantData = (t: number, version = 1) => ({
  database: { url: `postgres://billing-${t}:pw-${version}@billing-db:5432/billing` },
  'provider-x': { key: `px-key-${t}-${version}` },
});

export interface Fleet {
  server: Server;
  client: HookClient;
  drivers: MetacontrollerDriver[];
  clock: SimClock;
}

/** Simulated time, shared by the drivers (timestamps) and the hook process (its `now`). */
export class SimClock {
  ms = Date.parse('2026-12-01T00:00:00Z');
  /** Start of the current resync interval: cycles follow each other exactly, whatever k did inside one. */
  private cycleStart = this.ms;
  constructor(private readonly server: Server) {}
  nextCycle(resyncS: number): number {
    this.cycleStart += resyncS * 1000;
    return this.cycleStart;
  }
  async set(ms: number): Promise<void> {
    this.ms = ms;
    await this.server.setClock(ms);
  }
  now = (): Date => new Date(this.ms);
}

export function buildChurnFleet(server: Server, n: number, prefix: string, concurrency: number, stepped: boolean): Fleet {
  const client = new HookClient(server.port, concurrency);
  const clock = new SimClock(server);
  const drivers = Array.from({ length: n }, (_, i) => {
    const name = `${prefix}-${String(i).padStart(5, '0')}`;
    const req = capturedRequestFor(name, `7c0ffee0-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const t = i % TENANTS;
    req.parent.spec.vault.secrets = [
      { path: tenantPath(t, 'database'), key: 'url', targetKey: 'db_url' },
      { path: tenantPath(t, 'provider-x'), key: 'key', targetKey: 'provider_x_api_key' },
    ];
    const mc = new MetacontrollerDriver(client.transport, req.parent, undefined, {
      deploymentStatus: stepped ? 'stepped' : 'immediate',
      now: clock.now,
      ownWritesOnly: true,
    });
    mc.observe(req.children);
    return mc;
  });
  return { server, client, drivers, clock };
}

/** fn over every item, `concurrency` at a time; failures counted, not thrown (a bench reports). */
export async function eachConcurrent<T>(items: T[], concurrency: number, fn: (x: T) => Promise<unknown>): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const x = items[next++]!;
      try {
        await fn(x);
      } catch (err) {
        if (failed++ === 0) process.stderr.write(`  (first failure: ${(err as Error).message.slice(0, 200)})\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failed;
}

/**
 * One resync interval of every VaultApp at simulated time `start`: its resync, then k
 * status-driven syncs spread over the interval (a Deployment status change each), every
 * write's own follow-up syncs included (settle).
 */
export async function churnCycle(fleet: Fleet, start: number, resyncS: number, k: number, concurrency: number, only?: MetacontrollerDriver[]): Promise<number> {
  const drivers = only ?? fleet.drivers;
  let failed = 0;
  for (let j = 0; j <= k; j++) {
    await fleet.clock.set(start + Math.floor((j * resyncS * 1000) / (k + 1)));
    failed += await eachConcurrent(drivers, concurrency, async (mc) => {
      if (j > 0) mc.touchDeploymentStatus();
      await mc.settle(20);
    });
  }
  return failed;
}

/** Sum of the drivers' counters. */
export function fleetCounts(drivers: MetacontrollerDriver[]): { syncs: number; notModified: number; writes: number } {
  const out = { syncs: 0, notModified: 0, writes: 0 };
  for (const d of drivers) {
    out.syncs += d.counts.syncs;
    out.notModified += d.counts.notModified;
    out.writes += d.apiWrites;
  }
  return out;
}
