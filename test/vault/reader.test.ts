// Response shapes and read sharing, against recorded Vault answers (shapes as
// Vault documents them); the same paths run against a real Vault in test/integration.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { VaultRequestError, type VaultHttp, type VaultResponse } from '../../src/vault/http.js';
import { allowedRolesGate } from '../../src/vault/index.js';
import { identityOf } from '../../src/hook/children/workload.js';
import { createVaultReader } from '../../src/vault/reader.js';
import { staticTokenSource } from '../../src/vault/token-source.js';
import { createTokenSealer } from '../../src/vault/token-seal.js';

const sealer = createTokenSealer('test-hmac-key-0123456789');
import { loadExample } from '../fixtures/requests.js';

const mounts: Record<string, VaultResponse> = {
  kv: { data: { path: 'kv/', type: 'kv', options: { version: '2' } } },
  kv1: { data: { path: 'kv1/', type: 'kv', options: { version: '1' } } },
  database: { data: { path: 'database/', type: 'database', options: null } },
};

function recorded(answers: Record<string, VaultResponse | VaultRequestError>, delayMs = 0) {
  const reads: string[] = [];
  let leases = 0;
  const http: VaultHttp = {
    write: async () => ({}),
    health: async () => ({ status: 200 }),
    async read(path) {
      reads.push(path);
      await new Promise((r) => setTimeout(r, delayMs));
      if (path.startsWith('sys/internal/ui/mounts/')) {
        const m = mounts[path.slice('sys/internal/ui/mounts/'.length).split('/')[0]!];
        if (!m) throw new VaultRequestError('http', 403, ['permission denied'], 'denied');
        return m;
      }
      if (path.startsWith('database/creds/'))
        return { lease_id: `${path}/lease-${++leases}`, lease_duration: 60, renewable: true, data: { username: `u${leases}`, password: `p${leases}` } };
      const a = answers[path];
      if (!a) throw new VaultRequestError('http', 404, [], 'not found');
      if (a instanceof VaultRequestError) throw a;
      return a;
    },
  };
  return { http, reads };
}

function app(name: string, paths: string[]): VaultApp {
  const a = loadExample();
  a.metadata.name = name;
  a.metadata.uid = `${name}-uid`;
  a.spec.vault.secrets = paths.map((path, i) => ({ path, key: 'k', targetKey: `t${i}` }));
  return a;
}

describe('createVaultReader', () => {
  it('understands KV v2, KV v1 and leased answers', async () => {
    const { http } = recorded({
      'kv/data/a': { data: { data: { k: 'v2' }, metadata: { version: 7 } } },
      'kv1/b': { data: { k: 'v1' }, lease_duration: 2764800, lease_id: '' },
    });
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 1000, sealer });
    const m = await reader.material(app('x', ['kv/data/a', 'kv1/b', 'database/creds/r']));
    assert.deepStrictEqual(m.reads['kv/data/a'], { ok: true, engine: 'kv2', data: { k: 'v2' }, version: 7 });
    assert.deepStrictEqual(m.reads['kv1/b'], { ok: true, engine: 'kv1', data: { k: 'v1' } });
    assert.deepStrictEqual(m.reads['database/creds/r'], {
      ok: true,
      engine: 'leased',
      data: { username: 'u1', password: 'p1' },
      lease: { id: 'database/creds/r/lease-1', durationSeconds: 60, renewable: true },
    });
  });

  it('a deleted KV v2 version, a 403 and a 503 become problems that name the path', async () => {
    const { http } = recorded({
      'kv/data/deleted': { data: { data: null, metadata: { version: 3, deletion_time: '2026-11-01T00:00:00Z' } } },
      'kv/data/denied': new VaultRequestError('http', 403, ['permission denied'], 'x'),
      'kv/data/sealed': new VaultRequestError('http', 503, ['Vault is sealed'], 'x'),
    });
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 1000, sealer });
    const m = await reader.material(app('x', ['kv/data/deleted', 'kv/data/denied', 'kv/data/sealed']));
    assert.deepStrictEqual(m.reads['kv/data/deleted'], {
      ok: false,
      problem: { code: 'VAULT_PATH_NOT_FOUND', message: 'cannot read path "kv/data/deleted": the current version is deleted' },
    });
    assert.deepStrictEqual(m.reads['kv/data/denied'], {
      ok: false,
      problem: { code: 'VAULT_PERMISSION_DENIED', message: 'cannot read path "kv/data/denied": permission denied (403)' },
    });
    assert.deepStrictEqual(m.reads['kv/data/sealed'], {
      ok: false,
      problem: { code: 'VAULT_SEALED', message: 'cannot read path "kv/data/sealed": Vault is sealed or unavailable (503)' },
    });
  });

  it('without access to the mount lookup, a KV v2 answer is still recognised', async () => {
    const { http } = recorded({ 'secret/data/a': { data: { data: { k: 'v' }, metadata: { version: 1 } } } });
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 1000, sealer });
    const m = await reader.material(app('x', ['secret/data/a']));
    assert.deepStrictEqual(m.reads['secret/data/a'], { ok: true, engine: 'kv2', data: { k: 'v' }, version: 1 });
  });

  it('concurrent syncs share one read of a KV path, but never of a leasing path', async () => {
    const { http, reads } = recorded({ 'kv/data/shared': { data: { data: { k: 'v' }, metadata: { version: 1 } } } }, 20);
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 1000, sealer });
    const results = await Promise.all([1, 2, 3].map((i) => reader.material(app(`a${i}`, ['kv/data/shared', 'database/creds/r']))));
    assert.equal(reads.filter((p) => p === 'kv/data/shared').length, 1);
    assert.equal(reads.filter((p) => p === 'database/creds/r').length, 3);
    const users = results.map((m) => (m.reads['database/creds/r'] as unknown as { data: { username: string } }).data.username);
    assert.equal(new Set(users).size, 3, 'each VaultApp gets its own credential');
    assert.equal(reader.stats.sharedReads, 2);
  });

  it('an answer later than the deadline is reported as unreachable, by path', async () => {
    const { http } = recorded({ 'kv/data/slow': { data: { data: { k: 'v' }, metadata: { version: 1 } } } }, 200);
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 50, sealer });
    const m = await reader.material(app('x', ['kv/data/slow']));
    assert.equal(m.reads['kv/data/slow']!.ok, false);
    assert.match(
      (m.reads['kv/data/slow'] as { problem: { message: string } }).problem.message,
      /cannot read path "kv\/data\/slow": Vault is unreachable \(no answer within 50 ms\)/,
    );
  });

  it('a role outside the allowed-roles list is refused before any Vault request', async () => {
    const { http, reads } = recorded({});
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 1000, sealer, authorize: allowedRolesGate({ default: ['other-app'] }) });
    const m = await reader.material(app('x', ['kv/data/a']));
    assert.deepStrictEqual(m, {
      auth: {
        ok: false,
        problem: {
          code: 'ROLE_NOT_ALLOWED',
          message: "namespace default may not use Vault role billing-app: it is not in the hook's allowed-roles list for that namespace",
        },
      },
      reads: {},
    });
    assert.deepStrictEqual(reads, []);
  });

  it('a VaultApp is identified by its namespace, its pods\' service account (default "default") and its role', () => {
    const a = loadExample();
    assert.deepStrictEqual(identityOf(a), { namespace: 'default', serviceAccount: 'default', role: 'billing-app' });
    a.spec.deploymentSpec!.template.spec!.serviceAccountName = 'billing';
    assert.equal(identityOf(a).serviceAccount, 'billing');
  });
});
