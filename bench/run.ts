// `npm run bench`: the hook against a real Vault dev server on loopback, a fleet of
// VaultApps synced through real HTTP at a fixed concurrency, next to the seed's
// Vault access pattern and a bare Fastify route (the HTTP ceiling). Prints figures;
// asserts nothing about timings. Ratios, not absolute times, are the result.
//
// Knobs (environment): BENCH_PARENTS (1000), BENCH_PATHS (300), BENCH_CONCURRENCY (32),
// BENCH_ROUNDS (steady rounds, 2), BENCH_BIG_PARENTS (10000), BENCH_LOG (info),
// BENCH_BUDGET_S (285: rounds stop early, and say so, past it), BENCH_PROFILE (a directory: CPU profiles of the servers),
// BENCH_SERVER_FLAGS (node flags for the server processes, e.g. "--max-semi-space-size=4"), VAULTAPP_VAULT_BIN (a vault binary; else scripts/ensure-vault.sh),
// BENCH_VAULT_TLS (1: Vault on HTTPS, -dev-tls; 0: plain HTTP), BENCH_KUBE (1: Vault's Kubernetes auth method doing a
// TokenReview against a real kube-apiserver for each login, as in a cluster; 0: Vault's JWT method checking the token itself).
//
// Why TLS and TokenReview by default: they are what a login costs in a cluster, and the
// seed's approach pays them on every sync (a new client is a new TLS connection, a login
// a TokenReview); on plain HTTP with a locally checked JWT its cost would be understated.
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startKubeApiServer, type KubeServer } from '../test/support/kube-apiserver.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../test/support/vault-server.js';
import { buildFleet, conditionOf, DriverFleet, HookClient, kvData, kvPath, namespaceOf, roleOf, type FleetShape, type RoundResult } from './fleet.js';
import { hostileBodiesReport } from './hostile-bodies.js';
import { hostileReadsReport } from './hostile-reads.js';
import { templateStallReport } from './templates.js';
import type { OverheadResult } from './overhead.js';
import { procCpuMs, vaultPid } from './proc.js';
import { f, percentile, table } from './report.js';
import { children, mem, serverEntry, serverFlags, serverScript, startServer, type Mem, type Server } from './servers.js';
import type { ServerConfig } from './shared.js';
import { AuditCounter, kubeApiServerPid, kubernetesLoginSetup, zeroAudit, type AuditCounts } from './vault-side.js';
import { envNumber as num } from './shared.js';

const PARENTS = num('BENCH_PARENTS', 1000);
const PATHS = num('BENCH_PATHS', 300);
const CONCURRENCY = num('BENCH_CONCURRENCY', 32);
const ROUNDS = num('BENCH_ROUNDS', 2);
const BIG = num('BENCH_BIG_PARENTS', 10_000);
const LOG_LEVEL = process.env.BENCH_LOG ?? 'info';
const BUDGET_S = num('BENCH_BUDGET_S', 285);
const VAULT_TLS = process.env.BENCH_VAULT_TLS !== '0';
const KUBE = process.env.BENCH_KUBE !== '0';
const PATHS_PER_PARENT = 3;
const NAMESPACES = 4;
const RESYNC_S = 60;
const HMAC_KEY = 'bench-hmac-key-0123456789abcdef';
const HOOK_SA = 'system:serviceaccount:vaultapp-system:vaultapp-hook';

const t0 = Date.now();
const deadline = t0 + BUDGET_S * 1000;
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
const log = (msg: string): void => {
  process.stderr.write(`[bench ${elapsed()}] ${msg}\n`);
};
// A hard stop well past the budget: nothing may hang the machine's other work.
setTimeout(
  () => {
    process.stderr.write(`[bench] aborted: still running ${BUDGET_S + 60}s after the start\n`);
    process.exit(2);
  },
  (BUDGET_S + 60) * 1000,
).unref();

/** bench/overhead.ts in a fresh process with the servers' node flags. */
async function measureOverheadInOwnProcess(bodies: string[], recordedFile: string, tmp: string, base: Omit<ServerConfig, 'mode'>): Promise<OverheadResult> {
  const overheadBodiesFile = join(tmp, 'overhead-bodies.json');
  writeFileSync(overheadBodiesFile, JSON.stringify(bodies));
  const entry = await serverScript();
  const env = { ...process.env, BENCH_SERVER: JSON.stringify({ ...base, mode: 'overhead', recordedFile, overheadBodiesFile } satisfies ServerConfig) };
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

// ---------------------------------------------------------------------------
// Phases: one or more rounds of one approach, with everything counted around them.
interface Phase {
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

let audit: AuditCounter;
let vpid: number | undefined;
let kube: KubeServer | undefined;
let kpid: number | undefined;

async function measure(phase: Phase, server: Server, client: HookClient, fleet: DriverFleet, apply: boolean, etag = false): Promise<RoundResult> {
  audit.take();
  const s0 = await server.stats();
  const v0 = procCpuMs(vpid);
  const k0 = procCpuMs(kpid);
  const d0 = process.cpuUsage();
  const r = await fleet.runRound(client, CONCURRENCY, { apply, deadline, etag });
  const d1 = process.cpuUsage(d0);
  const v1 = procCpuMs(vpid);
  const k1 = procCpuMs(kpid);
  const s1 = await server.stats();
  const a = audit.take();
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
}

const rate = (p: Phase): number => p.syncs / (p.wallMs / 1000);
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

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

// ---------------------------------------------------------------------------
async function main(): Promise<void> {
  const load0 = loadavg();
  log(
    `starting: ${PARENTS} parents, ${PATHS} paths, concurrency ${CONCURRENCY}, ${ROUNDS} steady rounds, ${BIG} parents for the large round, log level ${LOG_LEVEL}, budget ${BUDGET_S}s`,
  );

  // --- Vault: KV v2 secrets, a read policy, a login method at auth/kubernetes, one role per namespace.
  const vault: VaultServer = await startVaultServer({ auditLog: true, tls: VAULT_TLS });
  audit = new AuditCounter(join(dirname(vault.logFile), 'audit.log'));
  vpid = vaultPid();
  const version = (await vault.request('GET', 'sys/health')).body?.version as string | undefined;
  await enableKv(vault, 'kv', 2);
  for (let i = 0; i < PATHS; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, PATHS - i) }, (_, j) => writeKv(vault, 'kv', 2, `fleet/app-${String(i + j).padStart(4, '0')}`, kvData(i + j))),
    );
  }
  await writePolicy(vault, 'read-fleet', 'path "kv/data/fleet/*" { capabilities = ["read"] }');
  const tmp = mkdtempSync(join(tmpdir(), 'vaultapp-bench-'));
  process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
  const jwtPath = join(tmp, 'token');
  let loginMethod: string;
  if (KUBE) {
    kube = await startKubeApiServer();
    kpid = kubeApiServerPid(new URL(kube.url).port);
    writeFileSync(
      jwtPath,
      await kubernetesLoginSetup(vault, kube, { hookSa: HOOK_SA, roles: Array.from({ length: NAMESPACES }, (_, n) => roleOf(n)), policy: 'read-fleet' }),
    );
    loginMethod = `Vault's Kubernetes auth method, a TokenReview against a real kube-apiserver ${kube.url} for each login (service-account JWT of ${HOOK_SA})`;
  } else {
    const signer = await enableJwtAuthAsKubernetes(vault, { role: roleOf(0), policies: ['read-fleet'], boundSubject: HOOK_SA, ttl: '20m' });
    for (let n = 1; n < NAMESPACES; n++) {
      const res = await vault.request('POST', `auth/kubernetes/role/${roleOf(n)}`, {
        role_type: 'jwt',
        user_claim: 'sub',
        bound_audiences: ['vault'],
        bound_subject: HOOK_SA,
        token_policies: ['read-fleet'],
        token_ttl: '20m',
      });
      if (res.status >= 300) throw new Error(`role ${roleOf(n)}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    writeFileSync(jwtPath, signer.signJwt({ sub: HOOK_SA }));
    loginMethod = "Vault's JWT auth method mounted at auth/kubernetes, the JWT checked by Vault itself (no TokenReview: BENCH_KUBE=0)";
  }
  const created = await vault.request('POST', 'auth/token/create', { policies: ['read-fleet'], ttl: '1h', no_default_policy: false });
  const appToken = created.body?.auth?.client_token as string;
  const recordedFile = join(tmp, 'recorded.json');
  writeFileSync(recordedFile, JSON.stringify(Object.fromEntries(Array.from({ length: PATHS }, (_, i) => [kvPath(i), kvData(i)]))));
  const allowedRoles = Object.fromEntries(Array.from({ length: NAMESPACES }, (_, n) => [namespaceOf(n), [roleOf(n)]]));
  log(`Vault ${version ?? '?'} at ${vault.addr} (pid ${vpid ?? '?'}): ${PATHS} KV v2 secrets, ${NAMESPACES} roles; logins: ${loginMethod}`);

  const base: Omit<ServerConfig, 'mode'> = {
    vaultAddr: vault.addr,
    ...(vault.caCert ? { vaultCaCert: vault.caCert } : {}),
    jwtPath,
    allowedRoles,
    logLevel: LOG_LEVEL,
    hmacKey: HMAC_KEY,
    resyncSeconds: RESYNC_S,
  };
  const seed = await startServer({ ...base, mode: 'seed' });
  const hook = await startServer({ ...base, mode: 'hook-k8s' });
  const hookTok = await startServer({ ...base, mode: 'hook-token', vaultToken: appToken });

  const shape: FleetShape = {
    parents: PARENTS,
    distinctPaths: PATHS,
    pathsPerParent: PATHS_PER_PARENT,
    namespaces: NAMESPACES,
    prefix: 'billing-service',
    seed: 42,
  };
  const parents = buildFleet(shape);
  const fleets = { seed: new DriverFleet(parents), hook: new DriverFleet(parents), hookTok: new DriverFleet(parents) };
  const clients = {
    seed: new HookClient(seed.port, CONCURRENCY),
    hook: new HookClient(hook.port, CONCURRENCY),
    hookTok: new HookClient(hookTok.port, CONCURRENCY),
  };
  const sharing = new Map<string, number>();
  for (const p of parents) for (const path of new Set(p.spec.vault.secrets.map((s) => s.path))) sharing.set(path, (sharing.get(path) ?? 0) + 1);

  // --- Cold rounds: no observed children, no cached token or mount.
  const cold = {
    seed: newPhase('seed approach (baseline), cold'),
    hook: newPhase('hook, kubernetes login, cold'),
    hookTok: newPhase('hook, token auth, cold'),
  };
  log('cold round: seed approach');
  await measure(cold.seed, seed, clients.seed, fleets.seed, true);
  log('cold round: hook (kubernetes login)');
  await measure(cold.hook, hook, clients.hook, fleets.hook, true);
  log('cold round: hook (token auth)');
  await measure(cold.hookTok, hookTok, clients.hookTok, fleets.hookTok, true);

  // --- The bare route answers the hook's steady-state answer for one parent, byte for byte.
  const sampleRes = await clients.hook.post('/sync', fleets.hook.drivers[0]!.body());
  if (sampleRes.status !== 200) throw new Error(`the hook answered ${sampleRes.status} for the bare route's sample: ${sampleRes.text.slice(0, 200)}`);
  const bareFile = join(tmp, 'bare.json');
  writeFileSync(bareFile, sampleRes.text);
  const bare = await startServer({ ...base, mode: 'bare', bareBodyFile: bareFile });
  const bareClient = new HookClient(bare.port, CONCURRENCY);

  // --- Steady rounds, interleaved so that the machine's other load falls on all approaches alike.
  const steady = {
    bare: newPhase('bare Fastify route (HTTP ceiling)'),
    seed: newPhase('seed approach (baseline), steady'),
    hook: newPhase('hook, kubernetes login, steady'),
    hookEtag: newPhase('hook, kubernetes login, steady, ETag (If-None-Match)'),
    hookTok: newPhase('hook, token auth, steady'),
  };
  // The ETag rounds' driver keeps the last answer per parent and sends its ETag, as
  // Metacontroller does with `etag.enabled`; the first of them only fills that cache.
  await measure(newPhase('ETag cache fill'), hook, clients.hook, fleets.hook, true, true);
  for (let r = 1; r <= ROUNDS; r++) {
    log(`steady round ${r}/${ROUNDS}: bare, seed, hook (kubernetes), hook (kubernetes, ETag), hook (token)`);
    await measure(steady.bare, bare, bareClient, fleets.hook, false);
    await measure(steady.seed, seed, clients.seed, fleets.seed, true);
    await measure(steady.hook, hook, clients.hook, fleets.hook, true);
    await measure(steady.hookEtag, hook, clients.hook, fleets.hook, true, true);
    await measure(steady.hookTok, hookTok, clients.hookTok, fleets.hookTok, true);
  }
  const correctness = { seed: check(fleets.seed), hook: check(fleets.hook), hookTok: check(fleets.hookTok) };
  const rss = {
    seed: mem(await seed.stats(true)),
    hook: mem(await hook.stats(true)),
    hookTok: mem(await hookTok.stats(true)),
    bare: mem(await bare.stats(true)),
  };
  for (const c of [...Object.values(clients), bareClient]) c.close();
  await Promise.all([seed.stop(), hook.stop(), hookTok.stop(), bare.stop()]);

  // --- Hook overhead with Vault excluded: request parsing and validation + plan + pure sync() + serialisation.
  log('hook overhead: pure pipeline and app.inject with a recorded reader');
  const overhead = await measureOverheadInOwnProcess(
    fleets.hook.drivers.map((d) => d.body()),
    recordedFile,
    tmp,
    base,
  );

  // --- BIG parents. The cold round (no observed children yet) runs with a recorded reader,
  // which is quick; the steady round in a fresh hook process against the real Vault when
  // the time budget allows, else with the recorded reader again.
  const bigShape: FleetShape = { ...shape, parents: BIG, prefix: 'fleet-svc', seed: 7 };
  const bigFleet = new DriverFleet(buildFleet(bigShape));
  const big = {
    cold: newPhase(`hook, recorded reader, ${BIG} parents, cold`),
    steady: newPhase(`hook, kubernetes login, ${BIG} parents, steady`),
    recorded: newPhase(`hook, recorded reader, ${BIG} parents, steady`),
  };
  let memBigVault: Mem | undefined;
  let memBigRecorded: Mem;
  let sequential: RoundResult | undefined;
  let sequentialServerMs: number[] = [];
  let bigCheck: string;
  {
    const rec = await startServer({ ...base, mode: 'hook-recorded', recordedFile });
    const rc = new HookClient(rec.port, CONCURRENCY);
    log(`${BIG} parents, recorded reader: cold round`);
    await measure(big.cold, rec, rc, bigFleet, true);
    // The hook's own latency over real HTTP, Vault excluded: steady-state syncs one at a
    // time (no queueing behind other syncs) against the recorded-reader hook process.
    log('hook overhead over real HTTP: one sync at a time, recorded reader');
    const one = new HookClient(rec.port, 1);
    await bigFleet.runRound(one, 1, { apply: true, deadline }, bigFleet.drivers.slice(0, 500)); // warm-up
    await rec.timings();
    sequential = await bigFleet.runRound(one, 1, { apply: true, deadline }, bigFleet.drivers.slice(500, 3500));
    sequentialServerMs = await rec.timings();
    one.close();
    const needMs = (BIG / rate(steady.hook)) * 1000 + 5_000;
    // The Vault-backed round runs whenever a useful part of it fits; past the budget it stops early and says so.
    if (Date.now() + Math.min(needMs, 60_000) < deadline) {
      memBigRecorded = mem(await rec.stats(true));
      rc.close();
      await rec.stop();
      const h = await startServer({ ...base, mode: 'hook-k8s' });
      const c = new HookClient(h.port, CONCURRENCY);
      log(`${BIG} parents against Vault (fresh hook process): steady round`);
      await measure(big.steady, h, c, bigFleet, true);
      memBigVault = mem(await h.stats(true));
      c.close();
      await h.stop();
    } else {
      log(`not enough of the time budget left for a Vault-backed ${BIG}-parent round (about ${f(needMs / 1000, 0)} s needed): recorded reader instead`);
      log(`${BIG} parents, recorded reader: steady round`);
      await measure(big.recorded, rec, rc, bigFleet, true);
      memBigRecorded = mem(await rec.stats(true));
      rc.close();
      await rec.stop();
    }
    bigCheck = check(bigFleet);
  }
  const load1 = loadavg();
  await vault.stop();
  await kube?.stop();

  // ---------------------------------------------------------------------------
  // Output
  const out: string[] = [];
  const p = (s = ''): void => {
    out.push(s);
  };
  const seedRate = rate(steady.seed);
  const seedColdRate = rate(cold.seed);
  p('');
  p('# VaultApp hook benchmark');
  p('');
  p(`code measured: ${codeVersion()}`);
  p(
    `node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), Vault ${version ?? '?'} dev server on loopback (${VAULT_TLS ? 'HTTPS, -dev-tls' : 'plain HTTP'}) with a file audit device`,
  );
  p(`logins: ${loginMethod}`);
  p(
    `load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')} — other work shares these cores; compare ratios, not absolute times`,
  );
  p(
    `fleet: ${PARENTS} VaultApps from examples/billing-service.yaml (distinct names/uids, ${NAMESPACES} namespaces, one Vault role each), ${PATHS_PER_PARENT} distinct KV v2 paths per parent out of ${PATHS} written to Vault`,
  );
  p(
    `       (${PATHS_PER_PARENT + 1} secret entries per parent: the first path gives two keys; each path shared by ${Math.min(...sharing.values())}–${Math.max(...sharing.values())} parents)`,
  );
  p(
    `driver: real HTTP on loopback (node:http keep-alive), ${CONCURRENCY} syncs in flight, the tests' Metacontroller driver per VaultApp (requests as Metacontroller v4.17.2 sends them, answers applied as it applies them)`,
  );
  p(
    `servers: each in its own process, ${serverEntry?.how}, node flags "${serverFlags().join(' ')}" (${process.env.BENCH_SERVER_FLAGS !== undefined ? 'BENCH_SERVER_FLAGS' : "the Dockerfile's CMD"}); hook logging at "${LOG_LEVEL}" (redaction and scrubbing as deployed) to /dev/null; resyncAfterSeconds ${RESYNC_S}`,
  );
  p(
    `rounds: 1 cold round per approach, then ${ROUNDS} steady rounds, interleaved (bare, seed, hook k8s, hook token in each), so that the machine's other load falls on all alike`,
  );
  p('');
  p(`## Fleet of ${PARENTS} (steady state unless marked cold)`);
  p('');
  const row = (ph: Phase, vsSeed: number | undefined): string[] => {
    const l = sorted(ph.latencies);
    return [
      ph.label,
      f(rate(ph), 0),
      f(percentile(l, 50), 2),
      f(percentile(l, 99), 2),
      f(ph.audit.total / ph.syncs, 2),
      f((ph.audit.logins / ph.syncs) * 1000, 1),
      vsSeed === undefined ? '—' : `${f(rate(ph) / vsSeed, 2)}×`,
    ];
  };
  p(
    table(
      ['approach', 'syncs/s', 'p50 ms', 'p99 ms', 'Vault req/sync', 'logins/1000 syncs', 'ratio vs seed'],
      [
        row(steady.bare, seedRate),
        row(steady.seed, seedRate),
        row(steady.hook, seedRate),
        row(steady.hookEtag, seedRate),
        row(steady.hookTok, seedRate),
        row(cold.seed, seedColdRate),
        row(cold.hook, seedColdRate),
        row(cold.hookTok, seedColdRate),
      ],
    ),
  );
  const cut = [steady.bare, steady.seed, steady.hook, steady.hookEtag, steady.hookTok, cold.seed, cold.hook, cold.hookTok].filter((ph) => ph.skipped > 0);
  if (cut.length) p(`NOTE: cut short by the time budget: ${cut.map((ph) => `${ph.label} (${ph.skipped} parents not synced)`).join('; ')}`);
  p('');
  p('Vault requests come from Vault\'s audit log (request entries); "ratio vs seed" compares steady with steady and cold with cold.');
  p('');
  const memCell = (m: Mem | undefined): string => (m ? `${f(m.startMB, 0)} / ${f(m.peakMB, 0)} / ${f(m.retainedMB, 0)}` : '—');
  const detail = (ph: Phase, m: Mem | undefined): string[] => [
    ph.label,
    String(ph.syncs),
    String(ph.errors),
    f(ph.audit.kvReads / ph.syncs, 2),
    f(ph.readerReads / ph.syncs, 2),
    String(ph.sharedReads),
    String(ph.audit.mounts),
    String(ph.audit.logins),
    String(ph.logins),
    f(ph.clientVaultRequests / ph.syncs, 2),
    f(ph.hookCpuMs / ph.syncs, 3),
    f(ph.vaultCpuMs / ph.syncs, 3),
    f(ph.kubeCpuMs / ph.syncs, 3),
    f(ph.driverCpuMs / ph.syncs, 3),
    memCell(m),
  ];
  p(
    table(
      [
        'approach',
        'syncs',
        'failed',
        'KV reads/sync (audit)',
        'reads/sync (reader stats)',
        'shared reads',
        'mount lookups',
        'logins (audit)',
        'logins (client)',
        'Vault req/sync (client)',
        'server CPU ms/sync',
        'Vault CPU ms/sync',
        'API server CPU ms/sync',
        'driver CPU ms/sync',
        'RSS start / peak / heap kept, MB',
      ],
      [
        detail(steady.bare, rss.bare),
        detail(steady.seed, rss.seed),
        detail(steady.hook, rss.hook),
        detail(steady.hookEtag, undefined),
        detail(steady.hookTok, rss.hookTok),
        detail(cold.seed, undefined),
        detail(cold.hook, undefined),
        detail(cold.hookTok, undefined),
      ],
    ),
  );
  p('');
  p(
    '"server CPU" is the server process\'s own user+system time (the bare route, the seed baseline or the hook); "Vault CPU" is the Vault process\'s, "API server CPU" the kube-apiserver\'s (TokenReviews), from /proc;',
  );
  p('"driver CPU" is this process\'s (building requests, HTTP client, applying answers). All three share the same 2 cores with the machine\'s other work.');
  p(
    "RSS: when listening / process.resourceUsage().maxRSS over the server process's whole life (cold and steady rounds) / heap used after a full GC at the end.",
  );
  p(`correctness after the last round: seed ${correctness.seed}; hook (kubernetes) ${correctness.hook}; hook (token) ${correctness.hookTok}`);
  p('');
  p("## ETag (Metacontroller's webhook etag)");
  p('');
  const etagRow = (ph: Phase): string[] => [
    ph.label,
    String(ph.syncs),
    `${f((100 * ph.notModified) / Math.max(1, ph.syncs), 1)}%`,
    f(ph.bytesIn / Math.max(1, ph.syncs), 0),
    f(ph.hookCpuMs / ph.syncs, 3),
    f(ph.driverCpuMs / ph.syncs, 3),
    f(rate(ph), 0),
  ];
  p(
    table(
      ['steady rounds', 'syncs', 'answered 304', 'answer bytes/sync', 'hook CPU ms/sync', 'driver CPU ms/sync', 'syncs/s'],
      [etagRow(steady.hook), etagRow(steady.hookEtag)],
    ),
  );
  p('');
  p(
    'The hook still reads Vault and computes the answer to know whether it changed; a 304 saves sending the answer and Metacontroller\'s parsing of it ("driver CPU" stands in for Metacontroller).',
  );
  p('');
  const usDist = (ms: number[]) => {
    const l = sorted(ms.map((x) => x * 1000));
    return { p50: percentile(l, 50), p99: percentile(l, 99), mean: l.reduce((a, b) => a + b, 0) / l.length };
  };
  const seqDist = sequential && sequential.latenciesMs.length > 0 ? usDist(sequential.latenciesMs) : undefined;
  const seqServer = sequentialServerMs.length > 0 ? usDist(sequentialServerMs) : undefined;
  p('## Hook overhead, Vault time excluded');
  p('');
  p(
    table(
      [`what (per sync, ${overhead.samples} samples over the fleet's steady-state requests)`, 'p50 µs', 'p99 µs', 'mean µs'],
      [
        [
          'JSON.parse + hook request schema (ajv) + VaultApp validation + plan + sync() + JSON.stringify',
          f(overhead.pipeline.p50, 0),
          f(overhead.pipeline.p99, 0),
          f(overhead.pipeline.mean, 0),
        ],
        [
          `  the same, only the ${overhead.undisturbed.n} samples the scheduler did not interrupt (no other process ran meanwhile)`,
          f(overhead.undisturbed.p50, 0),
          f(overhead.undisturbed.p99, 0),
          f(overhead.undisturbed.mean, 0),
        ],
        ['  of which the pure sync() call', f(overhead.syncOnly.p50, 0), f(overhead.syncOnly.p99, 0), f(overhead.syncOnly.mean, 0)],
        ['  of which the VaultApp validation (validateVaultApp)', f(overhead.validation.p50, 0), f(overhead.validation.p99, 0), f(overhead.validation.mean, 0)],
        [
          "whole Fastify app via app.inject, recorded reader (adds routing, Fastify's parser and validation, logging, light-my-request)",
          f(overhead.inject.p50, 0),
          f(overhead.inject.p99, 0),
          f(overhead.inject.mean, 0),
        ],
        ...(seqServer
          ? [
              [
                `the hook process over real HTTP on loopback, one sync at a time, recorded reader: server side, request received → answer sent (${sequentialServerMs.length} steady syncs of the ${BIG}-parent fleet)`,
                f(seqServer.p50, 0),
                f(seqServer.p99, 0),
                f(seqServer.mean, 0),
              ],
            ]
          : []),
        ...(seqDist
          ? [['  the same seen by the driver (adds its HTTP client, loopback and its own GC)', f(seqDist.p50, 0), f(seqDist.p99, 0), f(seqDist.mean, 0)]]
          : []),
      ],
    ),
  );
  p('');
  p('The pipeline and app.inject rows run in a process of their own (bench/overhead.ts) with the production node flags.');
  p('');
  p(`## ${BIG} VaultApps`);
  p('');
  const needed = BIG / RESYNC_S;
  // Capacity per CPU-second of the hook from the 10,000-parent round against Vault when it ran (the target's fleet), else from the 1,000-parent steady rounds.
  const capacityPhase = memBigVault && big.steady.syncs > 0 ? big.steady : steady.hook;
  const singleCore = capacityPhase.syncs / (capacityPhase.hookCpuMs / 1000);
  const singleCoreSmall = steady.hook.syncs / (steady.hook.hookCpuMs / 1000);
  const wall = rate(steady.hook);
  const pipelineCeiling = 1e6 / overhead.pipeline.mean;
  const bigRow = (ph: Phase, m: Mem): string[] => [
    ...row(ph, undefined).slice(0, 6),
    `${ph.syncs}${ph.skipped ? ` (${ph.skipped} cut)` : ''}`,
    f(ph.hookCpuMs / ph.syncs, 3),
    memCell(m),
  ];
  const bigRows: string[][] = [bigRow(big.cold, memBigRecorded)];
  if (memBigVault) bigRows.push(bigRow(big.steady, memBigVault));
  else bigRows.push(bigRow(big.recorded, memBigRecorded));
  p(
    table(
      [
        'round',
        'syncs/s',
        'p50 ms',
        'p99 ms',
        'Vault req/sync',
        'logins/1000 syncs',
        'syncs',
        'hook CPU ms/sync',
        'hook process RSS start / peak / heap kept, MB',
      ],
      bigRows,
    ),
  );
  p('');
  p(
    memBigVault
      ? `the cold round ran with a recorded reader (to build the observed children quickly), the steady round in a fresh hook process against the real Vault (its few logins are that process's first, one per role)${big.steady.skipped ? ` — cut short by the time budget after ${big.steady.syncs} syncs` : ''}; ${bigCheck}`
      : `both rounds ran with a recorded reader (no time left in the budget for a Vault-backed round); ${bigCheck}`,
  );
  p('');
  p(`projection: ${BIG} parents at a ${RESYNC_S} s resync need ${f(needed, 1)} syncs/s`);
  p(
    `  single-core steady-state capacity of the hook (steady syncs per CPU-second of the hook process, real Vault, real HTTP), ${capacityPhase.label}: ${f(singleCore, 0)} syncs/s → headroom ${f(singleCore / needed, 1)}×`,
  );
  p(`  the same from the ${PARENTS}-parent steady rounds: ${f(singleCoreSmall, 0)} syncs/s → headroom ${f(singleCoreSmall / needed, 1)}×`);
  p(
    `  end-to-end wall clock on this shared 2-core machine (hook + Vault + driver on the same cores):                    ${f(wall, 0)} syncs/s → headroom ${f(wall / needed, 1)}×`,
  );
  p(
    `  pure pipeline ceiling (1 / mean of the overhead above, no HTTP, no Vault):                                        ${f(pipelineCeiling, 0)} syncs/s → headroom ${f(pipelineCeiling / needed, 1)}×`,
  );
  p('');
  p('## Targets (issue 6)');
  p('');
  const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
  const steadyLoginsAudit = (steady.hook.audit.logins / steady.hook.syncs) * 1000;
  const steadyLoginsClient = (steady.hook.logins / steady.hook.syncs) * 1000;
  const readsPerSync = steady.hook.audit.kvReads / steady.hook.syncs;
  const readerPerSync = steady.hook.readerReads / steady.hook.syncs;
  const ratio = rate(steady.hook) / seedRate;
  const ownCpuRatio = steady.seed.hookCpuMs / steady.seed.syncs / (steady.hook.hookCpuMs / steady.hook.syncs);
  const peakBig = memBigVault ?? memBigRecorded;
  p(
    table(
      ['target', 'measured', 'verdict'],
      [
        [
          '0 logins per 1,000 steady-state syncs',
          `${f(steadyLoginsAudit, 1)} (audit log), ${f(steadyLoginsClient, 1)} (token source) over ${steady.hook.syncs} syncs`,
          verdict(steady.hook.audit.logins === 0 && steady.hook.logins === 0),
        ],
        [
          `reads per sync = distinct paths (${PATHS_PER_PARENT})`,
          `${f(readsPerSync, 2)} KV reads/sync (audit), ${f(readerPerSync, 2)} (reader stats); seed: ${f(steady.seed.audit.kvReads / steady.seed.syncs, 2)}`,
          verdict(readsPerSync <= PATHS_PER_PARENT + 1e-9 && readsPerSync > 0 && steady.hook.errors === 0),
        ],
        [
          "≥ 5× the seed approach's syncs/s",
          `${f(ratio, 2)}× (${f(rate(steady.hook), 0)} vs ${f(seedRate, 0)} syncs/s, steady, hook, Vault and API server on the same cores); for context, per CPU-second of each approach's own process (Vault and API server on other machines): ${f(ownCpuRatio, 2)}×`,
          `${verdict(ratio >= 5)} (syncs/s on this machine)`,
        ],
        [
          'hook overhead p99 ≤ 2 ms',
          `${seqServer ? `${f(seqServer.p99 / 1000, 3)} ms in the hook process over real HTTP, one sync at a time (${f(seqDist!.p99 / 1000, 3)} ms seen by the driver); ` : ''}${f(overhead.pipeline.p99 / 1000, 3)} ms pipeline (${f(overhead.undisturbed.p99 / 1000, 3)} ms uninterrupted samples); through app.inject ${f(overhead.inject.p99 / 1000, 3)} ms`,
          `${verdict((seqServer?.p99 ?? overhead.pipeline.p99) <= 2000)}${seqServer ? ' (hook process, real HTTP)' : ' (pipeline)'}`,
        ],
        [
          `${BIG} VaultApps at ${RESYNC_S} s resync with ≥ 10× headroom`,
          `${f(singleCore / needed, 1)}× single-core (${f(singleCore, 0)} syncs/s); ${f(wall / needed, 1)}× end-to-end wall clock`,
          `${verdict(singleCore / needed >= 10)} (single-core), ${verdict(wall / needed >= 10)} (wall clock)`,
        ],
        [
          `peak RSS < 150 MB with ${BIG} parents`,
          `${f(peakBig.peakMB, 0)} MB (${memBigVault ? 'Vault-backed' : 'recorded-reader'} hook process; ${f(peakBig.startMB, 0)} MB when listening; V8 heap at most ${f(peakBig.peakHeapTotalMB, 0)} MB, external at most ${f(peakBig.peakExternalMB, 0)} MB; ${f(peakBig.retainedMB, 0)} MB heap kept after GC)`,
          verdict(peakBig.peakMB < 150),
        ],
      ],
    ),
  );
  p('');
  for (const line of await hostileBodiesReport()) p(line);
  p('');
  log('hostile reads: 20 VaultApps reading 1 MiB values together (peak RSS of a hook process)');
  for (const line of await hostileReadsReport(log)) p(line);
  p('');
  for (const line of await templateStallReport()) p(line);
  p('');
  p(`total ${elapsed()}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The commit, and whether src/ had uncommitted changes (others edit it concurrently). */
function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim());
    return `commit ${head}${dirty.length ? `, plus uncommitted changes in src/ (${dirty.map((l) => l.slice(3)).join(', ')})` : ', src/ clean'}`;
  } catch {
    return 'unknown (no git)';
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
