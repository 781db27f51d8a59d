// The hook over real TLS: it serves the certificate from VAULTAPP_TLS_*_FILE,
// picks up a renewed certificate without a restart, and with a client CA lets
// only holders of a certificate from that CA call /sync and /finalize, while the
// kubelet's probes (no client certificate) still reach /healthz and /readyz.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { before, describe, it, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { HookSecurityConfig } from '../../src/config/config.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, recordedReader } from '../support/build-app.js';
import { makeCa, makeLeaf, tempDir, type Pem } from '../support/tls-certs.js';

const material = {
  auth: { ok: true as const },
  reads: {
    'kv/data/billing/database': { ok: true as const, engine: 'kv2' as const, data: { url: 'postgres://db' } },
    'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'px' } },
  },
};

interface Answer {
  status: number;
  body: string;
  serial: string;
}

function call(port: number, ca: string, path: string, opts: { client?: Pem; method?: string; body?: unknown; authorization?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? (payload ? 'POST' : 'GET'),
        ca,
        agent: false,
        ...(opts.client ? { cert: opts.client.cert, key: opts.client.key } : {}),
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(opts.authorization ? { authorization: opts.authorization } : {}) },
      },
      (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const dir = tempDir();
let ca: Pem;
let otherCa: Pem;
let server1: Pem;
let server2: Pem;
let client: Pem;
let stranger: Pem;
const live = join(dir, 'live');

before(() => {
  ca = makeCa(dir, 'test-ca');
  otherCa = makeCa(dir, 'other-ca');
  server1 = makeLeaf(dir, 'hook-1', ca, 'server');
  server2 = makeLeaf(dir, 'hook-2', ca, 'server');
  client = makeLeaf(dir, 'metacontroller', ca, 'client');
  stranger = makeLeaf(dir, 'stranger', otherCa, 'client');
});

async function serve(t: TestContext, security: HookSecurityConfig): Promise<{ app: FastifyInstance; port: number; reader: ReturnType<typeof recordedReader> }> {
  const reader = recordedReader(material);
  const app = await build(t, reader, { hookSecurity: security });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as { port: number }).port, reader };
}

function liveFiles(name: string, pem: Pem): { certFile: string; keyFile: string } {
  const certFile = `${live}-${name}.crt`;
  const keyFile = `${live}-${name}.key`;
  copyFileSync(pem.certFile, certFile);
  copyFileSync(pem.keyFile, keyFile);
  return { certFile, keyFile };
}

const serialOf = (pem: Pem): string => new X509Certificate(pem.cert).serialNumber;

describe('TLS from files', () => {
  it('serves HTTPS with the configured certificate and picks up a renewed one without a restart', async (t) => {
    const files = liveFiles('renew', server1);
    const { app, port } = await serve(t, { tls: files, reloadSeconds: 3600 });
    const first = await call(port, ca.cert, '/healthz');
    assert.equal(first.status, 200);
    assert.equal(first.serial, serialOf(server1));

    copyFileSync(server2.certFile, files.certFile);
    copyFileSync(server2.keyFile, files.keyFile);
    (app as unknown as { reloadCredentials: () => void }).reloadCredentials();
    const second = await call(port, ca.cert, '/healthz');
    assert.equal(second.serial, serialOf(server2), 'new connections get the renewed certificate');
  });

  it('a half-written renewal (certificate of one pair, key of another) is not applied: the previous pair keeps serving', async (t) => {
    const files = liveFiles('half', server1);
    const { app, port } = await serve(t, { tls: files, reloadSeconds: 3600 });
    copyFileSync(server2.certFile, files.certFile);
    (app as unknown as { reloadCredentials: () => void }).reloadCredentials();
    const res = await call(port, ca.cert, '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.serial, serialOf(server1));
  });

  it('checks the files on its own every reloadSeconds', async (t) => {
    // The hook's own interval timer, driven by the test: a tick is one period, whatever the machine's load.
    t.mock.timers.enable({ apis: ['setInterval'] });
    const files = liveFiles('timer', server1);
    const { port } = await serve(t, { tls: files, reloadSeconds: 1 });
    copyFileSync(server2.certFile, files.certFile);
    copyFileSync(server2.keyFile, files.keyFile);
    t.mock.timers.tick(999);
    assert.equal((await call(port, ca.cert, '/healthz')).serial, serialOf(server1), 'not read again before the period ends');
    t.mock.timers.tick(1);
    assert.equal((await call(port, ca.cert, '/healthz')).serial, serialOf(server2), 'read again once it has');
  });
});

describe('client certificates (VAULTAPP_TLS_CLIENT_CA_FILE)', () => {
  const body = () => request(loadExample());

  it('only a certificate from the client CA may call /sync and /finalize; probes need none', async (t) => {
    const { port, reader } = await serve(t, { tls: { ...liveFiles('mtls', server1), clientCaFile: ca.certFile }, reloadSeconds: 3600 });
    assert.equal((await call(port, ca.cert, '/healthz')).status, 200);
    assert.equal((await call(port, ca.cert, '/readyz')).status, 200);

    const none = await call(port, ca.cert, '/sync', { body: body() });
    assert.equal(none.status, 401, none.body);
    const wrong = await call(port, ca.cert, '/sync', { body: body(), client: stranger });
    assert.equal(wrong.status, 403, wrong.body);
    const wrongFinalize = await call(port, ca.cert, '/finalize', { body: { ...body(), finalizing: true }, client: stranger });
    assert.equal(wrongFinalize.status, 403);
    assert.equal(reader.calls, 0, 'no Vault call for a refused caller');

    const ok = await call(port, ca.cert, '/sync', { body: body(), client });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(reader.calls, 1);
  });

  it('with a client CA and a token file, a caller needs both', async (t) => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'both-factors-token-0123456789');
    const { port, reader } = await serve(t, { tokenFile, tls: { ...liveFiles('both', server1), clientCaFile: ca.certFile }, reloadSeconds: 3600 });
    assert.equal((await call(port, ca.cert, '/sync', { body: body(), client })).status, 401, 'certificate without token');
    assert.equal(
      (await call(port, ca.cert, '/sync', { body: body(), authorization: 'Bearer both-factors-token-0123456789' })).status,
      401,
      'token without certificate',
    );
    assert.equal((await call(port, ca.cert, '/sync', { body: body(), client: stranger, authorization: 'Bearer both-factors-token-0123456789' })).status, 403);
    assert.equal(reader.calls, 0);
    assert.equal((await call(port, ca.cert, '/sync', { body: body(), client, authorization: 'Bearer both-factors-token-0123456789' })).status, 200);
  });
});
