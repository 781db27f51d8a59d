// /readyz answers from what the hook already knows: a Vault that accepts connections
// and never answers must not hold the kubelet's probe.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { createVaultHttp } from '../../src/vault/http.js';
import { build, recordedReader } from '../support/build-app.js';

/** A TCP server that takes connections, reads what comes and never answers. */
async function silentVault(t: TestContext): Promise<{ addr: string; requested: Promise<void>; open: () => number }> {
  const sockets = new Set<net.Socket>();
  let sawRequest!: () => void;
  const requested = new Promise<void>((resolve) => {
    sawRequest = resolve;
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => sawRequest());
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const { port } = server.address() as net.AddressInfo;
  return { addr: `http://127.0.0.1:${port}`, requested, open: () => sockets.size };
}

async function hookWith(t: TestContext, vaultAddr: string) {
  // The Vault client's own timeout is long: what is asserted is that /readyz never waits for it.
  const vault = createVaultHttp({ address: vaultAddr, timeoutMs: 60_000 });
  const app = await build(t, recordedReader({ values: {} }), {}, { vaultHealth: () => vault.health() });
  return app;
}

describe('/readyz and a Vault that never answers', () => {
  it('answers 200 while its Vault health check is still waiting on the open connection', async (t) => {
    const vault = await silentVault(t);
    const app = await hookWith(t, vault.addr);
    // Old code: the probe waited for Vault's answer, which never comes.
    const stillWaiting = vault.requested.then(() => new Promise((r) => setTimeout(() => r('still waiting for Vault'), 1000)));
    const first = await Promise.race([app.inject('/readyz'), stillWaiting]);
    assert.notEqual(first, 'still waiting for Vault');
    assert.equal((first as { statusCode: number }).statusCode, 200);
    await vault.requested;
    const second = await app.inject('/readyz');
    assert.equal(second.statusCode, 200);
    // Answered with the Vault request still unanswered on its connection.
    assert.equal(vault.open(), 1);
    assert.deepEqual(second.json(), { status: 'ready', vault: { state: 'not checked yet' } });
  });

  it('shows what the last check said once Vault has answered', async (t) => {
    const server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ initialized: true, sealed: false, standby: false }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const app = await hookWith(t, `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    let body: { vault?: { status?: number; sealed?: boolean; checkedAt?: string } } = {};
    // The first probe starts the check; a later one shows its result.
    for (let i = 0; i < 2000 && body.vault?.status === undefined; i++) {
      body = (await app.inject('/readyz')).json();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(body.vault?.status, 200);
    assert.equal(body.vault?.sealed, false);
    assert.match(body.vault?.checkedAt ?? '', /^\d{4}-\d\d-\d\dT/);
  });
});
