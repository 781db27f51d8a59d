import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../support/vault-server.js';

let server: VaultServer;

// A cold cache builds the server from source first (several minutes); later runs reuse it.
before(
  async () => {
    server = await startVaultServer({ rootToken: 'test-root', auditLog: true });
  },
  { timeout: 30 * 60_000 },
);

after(async () => {
  await server?.stop();
});

test('kv v2 at kv/: write and read back', async () => {
  await enableKv(server, 'kv', 2);
  await writeKv(server, 'kv', 2, 'app/config', { username: 'alice', password: 's3cret' });
  const res = await server.request('GET', 'kv/data/app/config');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.data.data, { username: 'alice', password: 's3cret' });
  assert.equal(res.body.data.metadata.version, 1);
});

test('kv v1 at kv1/: write and read back', async () => {
  await enableKv(server, 'kv1', 1);
  await writeKv(server, 'kv1', 1, 'app/config', { api_key: 'k1' });
  const res = await server.request('GET', 'kv1/app/config');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.data, { api_key: 'k1' });
});

test('JWT auth mounted as kubernetes: login, read under policy, audited', async () => {
  await writePolicy(server, 'app-read', 'path "kv/data/app/*" { capabilities = ["read"] }');
  const jwt = await enableJwtAuthAsKubernetes(server, {
    role: 'app',
    policies: ['app-read'],
    boundAudiences: ['vault'],
    boundSubject: 'system:serviceaccount:default:default',
    ttl: '10m',
  });

  const login = await server.request('POST', 'auth/kubernetes/login', { role: 'app', jwt: jwt.signJwt() }, null);
  assert.equal(login.status, 200, JSON.stringify(login.body));
  const clientToken: string = login.body.auth.client_token;
  assert.ok(login.body.auth.policies.includes('app-read'));
  assert.equal(login.body.auth.lease_duration, 600);

  const read = await server.request('GET', 'kv/data/app/config', undefined, clientToken);
  assert.equal(read.status, 200);
  assert.equal(read.body.data.data.username, 'alice');

  // The policy grants kv/data/app/* only.
  const denied = await server.request('GET', 'kv1/app/config', undefined, clientToken);
  assert.equal(denied.status, 403);

  const wrongSubject = await server.request(
    'POST',
    'auth/kubernetes/login',
    { role: 'app', jwt: jwt.signJwt({ sub: 'system:serviceaccount:other:default' }) },
    null,
  );
  assert.equal(wrongSubject.status, 400);

  const entries = await server.auditEntries();
  const reads = entries.filter(
    (e) => e.type === 'response' && e.request?.operation === 'read' && e.request?.path === 'kv/data/app/config' && e.auth?.policies?.includes('app-read'),
  );
  assert.equal(reads.length, 1);
  assert.ok(entries.some((e) => e.type === 'response' && e.request?.path === 'auth/kubernetes/login'));
});

test('restart keeps the address and loses in-memory data', async () => {
  await server.restart();
  const health = await server.request('GET', 'sys/health');
  assert.equal(health.status, 200);
  const gone = await server.request('GET', 'kv/data/app/config');
  assert.equal(gone.status, 404);
});

test('stop closes the port', async () => {
  await server.stop();
  const { port } = new URL(server.addr);
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', resolve);
  });
  assert.equal(error?.code, 'ECONNREFUSED');
});
