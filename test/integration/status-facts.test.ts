// Issue 18, item 7, against a real Vault dev server: with Metacontroller's informer lagging
// its own status write (a sync brought by a child write is sent, with probability 0.9, the
// parent's status of one or two answers before), the status of a VaultApp at rest never
// changes once settled (within a few resyncs), and what it says
// about the data and the login comes from facts. The figures: refresh 120 s, resync
// 60 s (5 status writes in 330 s at rest before), and refresh = resync.
//
// The hook logs in with Kubernetes auth (Vault's JWT method standing in); its clock is a
// fake one, set to the real time at the start and moved by the resyncs Metacontroller
// would make (Vault tokens use real time).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { REFRESH_ANNOTATION } from '../../src/hook/carried-state/refresh-state.js';
import { createVault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writePolicy, type VaultServer } from '../support/vault-server.js';

const ROLE = 'billing-app';
let vault: VaultServer;
let jwtPath: string;
let clockMs = Date.now();
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function kvPut(path: string, data: Record<string, string>): Promise<void> {
  const res = await vault.request('POST', path, { data });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function startHook(t: Parameters<typeof build>[0], refreshSeconds: number, resyncSeconds: number): Promise<FastifyInstance> {
  const v = createVault({
    vault: { address: vault.addr, timeoutMs: 3000 },
    syncDeadlineMs: 6000,
    hmacKey: hookConfig.hmacKey,
    auth: { method: 'kubernetes', mount: 'kubernetes', identity: { model: 'controller', jwtPath, allowedRoles: { default: [ROLE] } } },
  });
  return build(t, v.reader, { resyncSeconds, refreshSeconds }, { now: () => new Date(clockMs) });
}

async function vaultApp(name: string): Promise<VaultApp> {
  await kvPut(`kv/data/${name}/database`, { url: `postgres://db/${name}` });
  await kvPut(`kv/data/${name}/provider`, { key: `${name}-key` });
  const a = loadExample();
  a.metadata = { name, namespace: 'default', uid: `uid-${name}`, generation: 1 };
  a.spec.vault = {
    role: ROLE,
    secrets: [
      { path: `kv/data/${name}/database`, key: 'url', targetKey: 'db_url' },
      { path: `kv/data/${name}/provider`, key: 'key', targetKey: 'provider_key' },
    ],
  };
  return a;
}

/** Metacontroller's loop: settles, then resyncs when the answer asks; the status writes made. */
async function resyncFor(mc: MetacontrollerDriver, seconds: number): Promise<number> {
  const writes = mc.counts.statusWrites;
  const end = clockMs + seconds * 1000;
  while (clockMs < end) {
    clockMs += mc.last!.resyncAfterSeconds! * 1000;
    await mc.settle(40);
  }
  return mc.counts.statusWrites - writes;
}

/** Resyncs until three in a row wrote no status (the last answers' statuses are then one, whichever a sync sees). */
async function untilQuiet(mc: MetacontrollerDriver, max = 6): Promise<void> {
  let quiet = 0;
  for (let n = 1; n <= max && quiet < 3; n++) quiet = (await resyncFor(mc, 1)) === 0 ? quiet + 1 : 0;
  assert.equal(quiet, 3, `the status settled within ${max} resyncs`);
}

const authOf = (mc: MetacontrollerDriver) => {
  const c = mc.parent.status?.conditions?.find((x) => x.type === 'VaultAuthenticated');
  return [c?.status, c?.reason];
};

before(async () => {
  vault = await startVaultServer();
  await enableKv(vault, 'kv', 2);
  await writePolicy(vault, 'apps', 'path "kv/data/*" { capabilities = ["read"] }');
  const signer = await enableJwtAuthAsKubernetes(vault, { role: ROLE, policies: ['apps'], ttl: '1h' });
  jwtPath = join(mkdtempSync(join(tmpdir(), 'vaultapp-status-')), 'jwt');
  writeFileSync(jwtPath, signer.signJwt());
});

after(async () => {
  await vault?.stop();
});

describe('the status at rest, with the parent one or two answers old', () => {
  for (const [refresh, resync, seed] of [
    [120, 60, 3],
    [60, 60, 12],
  ] as const) {
    it(`refresh ${refresh} s, resync ${resync} s: 0 status writes over 10 refresh intervals; Authenticated and the creation time throughout`, async (t) => {
      clockMs = Date.now();
      const created = clockMs;
      const hook = await startHook(t, refresh, resync);
      const mc = new MetacontrollerDriver(hook, await vaultApp(`rest-${refresh}`), undefined, {
        now: () => new Date(clockMs),
        statusLag: { probability: 0.9, seed },
      });
      await mc.settle(40);
      await untilQuiet(mc);
      const writes = await resyncFor(mc, 10 * refresh);
      assert.equal(writes, 0, `${writes} status writes at rest (${mc.laggedSyncs} syncs saw an older status)`);
      assert.ok(mc.laggedSyncs >= 1, 'some sync saw an older status');
      assert.deepStrictEqual(authOf(mc), ['True', 'Authenticated']);
      assert.equal(mc.parent.status!.lastSecretUpdateTime, iso(created));
    });
  }

  it('a value changed in Vault, a forced refresh and a spec change: the status follows the facts, then rests', async (t) => {
    clockMs = Date.now();
    const hook = await startHook(t, 120, 60);
    const app = await vaultApp('changes');
    const mc = new MetacontrollerDriver(hook, app, undefined, { now: () => new Date(clockMs), statusLag: { probability: 0.9, seed: 13 } });
    await mc.settle(40);
    await untilQuiet(mc);

    await kvPut('kv/data/changes/database', { url: 'postgres://db/changes-2' });
    await resyncFor(mc, 120);
    assert.equal(mc.secretValues()!.db_url, 'postgres://db/changes-2');
    const changedAt = mc.parent.status!.lastSecretUpdateTime!;
    assert.ok(Date.parse(changedAt) > Date.parse(iso(Date.now() - 60_000)), 'moved to the read that brought the new data');

    const metadata = mc.parent.metadata as VaultApp['metadata'] & { annotations?: Record<string, string> };
    mc.parent = { ...mc.parent, metadata: { ...metadata, annotations: { [REFRESH_ANNOTATION]: '1' } } as VaultApp['metadata'] };
    await mc.settle(40);
    const secrets = mc.parent.spec.vault.secrets.map((s) => (s.targetKey === 'provider_key' ? { ...s, targetKey: 'provider_api_key' } : s));
    mc.parent = {
      ...mc.parent,
      metadata: { ...mc.parent.metadata, generation: 2 },
      spec: { ...mc.parent.spec, vault: { ...mc.parent.spec.vault, secrets } },
    };
    await mc.settle(40);
    assert.equal(mc.secretValues()!.provider_api_key, 'changes-key');
    const respecced = mc.parent.status!.lastSecretUpdateTime!;
    assert.equal(respecced, iso(clockMs), 'a key renamed is new data');

    await untilQuiet(mc);
    assert.equal(await resyncFor(mc, 10 * 120), 0);
    assert.deepStrictEqual(authOf(mc), ['True', 'Authenticated']);
    assert.equal(mc.parent.status!.lastSecretUpdateTime, respecced);
  });
});
