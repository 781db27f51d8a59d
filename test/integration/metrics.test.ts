// /metrics against a real Vault: the counters move as Vault is used, and every
// panel of the Grafana dashboard queries a metric the hook really exports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createVault } from '../../src/vault/index.js';
import { loadExample } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

let vault: VaultServer;
let app: FastifyInstance;

before(async (t) => {
  vault = await startVaultServer();
  await enableKv(vault, 'kv', 2);
  await writeKv(vault, 'kv', 2, 'billing/database', { url: 'postgres://x' });
  await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'y' });
  const v = createVault({
    vault: { address: vault.addr, timeoutMs: 2000 },
    auth: { method: 'token', token: vault.token },
    syncDeadlineMs: 4000,
    hmacKey: hookConfig.hmacKey,
  });
  app = await build(
    t,
    v.reader,
    {},
    { now: wallClock, metrics: createMetrics({ requests: v.requests, tokens: v.tokens.stats, reader: v.reader.stats, queue: v.queue }) },
  );
});

after(async () => {
  await vault?.stop();
});

function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+|NaN)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('GET /metrics', () => {
  it('counts syncs by outcome, Vault requests by operation and code, and reports no logins in token mode', async () => {
    const mc = new MetacontrollerDriver(app, loadExample());
    await mc.sync();
    await mc.sync();
    await app.inject({ method: 'POST', url: '/sync', payload: { parent: {} } });
    const res = await app.inject('/metrics');
    assert.equal(res.statusCode, 200);
    const s = samples(res.body);
    assert.equal(s.get('vaultapp_sync_duration_seconds_count{outcome="not_ready"}'), 1);
    assert.equal(s.get('vaultapp_sync_duration_seconds_count{outcome="ready"}'), 1);
    assert.equal(s.get('vaultapp_sync_duration_seconds_count{outcome="rejected"}'), 1);
    assert.equal(s.get('vaultapp_sync_errors_total{reason="http_400"}'), 1);
    assert.equal(s.get('vaultapp_vault_requests_total{operation="read",code="200"}'), 2, 'two paths; the second sync is inside the refresh interval');
    assert.equal(s.get('vaultapp_syncs_without_vault_total'), 1);
    // The first sync's two paths share one lookup of the kv/ mount; afterwards it is known.
    assert.equal(s.get('vaultapp_vault_requests_total{operation="mount_lookup",code="200"}'), 1);
    assert.equal(s.get('vaultapp_vault_logins_total'), 0);
    assert.equal(s.get('vaultapp_syncs_in_flight'), 0);
  });

  it('every panel of the Grafana dashboard queries metrics the hook exports', async () => {
    const exported = new Set([...samples((await app.inject('/metrics')).body).keys()].map((k) => k.replace(/\{.*$/, '')));
    const dashboard = JSON.parse(readFileSync(new URL('../../metacontroller/monitoring/vaultapp-hook-dashboard.json', import.meta.url), 'utf8'));
    assert.ok(dashboard.panels.length >= 8);
    for (const panel of dashboard.panels) {
      const names = panel.targets.flatMap((t: { expr: string }) => t.expr.match(/vaultapp_[a-z_]+/g) ?? []);
      assert.ok(names.length > 0, `panel "${panel.title}" queries no vaultapp_ metric`);
      for (const name of names) assert.ok(exported.has(name), `panel "${panel.title}" queries ${name}, which the hook does not export`);
    }
  });
});
