// The fleet bench's setup (bench/run.ts): its knobs, its clock, a real Vault dev server
// (KV v2 secrets, a read policy, a login method at auth/kubernetes, one role per
// namespace), optionally a real kube-apiserver for TokenReviews, and the three server
// processes the rounds compare: the seed approach, the hook with Kubernetes logins, the
// hook with a token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startKubeApiServer, type KubeServer } from '../test/support/kube-apiserver.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../test/support/vault-server.js';
import { buildFleet, DriverFleet, HookClient, kvData, kvPath, namespaceOf, roleOf, type FleetShape } from './fleet.js';
import type { VaultApp } from '../src/api/vaultapp-schema.js';
import { vaultPid } from './proc.js';
import { startServer, type Server } from './servers.js';
import type { ServerConfig } from './shared.js';
import { envNumber as num } from './shared.js';
import { AuditCounter, kubeApiServerPid, kubernetesLoginSetup } from './vault-side.js';

/** The knobs (environment), read once. */
export interface Settings {
  parents: number;
  paths: number;
  concurrency: number;
  rounds: number;
  big: number;
  logLevel: string;
  budgetS: number;
  vaultTls: boolean;
  kube: boolean;
  pathsPerParent: number;
  namespaces: number;
  resyncS: number;
  hmacKey: string;
  hookSa: string;
}

export function settingsFromEnv(): Settings {
  return {
    parents: num('BENCH_PARENTS', 1000),
    paths: num('BENCH_PATHS', 300),
    concurrency: num('BENCH_CONCURRENCY', 32),
    rounds: num('BENCH_ROUNDS', 2),
    big: num('BENCH_BIG_PARENTS', 10_000),
    logLevel: process.env.BENCH_LOG ?? 'info',
    budgetS: num('BENCH_BUDGET_S', 285),
    vaultTls: process.env.BENCH_VAULT_TLS !== '0',
    kube: process.env.BENCH_KUBE !== '0',
    pathsPerParent: 3,
    namespaces: 4,
    resyncS: 60,
    hmacKey: 'bench-hmac-key-0123456789abcdef',
    hookSa: 'system:serviceaccount:vaultapp-system:vaultapp-hook',
  };
}

/** The bench's start, its time budget and its progress log (stderr). */
export interface Clock {
  t0: number;
  deadline: number;
  elapsed(): string;
  log(msg: string): void;
}

export function startClock(budgetS: number): Clock {
  const t0 = Date.now();
  const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  // A hard stop well past the budget: nothing may hang the machine's other work.
  setTimeout(
    () => {
      process.stderr.write(`[bench] aborted: still running ${budgetS + 60}s after the start\n`);
      process.exit(2);
    },
    (budgetS + 60) * 1000,
  ).unref();
  return {
    t0,
    deadline: t0 + budgetS * 1000,
    elapsed,
    log: (msg) => {
      process.stderr.write(`[bench ${elapsed()}] ${msg}\n`);
    },
  };
}

/** What the rounds read around each measured round: Vault's audit log and the CPU time of Vault and the API server. */
export interface Meters {
  audit: AuditCounter;
  vpid: number | undefined;
  kpid: number | undefined;
}

type Trio<T> = { seed: T; hook: T; hookTok: T };

export interface Setup {
  vault: VaultServer;
  kube: KubeServer | undefined;
  version: string | undefined;
  loginMethod: string;
  tmp: string;
  recordedFile: string;
  base: Omit<ServerConfig, 'mode'>;
  meters: Meters;
  servers: Trio<Server>;
  shape: FleetShape;
  parents: VaultApp[];
  fleets: Trio<DriverFleet>;
  clients: Trio<HookClient>;
  /** How many parents read each path. */
  sharing: Map<string, number>;
}

async function loginSetup(
  s: Settings,
  vault: VaultServer,
  jwtPath: string,
): Promise<{ kube: KubeServer | undefined; kpid: number | undefined; loginMethod: string }> {
  if (s.kube) {
    const kube = await startKubeApiServer();
    const kpid = kubeApiServerPid(new URL(kube.url).port);
    const roles = Array.from({ length: s.namespaces }, (_, n) => roleOf(n));
    writeFileSync(jwtPath, await kubernetesLoginSetup(vault, kube, { hookSa: s.hookSa, roles, policy: 'read-fleet' }));
    return {
      kube,
      kpid,
      loginMethod: `Vault's Kubernetes auth method, a TokenReview against a real kube-apiserver ${kube.url} for each login (service-account JWT of ${s.hookSa})`,
    };
  }
  const signer = await enableJwtAuthAsKubernetes(vault, { role: roleOf(0), policies: ['read-fleet'], boundSubject: s.hookSa, ttl: '20m' });
  for (let n = 1; n < s.namespaces; n++) {
    const res = await vault.request('POST', `auth/kubernetes/role/${roleOf(n)}`, {
      role_type: 'jwt',
      user_claim: 'sub',
      bound_audiences: ['vault'],
      bound_subject: s.hookSa,
      token_policies: ['read-fleet'],
      token_ttl: '20m',
    });
    if (res.status >= 300) throw new Error(`role ${roleOf(n)}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  writeFileSync(jwtPath, signer.signJwt({ sub: s.hookSa }));
  return {
    kube: undefined,
    kpid: undefined,
    loginMethod: "Vault's JWT auth method mounted at auth/kubernetes, the JWT checked by Vault itself (no TokenReview: BENCH_KUBE=0)",
  };
}

export async function setUp(s: Settings, clock: Clock): Promise<Setup> {
  const vault = await startVaultServer({ auditLog: true, tls: s.vaultTls });
  const audit = new AuditCounter(join(dirname(vault.logFile), 'audit.log'));
  const vpid = vaultPid();
  const version = (await vault.request('GET', 'sys/health')).body?.version as string | undefined;
  await enableKv(vault, 'kv', 2);
  for (let i = 0; i < s.paths; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, s.paths - i) }, (_, j) => writeKv(vault, 'kv', 2, `fleet/app-${String(i + j).padStart(4, '0')}`, kvData(i + j))),
    );
  }
  await writePolicy(vault, 'read-fleet', 'path "kv/data/fleet/*" { capabilities = ["read"] }');
  const tmp = mkdtempSync(join(tmpdir(), 'vaultapp-bench-'));
  process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
  const jwtPath = join(tmp, 'token');
  const { kube, kpid, loginMethod } = await loginSetup(s, vault, jwtPath);
  const created = await vault.request('POST', 'auth/token/create', { policies: ['read-fleet'], ttl: '1h', no_default_policy: false });
  const appToken = created.body?.auth?.client_token as string;
  const recordedFile = join(tmp, 'recorded.json');
  writeFileSync(recordedFile, JSON.stringify(Object.fromEntries(Array.from({ length: s.paths }, (_, i) => [kvPath(i), kvData(i)]))));
  const allowedRoles = Object.fromEntries(Array.from({ length: s.namespaces }, (_, n) => [namespaceOf(n), [roleOf(n)]]));
  clock.log(`Vault ${version ?? '?'} at ${vault.addr} (pid ${vpid ?? '?'}): ${s.paths} KV v2 secrets, ${s.namespaces} roles; logins: ${loginMethod}`);

  const base: Omit<ServerConfig, 'mode'> = {
    vaultAddr: vault.addr,
    ...(vault.caCert ? { vaultCaCert: vault.caCert } : {}),
    jwtPath,
    allowedRoles,
    logLevel: s.logLevel,
    hmacKey: s.hmacKey,
    resyncSeconds: s.resyncS,
  };
  const servers = {
    seed: await startServer({ ...base, mode: 'seed' }),
    hook: await startServer({ ...base, mode: 'hook-k8s' }),
    hookTok: await startServer({ ...base, mode: 'hook-token', vaultToken: appToken }),
  };

  const shape: FleetShape = {
    parents: s.parents,
    distinctPaths: s.paths,
    pathsPerParent: s.pathsPerParent,
    namespaces: s.namespaces,
    prefix: 'billing-service',
    seed: 42,
  };
  const parents = buildFleet(shape);
  const fleets = { seed: new DriverFleet(parents), hook: new DriverFleet(parents), hookTok: new DriverFleet(parents) };
  const clients = {
    seed: new HookClient(servers.seed.port, s.concurrency),
    hook: new HookClient(servers.hook.port, s.concurrency),
    hookTok: new HookClient(servers.hookTok.port, s.concurrency),
  };
  const sharing = new Map<string, number>();
  for (const p of parents) for (const path of new Set(p.spec.vault.secrets.map((e) => e.path))) sharing.set(path, (sharing.get(path) ?? 0) + 1);
  return { vault, kube, version, loginMethod, tmp, recordedFile, base, meters: { audit, vpid, kpid }, servers, shape, parents, fleets, clients, sharing };
}
