// Against a real Vault, counted by Vault's own audit log: a call to /sync or
// /finalize without credentials, or with wrong ones, is refused and makes no
// Vault request at all (no login, no mount lookup, no read); the same call with
// the right token does reach Vault.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createVault } from '../../src/vault/index.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';
import { tempDir } from '../support/tls-certs.js';

const TOKEN = 'the-metacontroller-token-0123456789';
let vault: VaultServer;
let app: FastifyInstance;

before(async (t) => {
  vault = await startVaultServer({ auditLog: true });
  await enableKv(vault, 'kv', 2);
  await writeKv(vault, 'kv', 2, 'billing/database', { url: 'postgres://billing:audit-pw@db/billing' });
  await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'audit-px' });
  const tokenFile = join(tempDir('vaultapp-auth-vault-'), 'token');
  writeFileSync(tokenFile, TOKEN);
  const v = createVault({
    vault: { address: vault.addr, timeoutMs: 2000 },
    auth: { method: 'token', token: vault.token },
    syncDeadlineMs: 4000,
    hmacKey: hookConfig.hmacKey,
  });
  app = await build(t, v.reader, { hookSecurity: { tokenFile, reloadSeconds: 3600 } }, { now: wallClock });
});

after(async () => {
  await vault?.stop();
});

const vaultRequests = async () => (await vault.auditEntries()).filter((e) => e.type === 'request').length;

describe('hook authentication against a real Vault (audit log)', () => {
  const calls: [string, string, Record<string, string>][] = [
    ['/sync without credentials', '/sync', {}],
    ['/sync with a wrong token', '/sync', { authorization: 'Bearer wrong-token-0123456789abcdef' }],
    ['/sync with the token under another scheme', '/sync', { authorization: `Basic ${TOKEN}` }],
    ['/finalize without credentials', '/finalize', {}],
    ['/finalize with a wrong token', '/finalize', { authorization: 'Bearer wrong-token-0123456789abcdef' }],
  ];
  for (const [name, url, headers] of calls) {
    it(`${name}: refused, and Vault sees no request`, async () => {
      const before = await vaultRequests();
      const res = await app.inject({
        method: 'POST',
        url,
        headers,
        payload: { ...request(loadExample()), ...(url === '/finalize' ? { finalizing: true } : {}) },
      });
      assert.ok(res.statusCode === 401 || res.statusCode === 403, `${res.statusCode} ${res.body}`);
      assert.equal(await vaultRequests(), before);
    });
  }

  it('the same request with the right token does reach Vault (the count above can see requests)', async () => {
    const before = await vaultRequests();
    const res = await app.inject({ method: 'POST', url: '/sync', headers: { authorization: `Bearer ${TOKEN}` }, payload: request(loadExample()) });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok((await vaultRequests()) > before);
    assert.equal(Buffer.from(res.json().children[0].data.db_url, 'base64').toString(), 'postgres://billing:audit-pw@db/billing');
  });
});
