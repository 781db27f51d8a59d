// Issue 18, item 1, on a real Vault: a tenant's template no longer holds the event loop
// while another VaultApp waits for Vault. Before, 92 characters of where_exp held it for
// 11.9 s, the other VaultApp's Vault read timed out meanwhile and it came back
// VaultUnreachable. Here the other VaultApp's read is in flight (a proxy in front of Vault
// holds the answers to its path for a while) when the hostile VaultApp's templates render;
// both answer over real HTTP, each with its own outcome, and so does /healthz. The
// assertions are outcomes: the other sync's Vault timeout (2 s) is far from either side.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { SyncResponse } from '../../src/hook/types.js';
import { createVault } from '../../src/vault/index.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { enableKv, startVaultServer, writeKv, type VaultServer } from '../support/vault-server.js';

const SLOW_PATH = 'kv/data/waiting/db';
const HOLD_MS = 600;
let vault: VaultServer;
let proxy: Server;
let hook: FastifyInstance;
let base: string;

/**
 * A TCP proxy to Vault that holds each answer to a request naming `slowPath` for `holdMs`:
 * the read of that path is in flight meanwhile. Plain HTTP/1.1, one request at a time per
 * connection, so the last request line seen on a connection names the answer coming back.
 */
// The proxy's connections, ended by the test's last hook: the Vault client keeps idle
// connections open (keep-alive) and the proxy's close would wait for Vault's idle timeout.
const proxySockets = new Set<Socket>();

function holdingProxy(target: URL, slowPath: string, holdMs: number): Promise<Server> {
  const server = createServer((client: Socket) => {
    const upstream = connect(Number(target.port), target.hostname);
    proxySockets.add(client).add(upstream);
    let slow = false;
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      if (/^[A-Z]+ \//.test(text)) slow = text.split('\r\n', 1)[0]!.includes(slowPath);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (slow) setTimeout(() => client.write(chunk), holdMs);
      else client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      proxySockets.delete(client);
      proxySockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', () => setTimeout(close, slow ? holdMs + 50 : 0)).on('error', close);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(
  async (t) => {
    vault = await startVaultServer();
    await enableKv(vault, 'kv', 2);
    await writeKv(vault, 'kv', 2, 'waiting/db', { url: 'postgres://waiting' });
    await writeKv(vault, 'kv', 2, 'hostile/db', { username: 'h-user', password: 'h-password' });
    assert.match(vault.addr, /^http:/, 'the proxy reads request lines: plain HTTP');
    proxy = await holdingProxy(new URL(vault.addr), SLOW_PATH, HOLD_MS);
    const v = createVault({
      vault: { address: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, timeoutMs: 2000 },
      auth: { method: 'token', token: vault.token },
      syncDeadlineMs: 6000,
      hmacKey: hookConfig.hmacKey,
    });
    hook = await build(t, v.reader, {}, { now: wallClock });
    await hook.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}`;
  },
  { timeout: 60 * 60_000 },
); // a cold cache builds Vault first

after(async () => {
  for (const socket of proxySockets) socket.destroy();
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  await vault?.stop();
});

function app(name: string, uidEnd: string, mutate: (a: VaultApp) => void): VaultApp {
  const a = loadExample();
  a.metadata.name = name;
  a.metadata.uid = `6b1f3c2e-0000-4000-8000-0000000000${uidEnd}`;
  a.spec.monitoring = { enabled: false };
  mutate(a);
  return a;
}

const post = async (body: unknown): Promise<SyncResponse> => {
  const res = await fetch(`${base}/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return (await res.json()) as SyncResponse;
};
const secretsSynced = (res: SyncResponse) => res.status.conditions!.find((c) => c.type === 'SecretsSynced')!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a hostile template while another VaultApp waits for Vault', () => {
  it("the other VaultApp's sync is Synced, the hostile one a TemplateError naming each key, /healthz answers", async () => {
    const waiting = app('waiting', '01', (a) => {
      a.spec.vault.secrets = [{ path: SLOW_PATH, key: 'url', targetKey: 'db_url' }];
    });
    const hostile = app('hostile', '02', (a) => {
      a.spec.vault.secrets = [
        { path: 'kv/data/hostile/db', key: 'username', name: 'db' },
        { path: 'kv/data/hostile/db', key: 'password', name: 'db' },
      ];
      a.spec.vault.templates = {
        // The 92 characters: 11.9 s of event loop before.
        A: '{% assign a = (1..10000) %}{% assign b = a | where_exp: "x", "a contains 0" %}{{ b | size }}',
        // One tag that walks a list of 99,999 fifty times: seconds, unless stopped.
        B: `{% assign a = (1..99999) %}{% if ${Array(50).fill('a contains 0').join(' or ')} %}y{% endif %}`,
      };
    });
    const waited = post(request(waiting));
    await sleep(HOLD_MS / 4); // its read is in flight now, held by the proxy
    const [h, health] = await Promise.all([post(request(hostile)), sleep(20).then(() => fetch(`${base}/healthz`))]);
    const w = await waited;

    assert.deepStrictEqual([secretsSynced(w).status, secretsSynced(w).reason], ['True', 'Synced'], secretsSynced(w).message);
    const c = secretsSynced(h);
    assert.deepStrictEqual([c.status, c.reason], ['False', 'TemplateError']);
    assert.match(c.message, /template "A": unknown filter at line 1, column 28/);
    assert.match(c.message, /template "B": cut off at the end of the 100 ms all templates of a VaultApp may render in one sync/);
    assert.doesNotMatch(JSON.stringify(h.status), /h-user|h-password/);
    assert.equal(health.status, 200);
  });
});
