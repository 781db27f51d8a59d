// BASELINE — NOT THE HOOK. The seed article's Vault access pattern, reproduced for
// the benchmark only: on every sync a new node-vault client, a Kubernetes login
// (auth/kubernetes/login with the role and the service-account JWT), then one read
// per secret entry, one after another, as the seed's reconcile loop does. No token
// cache, no mount lookup, no de-duplication of paths, no sharing between syncs.
//
// It is plugged into the same Fastify application (buildApp) as the hook, so the
// request parsing, validation, the pure sync() of src/hook/sync.ts that builds the
// answer, the logging and the serialisation are the same code: only the Vault
// access pattern differs.
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import nodeVault from 'node-vault';
import type { VaultApp } from '../src/api/vaultapp-schema.js';
import { problem } from '../src/errors/catalog.js';
import type { PathRead, VaultMaterial } from '../src/hook/contract.js';
import type { ReaderStats, VaultReader } from '../src/vault/reader.js';

export interface SeedReaderOptions {
  address: string;
  caCert?: string;
  mount: string;
  jwtPath: string;
  timeoutMs: number;
}

export interface SeedReader extends VaultReader {
  readonly counts: { logins: number; reads: number; clients: number };
}

interface NodeVaultError {
  response?: { statusCode?: number };
  message?: string;
}

function failed(err: unknown, what: string): string {
  const e = err as NodeVaultError;
  return `${what}: ${e?.response?.statusCode ? `Vault answered ${e.response.statusCode}` : (e?.message ?? String(err))}`;
}

export function createSeedReader(opts: SeedReaderOptions): SeedReader {
  const counts = { logins: 0, reads: 0, clients: 0 };
  const stats: ReaderStats = { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 };
  return {
    counts,
    stats,
    async revoke() {
      return [];
    },
    async material(app: VaultApp): Promise<VaultMaterial> {
      // A new client for every sync, as the seed's reconcile did (vault.NewClient in
      // getVaultClient). Go's client keeps its connection alive within the sync and
      // the next sync's new client opens another: over HTTPS one TLS handshake per
      // sync. The same here: a keep-alive agent per client, closed after the sync.
      const agent = opts.address.startsWith('https:') ? new https.Agent({ keepAlive: true, ...(opts.caCert ? { ca: opts.caCert } : {}) }) : undefined;
      const client = nodeVault({
        apiVersion: 'v1',
        endpoint: opts.address,
        requestOptions: { timeout: opts.timeoutMs, ...(agent ? { httpsAgent: agent } : {}) },
      } as nodeVault.VaultOptions);
      try {
        return await seedSync(client, app);
      } finally {
        agent?.destroy();
      }
    },
  };

  async function seedSync(client: nodeVault.client, app: VaultApp): Promise<VaultMaterial> {
    client.token = '';
    counts.clients++;
    try {
      const jwt = (await readFile(opts.jwtPath, 'utf8')).trim();
      counts.logins++;
      await client.kubernetesLogin({ mount_point: opts.mount, role: app.spec.vault.role, jwt });
    } catch (err) {
      return { auth: { ok: false, problem: problem('VAULT_AUTH_FAILED', failed(err, `login with role ${app.spec.vault.role}`)) }, reads: {} };
    }
    const reads: Record<string, PathRead> = {};
    // One read per entry, in order; an entry that repeats a path reads it again.
    for (const entry of app.spec.vault.secrets) {
      try {
        counts.reads++;
        stats.reads++;
        const res = (await client.read(entry.path)) as { data?: { data?: Record<string, unknown>; metadata?: { version?: number } } };
        const data = res.data?.data;
        reads[entry.path] =
          data && typeof data === 'object'
            ? { ok: true, engine: 'kv2', data, ...(typeof res.data?.metadata?.version === 'number' ? { version: res.data.metadata.version } : {}) }
            : { ok: false, problem: problem('VAULT_UNEXPECTED_RESPONSE', `cannot read path "${entry.path}": expected KV v2 data.data`) };
      } catch (err) {
        reads[entry.path] = { ok: false, problem: problem('VAULT_ERROR', failed(err, `cannot read path "${entry.path}"`)) };
      }
    }
    return { auth: { ok: true }, reads };
  }
}
