// Peak memory of the hook while hostile VaultApps read large Vault secrets together:
// 20 VaultApps, each naming 64 `secrets` paths and 16 `dataFrom` paths
// of 1 MiB each, sync at once against a real Vault dev server, a few rounds, 429s retried
// after Retry-After as Metacontroller does. Each VaultApp logs in with a role of its own,
// so no read is shared between them (sharing would flatter the figure). The hook runs in
// its own process with the production node flags (bench/servers.ts); its peak RSS is
// process.resourceUsage().maxRSS. The target is the chart's memory limit with 30% to spare.
// Prints figures, asserts nothing. `npm run bench` runs it after the hostile bodies; `npx tsx bench/hostile-reads.ts` alone.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VaultApp } from '../src/api/vaultapp-schema.js';
import { request } from '../test/fixtures/requests.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy } from '../test/support/vault-server.js';
import { HookClient, loadBillingExample } from './fleet.js';
import { f, table } from './report.js';
import { mem, startServer } from './servers.js';
import { envNumber } from './shared.js';

const VAULTAPPS = envNumber('BENCH_HOSTILE_READS_APPS', 20);
const ROUNDS = envNumber('BENCH_HOSTILE_READS_ROUNDS', 3);
const SECRETS = 64;
const DATA_FROM = 16;
const VALUE_BYTES = 1024 * 1024;
const HOOK_SA = 'system:serviceaccount:vaultapp-system:vaultapp-hook';
const role = (i: number): string => `hostile-${i}`;
const namespace = (i: number): string => `tenant-${i}`;
const path = (j: number): string => `kv/hostile/p-${String(j).padStart(2, '0')}`;

/** The chart's memory limit in MiB (charts/vaultapp/values.yaml, resources.limits.memory). */
function chartMemoryLimitMiB(): number {
  const values = readFileSync(new URL('../charts/vaultapp/values.yaml', import.meta.url), 'utf8');
  const m = /limits:\s*\{\s*memory:\s*(\d+)Mi\s*\}/.exec(values);
  if (!m) throw new Error('no resources.limits.memory in Mi in charts/vaultapp/values.yaml');
  return Number(m[1]);
}

function hostileApp(i: number): VaultApp {
  const app = loadBillingExample();
  app.metadata = { name: `hostile-${i}`, namespace: namespace(i), uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, generation: 1 };
  app.spec.vault.role = role(i);
  app.spec.vault.secrets = Array.from({ length: SECRETS }, (_, j) => ({ path: path(j), key: 'v', targetKey: `k${j}` }));
  app.spec.vault.dataFrom = Array.from({ length: DATA_FROM }, (_, j) => ({ path: path(SECRETS + j) }));
  return app;
}

/** One sync, retried after Retry-After while the hook answers 429. */
async function syncOnce(client: HookClient, body: string): Promise<{ status: number; reason: string; tries: number }> {
  for (let tries = 1; ; tries++) {
    const res = await client.post('/sync', body);
    if (res.status === 429 && tries < 20) {
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    let reason = '';
    if (res.status === 200) {
      const conditions = (JSON.parse(res.text) as { status?: { conditions?: { type: string; reason: string }[] } }).status?.conditions ?? [];
      reason = conditions.find((c) => c.type === 'SecretsSynced')?.reason ?? '';
    }
    return { status: res.status, reason, tries };
  }
}

export interface HostileReadsResult {
  syncs: number;
  outcomes: Map<string, number>;
  retries: number;
  startMB: number;
  peakMB: number;
  peakHeapTotalMB: number;
  peakExternalMB: number;
  bytesReadPerSync: number;
  limitMiB: number;
}

export async function measureHostileReads(log: (msg: string) => void = () => {}): Promise<HostileReadsResult> {
  const vault = await startVaultServer();
  const tmp = mkdtempSync(join(tmpdir(), 'vaultapp-hostile-reads-'));
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let client: HookClient | undefined;
  try {
    await enableKv(vault, 'kv', 2);
    const value = 'x'.repeat(VALUE_BYTES);
    for (let j = 0; j < SECRETS + DATA_FROM; j += 8)
      await Promise.all(
        Array.from({ length: Math.min(8, SECRETS + DATA_FROM - j) }, (_, k) =>
          writeKv(vault, 'kv', 2, `hostile/p-${String(j + k).padStart(2, '0')}`, { v: value }),
        ),
      );
    await writePolicy(vault, 'read-hostile', 'path "kv/data/hostile/*" { capabilities = ["read"] }');
    const signer = await enableJwtAuthAsKubernetes(vault, { role: role(0), policies: ['read-hostile'], boundSubject: HOOK_SA, ttl: '20m' });
    for (let i = 1; i < VAULTAPPS; i++) {
      const res = await vault.request('POST', `auth/kubernetes/role/${role(i)}`, {
        role_type: 'jwt',
        user_claim: 'sub',
        bound_audiences: ['vault'],
        bound_subject: HOOK_SA,
        token_policies: ['read-hostile'],
        token_ttl: '20m',
      });
      if (res.status >= 300) throw new Error(`role ${role(i)}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const jwtPath = join(tmp, 'token');
    writeFileSync(jwtPath, signer.signJwt({ sub: HOOK_SA }));
    log(`Vault ${vault.addr}: ${SECRETS + DATA_FROM} KV v2 paths of ${VALUE_BYTES} bytes, ${VAULTAPPS} roles`);

    server = await startServer({
      mode: 'hook-k8s',
      vaultAddr: vault.addr,
      jwtPath,
      allowedRoles: Object.fromEntries(Array.from({ length: VAULTAPPS }, (_, i) => [namespace(i), [role(i)]])),
      logLevel: 'warn',
      hmacKey: 'bench-hmac-key-0123456789abcdef',
      resyncSeconds: 60,
    });
    client = new HookClient(server.port, VAULTAPPS);
    const bodies = Array.from({ length: VAULTAPPS }, (_, i) => JSON.stringify(request(hostileApp(i))));
    const outcomes = new Map<string, number>();
    let retries = 0;
    for (let r = 1; r <= ROUNDS; r++) {
      log(`hostile reads: round ${r}/${ROUNDS}, ${VAULTAPPS} syncs at once`);
      const results = await Promise.all(bodies.map((b) => syncOnce(client!, b)));
      for (const x of results) {
        const key = x.status === 200 ? x.reason || '(no SecretsSynced condition)' : `HTTP ${x.status}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        retries += x.tries - 1;
      }
    }
    const stats = await server.stats(true);
    const m = mem(stats);
    const syncs = VAULTAPPS * ROUNDS;
    return {
      syncs,
      outcomes,
      retries,
      startMB: m.startMB,
      peakMB: m.peakMB,
      peakHeapTotalMB: m.peakHeapTotalMB,
      peakExternalMB: m.peakExternalMB,
      bytesReadPerSync: (stats.reader?.bytesRead ?? Number.NaN) / syncs,
      limitMiB: chartMemoryLimitMiB(),
    };
  } finally {
    client?.close();
    await server?.stop();
    await vault.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function hostileReadsReport(log?: (msg: string) => void): Promise<string[]> {
  const r = await measureHostileReads(log);
  // RSS is in MB of 2^20 bytes (bench/servers.ts mem), as the limit's Mi.
  const target = 0.7 * r.limitMiB;
  const outcomes = [...r.outcomes].map(([k, n]) => `${n}× ${k}`).join(', ');
  return [
    `## Hostile reads: ${VAULTAPPS} VaultApps of ${SECRETS} secrets + ${DATA_FROM} dataFrom paths of 1 MiB each, syncing together`,
    '',
    table(
      ['target', 'measured', 'verdict'],
      [
        [
          `peak RSS of the hook < 0.7 × the chart's memory limit (${r.limitMiB} Mi) = ${f(target, 0)} MiB`,
          `${f(r.peakMB, 0)} MiB (${f(r.startMB, 0)} when listening; V8 heap at most ${f(r.peakHeapTotalMB, 0)}, external at most ${f(r.peakExternalMB, 0)})`,
          r.peakMB < target ? 'MET' : 'NOT MET',
        ],
      ],
    ),
    '',
    `${r.syncs} syncs in ${ROUNDS} rounds of ${VAULTAPPS} at once: ${outcomes}; ${r.retries} retries after 429; Vault answer bytes read per sync ${f(r.bytesReadPerSync / 2 ** 20, 2)} MiB of the ${f(((SECRETS + DATA_FROM) * VALUE_BYTES) / 2 ** 20, 0)} MiB the spec names.`,
    "Real Vault dev server (plain HTTP, loopback), one role and token per VaultApp (no read shared), the hook in its own process with the Dockerfile's node flags.",
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const lines = await hostileReadsReport((msg) => process.stderr.write(`[hostile-reads] ${msg}\n`));
  process.stdout.write(`\n${lines.join('\n')}\n`);
  process.exit(0);
}
