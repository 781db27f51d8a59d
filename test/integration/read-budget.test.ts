// One VaultApp's reads stop at what its Secret may hold, against a real
// Vault dev server holding values of 1 MiB: the hook reads a little more than the budget,
// not everything the spec names, says so by path and VaultApp without a value, says the
// same at the next sync, and a VaultApp whose data fits still gets its Secret.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

const MiB = 1024 * 1024;
// src/vault/read-budget.ts READ_BUDGET_BYTES, spelled out: the figure users read in the condition.
const BUDGET = MiB + 512 * 1024;
const BIG = 8;

let vault: VaultServer;
let hookVault: Vault;
let hook: FastifyInstance;

before(async (t) => {
  vault = await startVaultServer();
  await enableKv(vault, 'kv', 2);
  // Each value distinct: nothing of a value may show up in a condition.
  for (let i = 0; i < BIG; i++) await writeKv(vault, 'kv', 2, `big/p-${i}`, { v: `VALUE${i}-`.repeat(MiB / 8).slice(0, MiB) });
  await writeKv(vault, 'kv', 2, 'fits/cert', { pem: 'c'.repeat(900 * 1024) });
  await writeKv(vault, 'kv', 2, 'fits/small', { key: 'k1' });
  hookVault = createVault({
    vault: { address: vault.addr, timeoutMs: 20_000 },
    auth: { method: 'token', token: vault.token },
    syncDeadlineMs: 30_000,
    hmacKey: hookConfig.hmacKey,
  });
  hook = await build(t, hookVault.reader, {}, { now: wallClock });
});

after(async () => {
  await vault?.stop();
});

function appWith(name: string, secrets: VaultApp['spec']['vault']['secrets'], dataFrom?: VaultApp['spec']['vault']['dataFrom']): VaultApp {
  const app = loadExample();
  app.metadata.name = name;
  app.metadata.uid = `${name}-uid`;
  app.spec.vault.secrets = secrets;
  if (dataFrom) app.spec.vault.dataFrom = dataFrom;
  return app;
}
const condition = (mc: MetacontrollerDriver, type: string) => mc.last!.status.conditions!.find((c) => c.type === type)!;

describe('the read budget against a real Vault', () => {
  it('eight paths of 1 MiB: reading stops past the budget, every path says so naming the VaultApp, no value shown, the same at the next sync', async () => {
    const secrets = Array.from({ length: BIG - 2 }, (_, i) => ({ path: `kv/big/p-${i}`, key: 'v', targetKey: `k${i}` }));
    const dataFrom = [{ path: `kv/big/p-${BIG - 2}` }, { path: `kv/big/p-${BIG - 1}` }];
    const mc = new MetacontrollerDriver(hook, appWith('hoarder', secrets, dataFrom));
    const before = hookVault.reader.stats.bytesRead ?? 0;
    await mc.sync();
    const c = condition(mc, 'SecretsSynced');
    assert.deepStrictEqual([c.status, c.reason], ['False', 'SecretTooLarge']);
    // Old code: all 8 MiB were read, then the core said the data was too large for a Secret.
    assert.match(c.message, new RegExp(`^cannot read path "kv/big/p-0": the reads of VaultApp default/hoarder came to more than ${BUDGET} bytes`));
    assert.match(c.message, /\(dataFrom\[1\]\)/);
    assert.doesNotMatch(JSON.stringify(mc.last!.status), /VALUE\d/);
    assert.equal(mc.secretValues('hoarder-vault-secrets'), undefined, 'no Secret');
    const read = (hookVault.reader.stats.bytesRead ?? 0) - before;
    assert.ok(read > 0 && read < 2 * BUDGET, `${read} bytes of Vault answers read`);

    const first = c.message;
    await mc.sync();
    assert.equal(condition(mc, 'SecretsSynced').message, first, 'the same status at the next sync');
  });

  it('a VaultApp whose data fits gets its Secret, a value of 900 KiB included', async () => {
    const mc = new MetacontrollerDriver(
      hook,
      appWith('fits', [
        { path: 'kv/fits/cert', key: 'pem', targetKey: 'tls.pem' },
        { path: 'kv/fits/small', key: 'key', targetKey: 'key' },
      ]),
    );
    await mc.sync();
    const c = condition(mc, 'SecretsSynced');
    assert.deepStrictEqual([c.status, c.reason], ['True', 'Synced']);
    assert.equal(mc.secretValues('fits-vault-secrets')?.['tls.pem']?.length, 900 * 1024);
    assert.equal(mc.secretValues('fits-vault-secrets')?.key, 'k1');
  });
});
