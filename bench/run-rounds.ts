// The fleet bench's rounds (bench/run.ts): cold, then steady rounds interleaved over the
// approaches, the hook's overhead with Vault excluded (in a process of its own), and the
// large fleet. A phase is one or more rounds of one approach, with everything counted
// around them.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFleet, conditionOf, DriverFleet, HookClient, kvData, type FleetShape, type RoundResult } from './fleet.js';
import type { OverheadResult } from './overhead.js';
import { procCpuMs } from './proc.js';
import { f } from './report.js';
import type { Clock, Meters, Settings, Setup } from './run-setup.js';
import { children, mem, serverFlags, serverScript, startServer, type Mem, type Server } from './servers.js';
import type { ServerConfig } from './shared.js';
import { zeroAudit, type AuditCounts } from './vault-side.js';

export interface Phase {
  label: string;
  syncs: number;
  skipped: number;
  errors: number;
  notModified: number;
  bytesIn: number;
  wallMs: number;
  latencies: number[];
  audit: AuditCounts;
  readerReads: number;
  sharedReads: number;
  logins: number; // the hook's token source, or the seed's own count
  clientVaultRequests: number; // Vault requests as the server's client counted them
  hookCpuMs: number;
  vaultCpuMs: number;
  kubeCpuMs: number;
  driverCpuMs: number;
}

const newPhase = (label: string): Phase => ({
  label,
  syncs: 0,
  skipped: 0,
  errors: 0,
  notModified: 0,
  bytesIn: 0,
  wallMs: 0,
  latencies: [],
  audit: zeroAudit(),
  readerReads: 0,
  sharedReads: 0,
  logins: 0,
  clientVaultRequests: 0,
  hookCpuMs: 0,
  vaultCpuMs: 0,
  kubeCpuMs: 0,
  driverCpuMs: 0,
});

/** One round of `fleet` through `client`, added to `phase`. */
type Measure = (phase: Phase, server: Server, client: HookClient, fleet: DriverFleet, apply: boolean, etag?: boolean) => Promise<RoundResult>;

function measurer(m: Meters, concurrency: number, deadline: number): Measure {
  return async (phase, server, client, fleet, apply, etag = false) => {
    m.audit.take();
    const s0 = await server.stats();
    const v0 = procCpuMs(m.vpid);
    const k0 = procCpuMs(m.kpid);
    const d0 = process.cpuUsage();
    const r = await fleet.runRound(client, concurrency, { apply, deadline, etag });
    const d1 = process.cpuUsage(d0);
    const v1 = procCpuMs(m.vpid);
    const k1 = procCpuMs(m.kpid);
    const s1 = await server.stats();
    const a = m.audit.take();
    phase.syncs += r.syncs;
    phase.errors += r.errors;
    phase.notModified += r.notModified;
    phase.bytesIn += r.bytesIn;
    phase.skipped += r.skipped;
    phase.wallMs += r.wallMs;
    for (const l of r.latenciesMs) phase.latencies.push(l);
    for (const k of Object.keys(a) as (keyof AuditCounts)[]) phase.audit[k] += a[k];
    phase.readerReads += (s1.reader?.reads ?? 0) - (s0.reader?.reads ?? 0);
    phase.sharedReads += (s1.reader?.sharedReads ?? 0) - (s0.reader?.sharedReads ?? 0);
    phase.logins += (s1.tokens?.logins ?? s1.seed?.logins ?? 0) - (s0.tokens?.logins ?? s0.seed?.logins ?? 0);
    phase.clientVaultRequests += (s1.vaultRequests ?? 0) - (s0.vaultRequests ?? 0);
    phase.hookCpuMs += (s1.cpuUserUs + s1.cpuSystemUs - s0.cpuUserUs - s0.cpuSystemUs) / 1000;
    phase.vaultCpuMs += v1 - v0;
    phase.kubeCpuMs += k1 - k0;
    phase.driverCpuMs += (d1.user + d1.system) / 1000;
    return r;
  };
}

export const rate = (p: Phase): number => p.syncs / (p.wallMs / 1000);
export const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** Every parent holds exactly the values written to Vault, and is Ready. */
function check(fleet: DriverFleet): string {
  let ok = 0;
  const bad: string[] = [];
  for (const s of fleet.drivers) {
    const values = s.secretValues();
    const want: Record<string, string> = {};
    for (const e of s.parent.spec.vault.secrets) {
      const i = Number(e.path.slice(-4));
      if (e.targetKey !== undefined) want[e.targetKey] = kvData(i)[e.key]!;
    }
    const good =
      values !== undefined &&
      JSON.stringify(Object.entries(values).sort()) === JSON.stringify(Object.entries(want).sort()) &&
      conditionOf(s, 'Ready') === 'True';
    if (good) ok++;
    else if (bad.length < 3) bad.push(`${s.parent.metadata.name}: Ready=${conditionOf(s, 'Ready')} SecretsSynced=${conditionOf(s, 'SecretsSynced')}`);
  }
  return `${ok}/${fleet.drivers.length} parents Ready=True with exactly the Vault values${bad.length ? ` (e.g. ${bad.join('; ')})` : ''}`;
}

export interface FleetResults {
  cold: { seed: Phase; hook: Phase; hookTok: Phase };
  steady: { bare: Phase; seed: Phase; hook: Phase; hookEtag: Phase; hookTok: Phase };
  correctness: { seed: string; hook: string; hookTok: string };
  rss: { seed: Mem; hook: Mem; hookTok: Mem; bare: Mem };
}

/** Cold rounds, then steady rounds interleaved so that the machine's other load falls on all approaches alike; stops the servers. */
export async function fleetRounds(s: Settings, clock: Clock, setup: Setup): Promise<FleetResults> {
  const measure = measurer(setup.meters, s.concurrency, clock.deadline);
  const { servers, clients, fleets } = setup;
  // --- Cold rounds: no observed children, no cached token or mount.
  const cold = {
    seed: newPhase('seed approach (baseline), cold'),
    hook: newPhase('hook, kubernetes login, cold'),
    hookTok: newPhase('hook, token auth, cold'),
  };
  clock.log('cold round: seed approach');
  await measure(cold.seed, servers.seed, clients.seed, fleets.seed, true);
  clock.log('cold round: hook (kubernetes login)');
  await measure(cold.hook, servers.hook, clients.hook, fleets.hook, true);
  clock.log('cold round: hook (token auth)');
  await measure(cold.hookTok, servers.hookTok, clients.hookTok, fleets.hookTok, true);

  // --- The bare route answers the hook's steady-state answer for one parent, byte for byte.
  const sampleRes = await clients.hook.post('/sync', fleets.hook.drivers[0]!.body());
  if (sampleRes.status !== 200) throw new Error(`the hook answered ${sampleRes.status} for the bare route's sample: ${sampleRes.text.slice(0, 200)}`);
  const bareFile = join(setup.tmp, 'bare.json');
  writeFileSync(bareFile, sampleRes.text);
  const bare = await startServer({ ...setup.base, mode: 'bare', bareBodyFile: bareFile });
  const bareClient = new HookClient(bare.port, s.concurrency);

  const steady = {
    bare: newPhase('bare Fastify route (HTTP ceiling)'),
    seed: newPhase('seed approach (baseline), steady'),
    hook: newPhase('hook, kubernetes login, steady'),
    hookEtag: newPhase('hook, kubernetes login, steady, ETag (If-None-Match)'),
    hookTok: newPhase('hook, token auth, steady'),
  };
  // The ETag rounds' driver keeps the last answer per parent and sends its ETag, as
  // Metacontroller does with `etag.enabled`; the first of them only fills that cache.
  await measure(newPhase('ETag cache fill'), servers.hook, clients.hook, fleets.hook, true, true);
  for (let r = 1; r <= s.rounds; r++) {
    clock.log(`steady round ${r}/${s.rounds}: bare, seed, hook (kubernetes), hook (kubernetes, ETag), hook (token)`);
    await measure(steady.bare, bare, bareClient, fleets.hook, false);
    await measure(steady.seed, servers.seed, clients.seed, fleets.seed, true);
    await measure(steady.hook, servers.hook, clients.hook, fleets.hook, true);
    await measure(steady.hookEtag, servers.hook, clients.hook, fleets.hook, true, true);
    await measure(steady.hookTok, servers.hookTok, clients.hookTok, fleets.hookTok, true);
  }
  const correctness = { seed: check(fleets.seed), hook: check(fleets.hook), hookTok: check(fleets.hookTok) };
  const rss = {
    seed: mem(await servers.seed.stats(true)),
    hook: mem(await servers.hook.stats(true)),
    hookTok: mem(await servers.hookTok.stats(true)),
    bare: mem(await bare.stats(true)),
  };
  for (const c of [...Object.values(clients), bareClient]) c.close();
  await Promise.all([servers.seed.stop(), servers.hook.stop(), servers.hookTok.stop(), bare.stop()]);
  return { cold, steady, correctness, rss };
}

/** bench/overhead.ts in a fresh process with the servers' node flags: request parsing and validation + reconcile() (plan, recorded read, sync) + serialisation. */
export async function measureOverheadInOwnProcess(bodies: string[], setup: Setup): Promise<OverheadResult> {
  const overheadBodiesFile = join(setup.tmp, 'overhead-bodies.json');
  writeFileSync(overheadBodiesFile, JSON.stringify(bodies));
  const entry = await serverScript();
  const cfg = { ...setup.base, mode: 'overhead', recordedFile: setup.recordedFile, overheadBodiesFile } satisfies ServerConfig;
  const env = { ...process.env, BENCH_SERVER: JSON.stringify(cfg) };
  const proc = fork(entry.file, [], { execArgv: [...entry.execArgv, ...serverFlags()], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(proc);
  return new Promise((resolve, reject) => {
    proc.on('message', (m: { type: string; result?: OverheadResult }) => {
      if (m.type === 'overhead') resolve(m.result!);
    });
    proc.once('exit', (code) => {
      children.delete(proc);
      reject(new Error(`the overhead process exited with ${code} before answering`));
    });
  });
}

export interface BigResults {
  cold: Phase;
  steady: Phase;
  recorded: Phase;
  memVault: Mem | undefined;
  memRecorded: Mem;
  sequential: RoundResult | undefined;
  sequentialServerMs: number[];
  check: string;
}

/**
 * The large fleet. The cold round (no observed children yet) runs with a recorded reader,
 * which is quick; the steady round in a fresh hook process against the real Vault when
 * the time budget allows, else with the recorded reader again.
 */
export async function bigRounds(s: Settings, clock: Clock, setup: Setup, steadyHookRate: number): Promise<BigResults> {
  const measure = measurer(setup.meters, s.concurrency, clock.deadline);
  const bigShape: FleetShape = { ...setup.shape, parents: s.big, prefix: 'fleet-svc', seed: 7 };
  const bigFleet = new DriverFleet(buildFleet(bigShape));
  const cold = newPhase(`hook, recorded reader, ${s.big} parents, cold`);
  const steady = newPhase(`hook, kubernetes login, ${s.big} parents, steady`);
  const recorded = newPhase(`hook, recorded reader, ${s.big} parents, steady`);
  const rec = await startServer({ ...setup.base, mode: 'hook-recorded', recordedFile: setup.recordedFile });
  const rc = new HookClient(rec.port, s.concurrency);
  clock.log(`${s.big} parents, recorded reader: cold round`);
  await measure(cold, rec, rc, bigFleet, true);
  // The hook's own latency over real HTTP, Vault excluded: steady-state syncs one at a
  // time (no queueing behind other syncs) against the recorded-reader hook process.
  clock.log('hook overhead over real HTTP: one sync at a time, recorded reader');
  const one = new HookClient(rec.port, 1);
  await bigFleet.runRound(one, 1, { apply: true, deadline: clock.deadline }, bigFleet.drivers.slice(0, 500)); // warm-up
  await rec.timings();
  const sequential = await bigFleet.runRound(one, 1, { apply: true, deadline: clock.deadline }, bigFleet.drivers.slice(500, 3500));
  const sequentialServerMs = await rec.timings();
  one.close();
  const needMs = (s.big / steadyHookRate) * 1000 + 5_000;
  let memVault: Mem | undefined;
  let memRecorded: Mem;
  // The Vault-backed round runs whenever a useful part of it fits; past the budget it stops early and says so.
  if (Date.now() + Math.min(needMs, 60_000) < clock.deadline) {
    memRecorded = mem(await rec.stats(true));
    rc.close();
    await rec.stop();
    const h = await startServer({ ...setup.base, mode: 'hook-k8s' });
    const c = new HookClient(h.port, s.concurrency);
    clock.log(`${s.big} parents against Vault (fresh hook process): steady round`);
    await measure(steady, h, c, bigFleet, true);
    memVault = mem(await h.stats(true));
    c.close();
    await h.stop();
  } else {
    clock.log(`not enough of the time budget left for a Vault-backed ${s.big}-parent round (about ${f(needMs / 1000, 0)} s needed): recorded reader instead`);
    clock.log(`${s.big} parents, recorded reader: steady round`);
    await measure(recorded, rec, rc, bigFleet, true);
    memRecorded = mem(await rec.stats(true));
    rc.close();
    await rec.stop();
  }
  return { cold, steady, recorded, memVault, memRecorded, sequential, sequentialServerMs, check: check(bigFleet) };
}
