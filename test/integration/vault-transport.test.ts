// The node:http(s) transport under node-vault (src/vault/transport.ts), through the
// hook's own Vault client (createVaultHttp), against a real Vault dev server on TLS
// (-dev-tls) and on plain HTTP behind a connection-counting TCP relay.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createVaultHttp, VaultRequestError } from '../../src/vault/http.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function rejection(p: Promise<unknown>): Promise<VaultRequestError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof VaultRequestError, `expected a VaultRequestError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

describe('Vault transport over TLS (-dev-tls)', () => {
  let vault: VaultServer;
  before(async () => {
    vault = await startVaultServer({ tls: true });
    await enableKv(vault, 'kv', 2);
    await writeKv(vault, 'kv', 2, 'app/db', { username: 'billing', password: 'tls-s3cret' });
  });
  after(() => vault?.stop());

  it('reads and writes with the CA given in VAULT_CACERT', async () => {
    assert.match(vault.addr, /^https:/);
    const http = createVaultHttp({ address: vault.addr, caCert: vault.caCert!, timeoutMs: 5000 });
    const res = await http.read('kv/data/app/db', vault.token);
    assert.deepEqual((res.data as { data: unknown }).data, { username: 'billing', password: 'tls-s3cret' });
    const created = await http.write('auth/token/create', { ttl: '5m', policies: ['default'] }, vault.token);
    assert.match(String(created.auth?.client_token), /^hvs\./);
    assert.deepEqual(await http.health(), { status: 200, sealed: false, standby: false });
  });

  it('refuses a server whose certificate it cannot verify (no CA given), as unreachable, naming the TLS error', async () => {
    const http = createVaultHttp({ address: vault.addr, timeoutMs: 5000 });
    const err = await rejection(http.read('kv/data/app/db', vault.token));
    assert.equal(err.kind, 'unreachable');
    assert.match(
      err.message,
      /read kv\/data\/app\/db: Vault unreachable \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT)\)/,
    );
  });

  it("Vault's status and error list reach the caller, the token does not", async () => {
    const http = createVaultHttp({ address: vault.addr, caCert: vault.caCert!, timeoutMs: 5000 });
    const missing = await rejection(http.read('kv/data/app/nothing-here', vault.token));
    assert.equal(missing.status, 404);
    const denied = await rejection(http.read('kv/data/app/db', 'hvs.not-a-real-token-000000000000'));
    assert.equal(denied.kind, 'http');
    assert.equal(denied.status, 403);
    assert.match(denied.vaultErrors.join(' '), /permission denied/);
    assert.ok(!JSON.stringify({ ...denied, message: denied.message, stack: denied.stack }).includes('hvs.not-a-real-token'), 'the token is not in the error');
  });
});

describe('Vault transport over plain HTTP', () => {
  let vault: VaultServer;
  let relay: Server;
  let relayPort: number;
  const connections: Socket[] = [];
  before(async () => {
    vault = await startVaultServer();
    await enableKv(vault, 'kv', 2);
    for (let i = 0; i < 5; i++) await writeKv(vault, 'kv', 2, `app/p${i}`, { value: `v${i}` });
    const vaultPort = Number(new URL(vault.addr).port);
    relay = createServer((client) => {
      connections.push(client);
      const upstream = connect(vaultPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    relayPort = await listen(relay);
  });
  after(async () => {
    for (const c of connections) c.destroy();
    relay?.close();
    await vault?.stop();
  });

  it('keeps connections alive: 50 reads, 5 at a time, open at most 5 connections', async () => {
    const http = createVaultHttp({ address: `http://127.0.0.1:${relayPort}`, timeoutMs: 5000 });
    const before = connections.length;
    for (let round = 0; round < 50 / 5; round++) {
      const values = await Promise.all(Array.from({ length: 5 }, (_, i) => http.read(`kv/data/app/p${i}`, vault.token)));
      assert.deepEqual(
        values.map((v) => (v.data as { data: { value: string } }).data.value),
        ['v0', 'v1', 'v2', 'v3', 'v4'],
      );
    }
    const opened = connections.length - before;
    assert.ok(opened >= 1 && opened <= 5, `${opened} connections for 50 requests`);
  });

  // A hang shows as the test's own timeout; how soon it gives up is the bench's to measure.
  it('a Vault that never answers: unreachable (ETIMEDOUT) after the timeout, not a hang', { timeout: 30_000 }, async () => {
    const silent = createServer(() => {
      /* accepts, never answers */
    });
    const port = await listen(silent);
    try {
      const http = createVaultHttp({ address: `http://127.0.0.1:${port}`, timeoutMs: 300 });
      const err = await rejection(http.read('kv/data/app/p0', vault.token));
      assert.equal(err.kind, 'unreachable');
      assert.match(err.message, /\(ETIMEDOUT\)/);
    } finally {
      silent.close();
    }
  });

  it('nothing listening: unreachable (ECONNREFUSED)', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const http = createVaultHttp({ address: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
    const err = await rejection(http.read('kv/data/app/p0', vault.token));
    assert.equal(err.kind, 'unreachable');
    assert.match(err.message, /\(ECONNREFUSED\)/);
  });

  it("an answer that is not JSON (a proxy's error page) is an HTTP error with its status", async () => {
    const proxy = createServer((s) =>
      s.once('data', () => s.end('HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<h1>502</h1>\n')),
    );
    const port = await listen(proxy);
    try {
      const http = createVaultHttp({ address: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
      const err = await rejection(http.read('kv/data/app/p0', vault.token));
      assert.equal(err.kind, 'http');
      assert.equal(err.status, 502);
      assert.deepEqual(err.vaultErrors, []);
    } finally {
      proxy.close();
    }
  });
});
