// `npx tsx bench/refresh-churn.ts` (and the last part of `npm run bench`): Vault's load under
// Metacontroller's churn. Each VaultApp is synced by its resync (60 s) and by k syncs in
// between, as a child's status change brings them (a rollout step, a pod becoming ready);
// simulated time lets a quarter of an hour of VaultApp-time pass in seconds. Vault runs
// as a cluster has it (HTTPS, the audit device); requests are counted from its audit log,
// its CPU from /proc. The hook and the seed's approach (a new client and a login on
// every sync, one read per entry: bench/seed-reader.ts) run in this process through
// app.inject and the test suite's Metacontroller driver, so "hook process" CPU includes
// the driver's work: the figures compare, they do not size a pod.
//
// Knobs: BENCH_CHURN_PARENTS (100), BENCH_CHURN_SEED_PARENTS (20: the seed's login per
// sync is slow), BENCH_CHURN_MINUTES (15 simulated minutes), BENCH_CHURN_REFRESH_S (300).
// Prints; asserts nothing. Not measured here (issue 11): API-server CPU (Vault's JWT
// method stands in for TokenReview), the 10,000-VaultApp headroom, propagation times.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../src/api/vaultapp-schema.js';
import { buildApp } from '../src/http/app.js';
import type { VaultReader } from '../src/vault/reader.js';
import { createVault } from '../src/vault/index.js';
import { MetacontrollerDriver } from '../test/support/metacontroller-driver.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../test/support/vault-server.js';
import { buildFleet, kvData, kvPath } from './fleet.js';
import { procCpuMs, vaultPid } from './proc.js';
import { createSeedReader } from './seed-reader.js';

const num = (name: string, def: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
const PARENTS = num('BENCH_CHURN_PARENTS', 100);
const SEED_PARENTS = num('BENCH_CHURN_SEED_PARENTS', 20);
const MINUTES = num('BENCH_CHURN_MINUTES', 15);
const REFRESH_S = num('BENCH_CHURN_REFRESH_S', 300);
const RESYNC_S = 60;
const PATHS = 60;
const HMAC_KEY = 'bench-hmac-key-0123456789abcdef';
const SA = 'system:serviceaccount:team-0:default';
const T0 = Date.parse('2026-11-27T12:00:00Z');

interface Result { approach: string; k: number; parents: number; syncs: number; vaultRequests: number; vaultCpuMs: number; processCpuMs: number; apiWrites: number }

/** Vault requests so far, from the audit log (one "request" entry each). */
async function auditedRequests(vault: VaultServer): Promise<number> {
  return (await vault.auditEntries()).filter((e: { type?: string }) => e.type === 'request').length;
}

async function setup(): Promise<{ vault: VaultServer; jwtPath: string; token: string }> {
  const vault = await startVaultServer({ tls: true, auditLog: true });
  await enableKv(vault, 'kv', 2);
  for (let i = 0; i < PATHS; i++) await writeKv(vault, 'kv', 2, kvPath(i).replace('kv/data/', ''), kvData(i));
  await writePolicy(vault, 'read-fleet', 'path "kv/data/fleet/*" { capabilities = ["read"] }\npath "sys/internal/ui/mounts/*" { capabilities = ["read"] }');
  const signer = await enableJwtAuthAsKubernetes(vault, { role: 'fleet', policies: ['read-fleet'], boundSubject: SA, ttl: '2h' });
  const dir = mkdtempSync(join(tmpdir(), 'vaultapp-churn-'));
  const jwtPath = join(dir, 'token');
  writeFileSync(jwtPath, signer.signJwt({ sub: SA }));
  // The hook with a policy-scoped token, as a Kubernetes login would give it (not the root token: Vault reads cheaper with it).
  const created = await vault.request('POST', 'auth/token/create', { policies: ['read-fleet'], ttl: '4h' });
  return { vault, jwtPath, token: created.body.auth.client_token as string };
}

function fleet(n: number): VaultApp[] {
  return buildFleet({ parents: n, distinctPaths: PATHS, pathsPerParent: 3, namespaces: 1, prefix: 'churn', seed: 7 }).map((a) => {
    a.spec.vault.role = 'fleet';
    a.spec.vault.refreshInterval = `${REFRESH_S}s`;
    return a;
  });
}

/** Every VaultApp through MINUTES of simulated time: a resync a minute and k churn syncs between. */
async function run(approach: string, app: FastifyInstance, clock: { now: number }, parents: VaultApp[], k: number, vault: VaultServer): Promise<Result> {
  const drivers = parents.map((p) => new MetacontrollerDriver(app, p));
  clock.now = T0;
  for (const d of drivers) await d.sync(); // the first sync creates the children: not churn, not counted
  const before = { audit: await auditedRequests(vault), vault: procCpuMs(vaultPid()), cpu: process.cpuUsage() };
  let syncs = 0;
  let apiWrites = 0;
  for (let minute = 0; minute < MINUTES; minute++) {
    for (let j = 0; j <= k; j++) {
      clock.now = T0 + (minute * RESYNC_S + (j * RESYNC_S) / (k + 1)) * 1000 + 1000;
      for (const d of drivers) {
        const status = JSON.stringify(d.parent.status);
        await d.sync();
        syncs++;
        apiWrites += (d.changed ? 1 : 0) + (JSON.stringify(d.parent.status) !== status ? 1 : 0);
      }
    }
  }
  const cpu = process.cpuUsage(before.cpu);
  return {
    approach, k, parents: parents.length, syncs,
    vaultRequests: (await auditedRequests(vault)) - before.audit,
    vaultCpuMs: procCpuMs(vaultPid()) - before.vault,
    processCpuMs: (cpu.user + cpu.system) / 1000,
    apiWrites,
  };
}

const perAppHour = (r: Result, v: number): number => (v / r.parents) * (60 / MINUTES);

export async function churnReport(): Promise<string[]> {
  const { vault, jwtPath, token } = await setup();
  const clock = { now: T0 };
  const config = { hmacKey: HMAC_KEY, resyncSeconds: RESYNC_S, errorBackoffMinSeconds: 5, logLevel: 'silent', bodyLimit: 8 * 2 ** 20 };
  const results: Result[] = [];
  try {
    for (const k of [0, 5, 20]) {
      // A fresh hook per k: its token cache and mount cache start cold, as after a restart.
      const v = createVault({ vault: { address: vault.addr, ...(vault.caCert ? { caCert: vault.caCert } : {}), timeoutMs: 5000 }, auth: { method: 'token', token }, syncDeadlineMs: 7000, hmacKey: HMAC_KEY });
      const hook = await buildApp({ config, reader: v.reader, logger: false, now: () => new Date(clock.now) });
      results.push(await run('hook', hook, clock, fleet(PARENTS), k, vault));
      await hook.close();
    }
    for (const k of [0, 5]) {
      const reader: VaultReader = createSeedReader({ address: vault.addr, ...(vault.caCert ? { caCert: vault.caCert } : {}), mount: 'kubernetes', jwtPath, timeoutMs: 5000 });
      const seed = await buildApp({ config, reader, logger: false, now: () => new Date(clock.now) });
      results.push(await run('seed approach', seed, clock, fleet(SEED_PARENTS), k, vault));
      await seed.close();
    }
  } finally {
    await vault.stop();
  }
  const rows = results.map((r) => {
    const total = perAppHour(r, r.vaultCpuMs + r.processCpuMs);
    return [r.approach, String(r.k), String(r.parents), String(r.syncs), perAppHour(r, r.vaultRequests).toFixed(1), perAppHour(r, r.vaultCpuMs).toFixed(0),
      perAppHour(r, r.processCpuMs).toFixed(0), total.toFixed(0), perAppHour(r, r.apiWrites).toFixed(1)];
  });
  const hook = (k: number) => results.find((r) => r.approach === 'hook' && r.k === k)!;
  const seed5 = results.find((r) => r.approach === 'seed approach' && r.k === 5)!;
  const cpu = (r: Result) => perAppHour(r, r.vaultCpuMs + r.processCpuMs);
  const req = (r: Result) => perAppHour(r, r.vaultRequests);
  const flat = Math.max(req(hook(0)), req(hook(5)), req(hook(20))) <= req(hook(0)) * 1.1 + 1;
  const ratio = cpu(seed5) / cpu(hook(5));
  return [
    `## Churn (${MINUTES} simulated minutes, resync ${RESYNC_S}s, refresh ${REFRESH_S}s, 3 KV v2 paths per VaultApp over 4 entries; Vault on TLS with the audit device)`,
    '',
    '| approach | k | VaultApps | syncs | Vault requests / VaultApp-hour | Vault CPU ms / VaultApp-hour | process CPU ms / VaultApp-hour | total CPU ms / VaultApp-hour | API writes / VaultApp-hour |',
    '|--|--|--|--|--|--|--|--|--|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    `- the hook's Vault requests per VaultApp-hour do not grow with k: ${req(hook(0)).toFixed(1)} / ${req(hook(5)).toFixed(1)} / ${req(hook(20)).toFixed(1)} (k = 0 / 5 / 20): ${flat ? 'MET' : 'NOT MET'}`,
    `- at k = 5 the hook costs ≥ 10× less total CPU per VaultApp-hour than the seed approach: ${ratio.toFixed(1)}×: ${ratio >= 10 ? 'MET' : 'NOT MET'} (process CPU includes the in-process driver for both)`,
    `- API writes per VaultApp-hour in steady state: at most one per refresh interval (${(3600 / REFRESH_S).toFixed(0)}/h): hook ${perAppHour(hook(5), hook(5).apiWrites).toFixed(1)}/h at k = 5: ${perAppHour(hook(5), hook(5).apiWrites) <= 3600 / REFRESH_S + 0.5 ? 'MET' : 'NOT MET'}`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  churnReport().then((lines) => { console.log(lines.join('\n')); process.exit(0); }, (err) => { console.error(err); process.exit(1); });
}
