// `npx tsx bench/churn.ts` (also the last part of `npm run bench`): the hook under
// Metacontroller's churn: what a VaultApp costs Vault and the API server per hour. Vault on HTTPS with the audit device and
// its Kubernetes auth doing TokenReviews against a real kube-apiserver (bench/vault-side.ts);
// the hook and the seed's approach (bench/seed-reader.ts) each in a server process of their
// own (bench/servers.ts) whose `now` is a simulated clock; requests in the captured shape
// (test/support/metacontroller-driver.ts). Prints; asserts nothing.
//
// Knobs: BENCH_CHURN_PARENTS (1000), BENCH_CHURN_SEED_PARENTS (100: per VaultApp-hour figures
// do not depend on the fleet's size, and the seed's login per sync is slow), BENCH_CHURN_BIG
// (10000), BENCH_CHURN_REFRESH_S (300), BENCH_CHURN_CYCLES (resync intervals measured per k, 1),
// BENCH_CHURN_PAIRS (k = 5 measured again in turn, hook then seed, 4), BENCH_CHURN_BIG_CYCLES (3),
// BENCH_PROFILE_MEASURED (a directory: CPU profiles of the hook over its k = 5 interval and the big fleet's measured one).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REFRESH_ANNOTATION, STATE_ANNOTATION } from '../src/hook/carried-state/refresh-state.js';
import { startKubeApiServer } from '../test/support/kube-apiserver.js';
import type { MetacontrollerDriver } from '../test/support/metacontroller-driver.js';
import { enableKv, startVaultServer, writeKv, writePolicy } from '../test/support/vault-server.js';
import { buildChurnFleet, churnCycle, eachConcurrent, fleetCounts, TENANTS, tenantData, type Fleet } from './churn-fleet.js';
import { procCpuMs, vaultPid } from './proc.js';
import { f, table } from './report.js';
import { mem, startServer } from './servers.js';
import type { ServerConfig } from './shared.js';
import { AuditCounter, kubeApiServerPid, kubernetesLoginSetup } from './vault-side.js';
import { envNumber as num } from './shared.js';

const PARENTS = num('BENCH_CHURN_PARENTS', 1000);
const SEED_PARENTS = num('BENCH_CHURN_SEED_PARENTS', 100);
const BIG = num('BENCH_CHURN_BIG', 10_000);
const REFRESH_S = num('BENCH_CHURN_REFRESH_S', 300);
const CYCLES = num('BENCH_CHURN_CYCLES', 1);
const PAIRS = num('BENCH_CHURN_PAIRS', 4);
const BIG_CYCLES = num('BENCH_CHURN_BIG_CYCLES', 3);
const RESYNC_S = 60;
const KS = [0, 5, 20];
const CONCURRENCY = 32;
const HOOK_SA = 'system:serviceaccount:vaultapp-system:vaultapp-hook';
const ROLE = 'billing-app';
const t0 = Date.now();
const log = (msg: string): void => {
  process.stderr.write(`[churn ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
};

interface Cost {
  vaultApps: number;
  hours: number;
  syncs: number;
  notModified: number;
  writes: number;
  vaultRequests: number;
  hookMs: number;
  vaultMs: number;
  kubeMs: number;
  wallMs: number;
  failed: number;
}
const perHour = (c: Cost, x: number): number => x / (c.vaultApps * c.hours);
const rate = (c: Cost): number => c.syncs / (c.wallMs / 1000);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const totalCpu = (c: Cost): number => c.hookMs + c.vaultMs + c.kubeMs;

export async function churnReport(): Promise<string[]> {
  const vault = await startVaultServer({ auditLog: true, tls: true });
  const kube = await startKubeApiServer();
  const tmp = mkdtempSync(join(tmpdir(), 'vaultapp-churn-'));
  try {
    const audit = new AuditCounter(join(dirname(vault.logFile), 'audit.log'));
    const vpid = vaultPid();
    const kpid = kubeApiServerPid(new URL(kube.url).port);
    await enableKv(vault, 'kv', 2);
    await writePolicy(vault, 'read-billing', 'path "kv/data/billing/*" { capabilities = ["read"] }');
    await eachConcurrent(
      Array.from({ length: TENANTS }, (_, t) => t),
      25,
      async (t) => {
        for (const [leaf, data] of Object.entries(tenantData(t))) await writeKv(vault, 'kv', 2, `billing/t-${t}/${leaf}`, data);
      },
    );
    const jwtPath = join(tmp, 'token');
    writeFileSync(jwtPath, await kubernetesLoginSetup(vault, kube, { hookSa: HOOK_SA, roles: [ROLE], policy: 'read-billing' }));
    const base: ServerConfig = {
      mode: 'hook-k8s',
      vaultAddr: vault.addr,
      ...(vault.caCert ? { vaultCaCert: vault.caCert } : {}),
      jwtPath,
      allowedRoles: { default: [ROLE] },
      logLevel: 'info',
      hmacKey: 'bench-hmac-key-0123456789abcdef',
      resyncSeconds: RESYNC_S,
      refreshSeconds: REFRESH_S,
      simulatedClock: true,
    };

    /** Cost of `run` on `fleet`: Vault requests from the audit log, CPU of the hook, Vault and API server from /proc. */
    async function measure(fleet: Fleet, drivers: MetacontrollerDriver[], seconds: number, run: () => Promise<number>): Promise<Cost> {
      audit.take();
      const [s0, v0, k0, d0, w0] = [await fleet.server.stats(), procCpuMs(vpid), procCpuMs(kpid), fleetCounts(drivers), performance.now()];
      const c0 = process.cpuUsage();
      const failed = await run();
      const c1 = process.cpuUsage(c0);
      log(`  driver (this process) CPU ${((c1.user + c1.system) / 1000).toFixed(0)} ms`);
      const [wallMs, s1, v1, k1, d1] = [performance.now() - w0, await fleet.server.stats(), procCpuMs(vpid), procCpuMs(kpid), fleetCounts(drivers)];
      return {
        vaultApps: drivers.length,
        hours: seconds / 3600,
        syncs: d1.syncs - d0.syncs,
        notModified: d1.notModified - d0.notModified,
        writes: d1.writes - d0.writes,
        vaultRequests: audit.take().total,
        hookMs: (s1.cpuUserUs + s1.cpuSystemUs - s0.cpuUserUs - s0.cpuSystemUs) / 1000,
        vaultMs: v1 - v0,
        kubeMs: k1 - k0,
        wallMs,
        failed,
      };
    }

    // Settled VaultApps whose last reads are spread over the refresh interval (phase i mod
    // phases), as a fleet created over time has them: any resync interval then holds its share of refreshes.
    const phases = Math.max(1, Math.round(REFRESH_S / RESYNC_S));
    async function warmUp(fleet: Fleet): Promise<void> {
      for (let p = 0; p < phases; p++) {
        await fleet.clock.set(fleet.clock.nextCycle(RESYNC_S));
        await eachConcurrent(
          fleet.drivers.filter((_, i) => i % phases === p),
          CONCURRENCY,
          (mc) => mc.settle(30),
        );
      }
      // One quiet resync for all, so that the measured cycles start from the steady state.
      await churnCycle(fleet, fleet.clock.nextCycle(RESYNC_S), RESYNC_S, 0, CONCURRENCY);
    }
    async function churn(fleet: Fleet, label: string, ks = KS): Promise<Map<number, Cost>> {
      const out = new Map<number, Cost>();
      for (const k of ks) {
        log(`${label}: k = ${k}, ${CYCLES} resync interval(s) of ${fleet.drivers.length} VaultApps`);
        const profiled = process.env.BENCH_PROFILE_MEASURED && label === 'hook' && k === 5;
        if (profiled) await fleet.server.profile(join(process.env.BENCH_PROFILE_MEASURED!, `k5-${Date.now()}.cpuprofile`));
        out.set(
          k,
          await measure(fleet, fleet.drivers, CYCLES * RESYNC_S, async () => {
            let failed = 0;
            for (let c = 0; c < CYCLES; c++) failed += await churnCycle(fleet, fleet.clock.nextCycle(RESYNC_S), RESYNC_S, k, CONCURRENCY);
            return failed;
          }),
        );
        if (profiled) await fleet.server.profile();
      }
      return out;
    }

    log(`hook: ${PARENTS} VaultApps from the captured request, warm-up`);
    const hook = buildChurnFleet(await startServer(base), PARENTS, 'billing-service', CONCURRENCY, true);
    const settleSyncs0 = fleetCounts(hook.drivers).syncs;
    await warmUp(hook);
    const settleSyncs = (fleetCounts(hook.drivers).syncs - settleSyncs0) / PARENTS;
    const hookCosts = await churn(hook, 'hook');
    const propagation = await propagate(hook, vault);

    log(`seed approach: ${SEED_PARENTS} VaultApps, warm-up`);
    const seed = buildChurnFleet(await startServer({ ...base, mode: 'seed' }), SEED_PARENTS, 'seed-svc', CONCURRENCY, true);
    await warmUp(seed);
    const seedCosts = await churn(seed, 'seed approach');
    // The machine's speed drifts by tens of percent over a minute (other tenants of the
    // host): syncs/s of the two approaches measured in turn, pair after pair, each pair's
    // ratio taken, the median reported with the range.
    const rateRatios: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      log(`k = 5 in turn, pair ${i + 1} of ${PAIRS}`);
      const [h, sd] = [await churn(hook, 'hook', [5]), await churn(seed, 'seed approach', [5])];
      rateRatios.push(rate(h.get(5)!) / rate(sd.get(5)!));
    }
    for (const fl of [hook, seed]) {
      fl.client.close();
      await fl.server.stop();
    }

    log(`${BIG} VaultApps, resync ${RESYNC_S} s, refresh ${REFRESH_S} s: fresh hook process, warm-up (Deployments rolled out at once)`);
    const big = buildChurnFleet(await startServer(base), BIG, 'fleet-svc', CONCURRENCY, false);
    await warmUp(big);
    const profileDir = process.env.BENCH_PROFILE_MEASURED;
    const bigCosts: Cost[] = [];
    for (let i = 0; i < BIG_CYCLES; i++) {
      log(`${BIG} VaultApps: resync interval ${i + 1} of ${BIG_CYCLES}`);
      if (profileDir && i === 0) await big.server.profile(join(profileDir, `big-${Date.now()}.cpuprofile`));
      bigCosts.push(await measure(big, big.drivers, RESYNC_S, () => churnCycle(big, big.clock.nextCycle(RESYNC_S), RESYNC_S, 0, CONCURRENCY)));
      if (profileDir && i === 0) await big.server.profile();
    }
    const bigMem = mem(await big.server.stats(true));
    big.client.close();
    await big.server.stop();

    return report({ hookCosts, seedCosts, rateRatios, bigCosts, bigPeakMB: bigMem.peakMB, settleSyncs, propagation });
  } finally {
    await vault.stop();
    await kube.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface Propagation {
  simulatedS: number;
  lastSyncMs: number;
  forcedMs: number;
  forcedOk: boolean;
  kvOk: boolean;
}

/**
 * `vault kv put` (the same KV v2 write over HTTP) just after a VaultApp's read, then its
 * syncs at the times its resyncAfterSeconds asks for, until the Secret holds the new data;
 * then the forced-refresh annotation, with no time passing, and the real time to new data.
 */
async function propagate(fleet: Fleet, vault: Awaited<ReturnType<typeof startVaultServer>>): Promise<Propagation> {
  const mc = fleet.drivers[0]!;
  const t = 0;
  const readAt = (): string => JSON.parse(mc.child('Secret', `${mc.parent.metadata.name}-vault-secrets`)!.metadata.annotations![STATE_ANNOTATION]!).readAt;
  const step = async (): Promise<number> => {
    await fleet.clock.set(fleet.clock.ms + (mc.last?.resyncAfterSeconds ?? RESYNC_S) * 1000);
    const w = performance.now();
    await mc.settle(20);
    return performance.now() - w;
  };
  for (let before = readAt(), i = 0; readAt() === before && i < 20; i++) await step();
  await writeKv(vault, 'kv', 2, `billing/t-${t}/provider-x`, tenantData(t, 2)['provider-x']);
  const written = fleet.clock.ms;
  let lastSyncMs = 0;
  for (let i = 0; i < 40 && mc.secretValues()!.provider_x_api_key !== tenantData(t, 2)['provider-x'].key; i++) lastSyncMs = await step();
  const kvOk = mc.secretValues()!.provider_x_api_key === tenantData(t, 2)['provider-x'].key;
  const simulatedS = (fleet.clock.ms - written) / 1000;

  await writeKv(vault, 'kv', 2, `billing/t-${t}/provider-x`, tenantData(t, 3)['provider-x']);
  const w = performance.now();
  const annotations = { ...(mc.parent.metadata as { annotations?: Record<string, string> }).annotations, [REFRESH_ANNOTATION]: String(fleet.clock.ms) };
  mc.parent = { ...mc.parent, metadata: { ...mc.parent.metadata, annotations } as typeof mc.parent.metadata };
  await mc.settle(20);
  const forcedMs = performance.now() - w;
  return { simulatedS, lastSyncMs, forcedMs, forcedOk: mc.secretValues()!.provider_x_api_key === tenantData(t, 3)['provider-x'].key, kvOk };
}

function report(r: {
  hookCosts: Map<number, Cost>;
  seedCosts: Map<number, Cost>;
  rateRatios: number[];
  bigCosts: Cost[];
  bigPeakMB: number;
  settleSyncs: number;
  propagation: Propagation;
}): string[] {
  const out: string[] = [];
  const p = (s = ''): void => {
    out.push(s);
  };
  const row = (label: string, k: number, c: Cost): string[] => [
    label,
    String(k),
    f(perHour(c, c.syncs), 0),
    `${f((100 * c.notModified) / Math.max(1, c.syncs), 0)}%`,
    f(perHour(c, c.vaultRequests), 1),
    f(perHour(c, c.writes), 1),
    f(perHour(c, c.hookMs), 0),
    f(perHour(c, c.vaultMs), 0),
    f(perHour(c, c.kubeMs), 0),
    f(perHour(c, totalCpu(c)), 0),
    f(c.syncs / (c.wallMs / 1000), 0),
    String(c.failed),
  ];
  p('');
  p("# Churn: Vault and API-server load per VaultApp-hour under Metacontroller's churn");
  p('');
  p(
    `resync ${RESYNC_S} s, refresh interval ${REFRESH_S} s (VAULTAPP_REFRESH_SECONDS), simulated clock; requests in the shape captured from Metacontroller v4.17.2 (~20 KB on the wire);`,
  );
  p(
    `hook: ${r.hookCosts.get(0)!.vaultApps} VaultApps; seed approach: ${r.seedCosts.get(0)!.vaultApps} (per VaultApp-hour figures do not depend on the fleet's size); ${CYCLES} resync interval(s) measured per k,`,
  );
  p(
    `last reads spread over the refresh interval; every write's own follow-up syncs included; a new VaultApp took ${f(r.settleSyncs, 1)} syncs to settle (Deployment status in 3 steps)`,
  );
  p('');
  const head = [
    'approach',
    'k',
    'syncs/VA-h',
    '304',
    'Vault req/VA-h',
    'API writes/VA-h',
    'hook CPU ms/VA-h',
    'Vault CPU ms/VA-h',
    'API server CPU ms/VA-h',
    'total CPU ms/VA-h',
    'syncs/s',
    'failed',
  ];
  p(table(head, [...KS.map((k) => row('hook', k, r.hookCosts.get(k)!)), ...KS.map((k) => row('seed approach', k, r.seedCosts.get(k)!))]));
  p('');
  p(
    "Vault requests from Vault's audit log; CPU from /proc (user + system) of the hook's or seed's server process, Vault and kube-apiserver; API writes as Metacontroller",
  );
  p(
    "would make them (each changed child, each status write). The seed baseline runs through the hook's sync(), so its writes include the refresh state it records on every read.",
  );
  p('');
  const h = (k: number) => perHour(r.hookCosts.get(k)!, r.hookCosts.get(k)!.vaultRequests);
  const cpuRatio = perHour(r.seedCosts.get(5)!, totalCpu(r.seedCosts.get(5)!)) / perHour(r.hookCosts.get(5)!, totalCpu(r.hookCosts.get(5)!));
  const rateRatio = rate(r.hookCosts.get(5)!) / rate(r.seedCosts.get(5)!);
  const ratios = [rateRatio, ...r.rateRatios];
  const writesPerInterval = Math.max(...KS.map((k) => perHour(r.hookCosts.get(k)!, r.hookCosts.get(k)!.writes))) * (REFRESH_S / 3600);
  // The median resync interval by the hook's CPU.
  const bigSorted = [...r.bigCosts].sort((a, b) => a.hookMs - b.hookMs);
  const big = bigSorted[Math.floor((bigSorted.length - 1) / 2)]!;
  const headrooms = bigSorted.map((c) => (RESYNC_S * 1000) / c.hookMs);
  // Headroom: one resync interval of the fleet (resyncs and the syncs their writes bring) against the CPU-time of one core.
  const capacity = big.syncs / (big.hookMs / 1000);
  const headroom = (RESYNC_S * 1000) / big.hookMs;
  const pr = r.propagation;
  const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
  p('## Targets');
  p('');
  p(
    table(
      ['target', 'measured', 'verdict'],
      [
        [
          'hook: Vault requests per VaultApp-hour do not grow with k',
          `${KS.map((k) => `k=${k}: ${f(h(k), 1)}`).join(', ')}`,
          verdict(h(20) <= h(0) * 1.1 + 1 && h(5) <= h(0) * 1.1 + 1),
        ],
        ["k = 5: hook total CPU per VaultApp-hour ≥ 10× less than the seed's", `${f(cpuRatio, 1)}× (hook + Vault + API server)`, verdict(cpuRatio >= 10)],
        [
          'API writes of the refresh state: ≤ 1 per VaultApp per refresh interval',
          `${f(writesPerInterval, 2)} per VaultApp per ${REFRESH_S} s (most churned k)`,
          verdict(writesPerInterval <= 1),
        ],
        [
          'steady-state syncs/s ≥ 10× the seed approach (k = 5)',
          `${f(median(ratios), 1)}× median of ${ratios.length} measured in turn (${f(Math.min(...ratios), 1)}–${f(Math.max(...ratios), 1)}; table: ${f(rate(r.hookCosts.get(5)!), 0)} vs ${f(rate(r.seedCosts.get(5)!), 0)} syncs/s), same 2 cores`,
          verdict(median(ratios) >= 10),
        ],
        [
          `${big.vaultApps} VaultApps, resync ${RESYNC_S} s, refresh ${REFRESH_S} s: ≥ 10× headroom on one core`,
          `${f(headroom, 1)}× median of ${headrooms.length} intervals (${f(Math.min(...headrooms), 1)}–${f(Math.max(...headrooms), 1)}; ${f(big.hookMs / 1000, 1)} hook CPU-s per ${RESYNC_S} s; ${big.syncs} syncs, ${f(capacity, 0)} per CPU-s; ${bigSorted.reduce((n, c) => n + c.failed, 0)} failed)`,
          verdict(headroom >= 10),
        ],
        [`peak RSS < 150 MB with ${big.vaultApps} VaultApps`, `${f(r.bigPeakMB, 0)} MB`, verdict(r.bigPeakMB < 150)],
        [
          'vault kv put → new data ≤ refresh interval + one sync',
          `${f(pr.simulatedS, 0)} s simulated + ${f(pr.lastSyncMs, 0)} ms for the sync${pr.kvOk ? '' : ' (data never arrived)'}`,
          verdict(pr.kvOk && pr.simulatedS <= REFRESH_S),
        ],
        [
          'forced refresh annotation → new data ≤ 2 s',
          `${f(pr.forcedMs, 0)} ms${pr.forcedOk ? '' : ' (data not new)'} (the hook's part: Metacontroller's watch latency excluded)`,
          verdict(pr.forcedOk && pr.forcedMs <= 2000),
        ],
      ],
    ),
  );
  p('');
  p(`churn total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  churnReport().then(
    (lines) => {
      process.stdout.write(`${lines.join('\n')}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`churn bench failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
