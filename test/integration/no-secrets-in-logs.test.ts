// No secret in the hook's logs, at any level. The hook's own logger (its
// redaction, serializers and last-pass scrubbing) runs at `trace` into a captured
// stream while the Vault flows run against real servers: the seed example,
// rotation, a 403, a revoked token, a JWT login, Vault down, a leased database
// credential (issue and revoke at finalize), callers with wrong bearer tokens,
// hostile bodies carrying secret data, and an internal error that carries an HTTP
// client's request and response the way axios errors do. Then every secret value,
// its base64 forms, every token and JWT used is searched for in the captured logs.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { capturedLogger } from '../support/captured-logger.js';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { errorSerializer, scrubCredentials } from '../../src/http/logger.js';
import { createVault, type Vault } from '../../src/vault/index.js';
import type { VaultReader } from '../../src/vault/reader.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, hookConfig, wallClock } from '../support/build-app.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { enableDatabaseSecrets, startPostgres, type PgServer } from '../support/postgres.js';
import { enableJwtAuthAsKubernetes, enableKv, startVaultServer, writeKv, writePolicy, type VaultServer } from '../support/vault-server.js';
import { tempDir } from '../support/tls-certs.js';

const dir = tempDir('vaultapp-logs-');
const ROOT_TOKEN = 'root-token-for-the-log-test-5d1e77a0';
const HOOK_TOKEN = 'metacontroller-hook-token-for-the-log-test-0c4f';
const HMAC_KEY = 'hmac-key-for-the-log-test-8e3a19';
const DB_URL = 'postgres://billing:Db-Pa55word-7731@db:5432/billing';
const PX_KEY = 'px-api-key-2f9c41d6b8';
const PX_KEY_ROTATED = 'px-api-key-rotated-a07be3';

/** Every value that must never appear in a log line; filled as the flows go. */
const secrets = new Set<string>([ROOT_TOKEN, HOOK_TOKEN, HMAC_KEY, DB_URL, 'Db-Pa55word-7731', PX_KEY, PX_KEY_ROTATED]);
const { log: logger, lines } = capturedLogger('trace');

let vault: VaultServer;
let pg: PgServer | undefined;

// Every sync reads Vault (refresh interval 0), so every flow that could log a secret runs.
const config = { ...hookConfig, hmacKey: HMAC_KEY, refreshSeconds: 0 };

function vaultFor(server: VaultServer, token: string): Vault {
  return createVault({ vault: { address: server.addr, timeoutMs: 2000 }, auth: { method: 'token', token }, syncDeadlineMs: 4000, hmacKey: HMAC_KEY });
}

async function hook(t: Parameters<typeof build>[0], reader: VaultReader, withAuth = true): Promise<FastifyInstance> {
  const tokenFile = join(dir, 'hook-token');
  writeFileSync(tokenFile, HOOK_TOKEN);
  return build(t, reader, { ...config, ...(withAuth ? { hookSecurity: { tokenFile, reloadSeconds: 3600 } } : {}) }, { loggerInstance: logger, now: wallClock });
}

/** What Metacontroller does with webhook `authorization`: the same bearer token on every call. */
function asMetacontroller(app: FastifyInstance): FastifyInstance {
  return {
    inject: (opts: Record<string, unknown>) => app.inject({ ...opts, headers: { ...(opts.headers as object), authorization: `Bearer ${HOOK_TOKEN}` } }),
  } as unknown as FastifyInstance;
}

function named(name: string, file?: string): VaultApp {
  const a = loadExample(file);
  a.metadata = { ...a.metadata, name, uid: `uid-${name}` };
  return a;
}

/** The forms a value could take in a log line. */
function forms(value: string): string[] {
  const out = new Set([
    value,
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
  ]);
  // base64 of the value inside a longer base64 text, at each of the three alignments.
  for (const pad of ['', 'x', 'xx']) {
    const b = Buffer.from(pad + value).toString('base64');
    out.add(b.slice(Math.ceil((pad.length * 4) / 3) + 1, -4));
  }
  return [...out].filter((f) => f.length >= 8);
}

function leaks(): string[] {
  const text = lines.join('');
  const found: string[] = [];
  for (const s of secrets) for (const f of forms(s)) if (text.includes(f)) found.push(`${s} (as ${f})`);
  return found;
}

function assertClean(flow: string): void {
  assert.deepStrictEqual(leaks(), [], `secrets in the logs after: ${flow}`);
}

before(async () => {
  vault = await startVaultServer({ rootToken: ROOT_TOKEN });
  await enableKv(vault, 'kv', 2);
  await writeKv(vault, 'kv', 2, 'billing/database', { url: DB_URL });
  await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: PX_KEY });
});

after(async () => {
  await pg?.stop();
  await vault?.stop();
});

describe('no secret in the logs at level trace', () => {
  it('the seed example syncs twice (Secret created, then Ready)', async (t) => {
    const app = await hook(t, vaultFor(vault, ROOT_TOKEN).reader);
    const mc = new MetacontrollerDriver(asMetacontroller(app), named('logs-example'));
    await mc.sync();
    await mc.sync();
    assert.deepStrictEqual(mc.secretValues(), { db_url: DB_URL, provider_x_api_key: PX_KEY });
    assertClean('example sync');
  });

  it('a rotated value reaches the Secret and the pods roll', async (t) => {
    const app = await hook(t, vaultFor(vault, ROOT_TOKEN).reader);
    const mc = new MetacontrollerDriver(asMetacontroller(app), named('logs-rotation'));
    await mc.sync();
    await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: PX_KEY_ROTATED });
    for (let i = 0; i < 3; i++) await mc.sync();
    assert.equal(mc.secretValues()!.provider_x_api_key, PX_KEY_ROTATED);
    await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: PX_KEY });
    assertClean('rotation');
  });

  it('a 403 on one path, then the token revoked', async (t) => {
    await writePolicy(vault, 'only-database', 'path "kv/data/billing/database" { capabilities = ["read"] }');
    const created = await vault.request('POST', 'auth/token/create', { policies: ['only-database'], ttl: '1h', no_default_policy: true });
    const limited = created.body.auth.client_token as string;
    secrets.add(limited);
    secrets.add(created.body.auth.accessor as string);
    const app = await hook(t, vaultFor(vault, limited).reader);
    const mc = new MetacontrollerDriver(asMetacontroller(app), named('logs-forbidden'));
    let res = await mc.sync();
    assert.equal(res.status.conditions!.find((c) => c.type === 'SecretsSynced')!.reason, 'PermissionDenied');
    await vault.request('POST', 'auth/token/revoke', { token: limited });
    res = await mc.sync();
    assert.equal(res.status.conditions!.find((c) => c.type === 'SecretsSynced')!.status, 'False');
    assertClean('403 and revoked token');
  });

  it('a JWT login (Kubernetes auth path), reused across syncs', async (t) => {
    await writePolicy(vault, 'read-billing-secrets', 'path "kv/data/billing/*" { capabilities = ["read"] }');
    const signer = await enableJwtAuthAsKubernetes(vault, {
      role: 'billing-app',
      policies: ['read-billing-secrets'],
      boundSubject: 'system:serviceaccount:vaultapp-system:vaultapp-hook',
      ttl: '20m',
    });
    const jwt = signer.signJwt({ sub: 'system:serviceaccount:vaultapp-system:vaultapp-hook' });
    secrets.add(jwt);
    for (const part of jwt.split('.')) secrets.add(part);
    const jwtPath = join(dir, 'jwt');
    writeFileSync(jwtPath, jwt);
    const v = createVault({
      vault: { address: vault.addr, timeoutMs: 2000 },
      auth: { method: 'kubernetes', mount: 'kubernetes', identity: { model: 'controller', jwtPath, allowedRoles: { default: ['billing-app'] } } },
      syncDeadlineMs: 4000,
      hmacKey: HMAC_KEY,
    });
    const app = await hook(t, v.reader);
    const mc = new MetacontrollerDriver(asMetacontroller(app), named('logs-jwt'));
    for (let i = 0; i < 3; i++) await mc.sync();
    assert.equal(mc.last!.status.conditions!.find((c) => c.type === 'VaultAuthenticated')!.status, 'True');
    secrets.add(await v.tokens.token({ namespace: 'default', serviceAccount: 'default', role: 'billing-app' }));
    assert.equal(v.tokens.stats.logins, 1);
    assertClean('JWT login');
  });

  it('Vault down: data kept, the outage reported', async (t) => {
    const own = await startVaultServer({ rootToken: ROOT_TOKEN });
    await enableKv(own, 'kv', 2);
    await writeKv(own, 'kv', 2, 'billing/database', { url: DB_URL });
    await writeKv(own, 'kv', 2, 'billing/provider-x', { key: PX_KEY });
    try {
      const app = await hook(t, vaultFor(own, ROOT_TOKEN).reader);
      const mc = new MetacontrollerDriver(asMetacontroller(app), named('logs-down'));
      await mc.sync();
      await own.stop();
      const res = await mc.sync();
      assert.equal(res.status.conditions!.find((c) => c.type === 'SecretsSynced')!.reason, 'VaultUnreachable');
      assert.deepStrictEqual(mc.secretValues(), { db_url: DB_URL, provider_x_api_key: PX_KEY });
    } finally {
      await own.stop();
    }
    assertClean('Vault down');
  });

  it('a leased database credential: issued, kept, revoked at finalize', async (t) => {
    pg = await startPostgres();
    secrets.add(pg.password);
    await enableDatabaseSecrets(vault, pg, { role: 'billing-logs', defaultTtl: '1m', maxTtl: '3m' });
    const app = await hook(t, vaultFor(vault, ROOT_TOKEN).reader);
    const parent = named('logs-db');
    parent.spec.vault.secrets = [
      { path: 'database/creds/billing-logs', key: 'username', targetKey: 'username' },
      { path: 'database/creds/billing-logs', key: 'password', targetKey: 'password' },
    ];
    parent.spec.monitoring = { enabled: false };
    const mc = new MetacontrollerDriver(asMetacontroller(app), parent);
    await mc.sync();
    await mc.sync();
    const creds = mc.secretValues()!;
    assert.ok(await pg.canLogin(creds.username!, creds.password!), 'the credential works');
    secrets.add(creds.password!);
    const res = await mc.finalize();
    assert.equal(res.finalized, true);
    assertClean('leased credential');
  });

  it('callers with wrong or no bearer tokens', async (t) => {
    const app = await hook(t, vaultFor(vault, ROOT_TOKEN).reader);
    const wrong = ['wrong-token-for-the-log-test-3b8d90aa', `${HOOK_TOKEN.slice(0, -1)}X`, ROOT_TOKEN];
    for (const t of wrong) {
      secrets.add(t);
      const res = await app.inject({
        method: 'POST',
        url: '/sync',
        headers: { authorization: `Bearer ${t}`, 'x-vault-token': t, cookie: `session=${t}` },
        payload: request(loadExample()),
      });
      assert.equal(res.statusCode, 403);
    }
    assert.equal((await app.inject({ method: 'POST', url: '/sync', payload: request(loadExample()) })).statusCode, 401);
    assertClean('refused callers');
  });

  it('hostile bodies that carry secret data: an invalid parent with an observed Secret, broken JSON and YAML around a secret, a query string with a token', async (t) => {
    const app = await hook(t, vaultFor(vault, ROOT_TOKEN).reader, false);
    const observed = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'billing-service-vault-secrets', namespace: 'default' },
      data: { db_url: Buffer.from(DB_URL).toString('base64') },
    };
    const invalid = { ...request(loadExample(), [observed]), parent: { ...loadExample(), spec: { ...loadExample().spec, vault: { role: '', secrets: [] } } } };
    assert.equal((await app.inject({ method: 'POST', url: '/sync', payload: invalid })).statusCode, 422);
    const badChild = { ...request(loadExample()), children: { 'Secret.v1': { x: { data: { k: PX_KEY } } } } };
    assert.equal((await app.inject({ method: 'POST', url: '/sync', payload: badChild })).statusCode, 400);
    assert.equal(
      (await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/json' }, payload: `{"parent": {"x": "${PX_KEY}" ` }))
        .statusCode,
      400,
    );
    assert.equal(
      (await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/yaml' }, payload: `parent: {x: ${PX_KEY}\nchildren: [` }))
        .statusCode,
      400,
    );
    assert.equal((await app.inject({ method: 'POST', url: `/sync?token=${ROOT_TOKEN}`, payload: request(loadExample()) })).statusCode, 200);
    assertClean('hostile bodies');
  });

  it("an internal error carrying an HTTP client's request (token header) and response (secret body)", async (t) => {
    const exploding: VaultReader = {
      stats: { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 },
      async material() {
        const err = new Error(`request failed with X-Vault-Token hvs.${'A'.repeat(24)} and Authorization: Bearer ${HOOK_TOKEN}`);
        Object.assign(err, {
          config: { headers: { 'X-Vault-Token': ROOT_TOKEN, Authorization: `Bearer ${HOOK_TOKEN}` }, data: JSON.stringify({ jwt: 'x' }) },
          request: { _header: `GET /v1/kv/data/billing/database\r\nX-Vault-Token: ${ROOT_TOKEN}\r\n` },
          response: { statusCode: 200, body: { data: { data: { url: DB_URL } } } },
          code: 'EWEIRD',
        });
        throw err;
      },
      async revoke() {
        return [];
      },
    } as unknown as VaultReader;
    secrets.add(`hvs.${'A'.repeat(24)}`);
    const app = await hook(t, exploding, false);
    const res = await app.inject({ method: 'POST', url: '/sync', payload: request(loadExample()) });
    assert.equal(res.statusCode, 500);
    assert.ok(!res.body.includes(DB_URL) && !res.body.includes(ROOT_TOKEN));
    assert.ok(
      lines.some((l) => l.includes('hook failed') && l.includes('EWEIRD')),
      'the error itself is logged (type, message, code, stack)',
    );
    assertClean('internal error');
  });

  it('after all flows: the logs are there, at trace level, and hold none of the secrets in any form', () => {
    assert.ok(lines.length > 60, `only ${lines.length} log lines`);
    assert.ok(
      lines.some((l) => l.includes('"level":10')),
      'trace lines were written',
    );
    assert.ok(
      lines.some((l) => l.includes('"msg":"synced"')),
      'sync summaries were written',
    );
    assert.ok(
      lines.some((l) => l.includes('refused hook call')),
      'refusals were written',
    );
    assert.ok(secrets.size >= 15, `${secrets.size} secrets searched`);
    assert.deepStrictEqual(leaks(), []);
    console.log(`# searched ${lines.length} log lines for ${secrets.size} secrets in up to ${[...secrets].reduce((n, s) => n + forms(s).length, 0)} forms`);
  });
});

describe("the logger's layers, one by one", () => {
  it('errorSerializer keeps type, message, stack and scalar codes, and drops what HTTP clients attach', () => {
    const err = Object.assign(new Error('boom'), {
      code: 'E1',
      statusCode: 502,
      config: { headers: { 'X-Vault-Token': 't' } },
      response: { body: 's' },
      request: {},
      options: {},
      vaultErrors: ['permission denied'],
    });
    const out = errorSerializer(err) as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(out).sort(), ['code', 'message', 'stack', 'statusCode', 'type', 'vaultErrors']);
  });

  it('scrubCredentials censors JWTs, Vault tokens and bearer values wherever they are', () => {
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"sub":"system:serviceaccount:a:b"}').toString('base64url')}.c2lnbmF0dXJlc2lnbmF0dXJl`;
    const line = `{"msg":"x ${jwt} hvs.CAESIJ0123456789abcdefghij s.0123456789abcdefghijklmn Bearer abc.def","h":"Basic dXNlcjpwYXNz"}`;
    const out = scrubCredentials(line);
    for (const s of [jwt, 'hvs.CAESIJ0123456789abcdefghij', 's.0123456789abcdefghijklmn', 'abc.def', 'dXNlcjpwYXNz'])
      assert.ok(!out.includes(s), `${s} in ${out}`);
  });

  it('redaction reaches Secret data, Vault answers, tokens and Authorization headers at depth', () => {
    const { log, lines: captured } = capturedLogger('trace');
    log.info(
      {
        kind: 'Secret',
        data: { a: 'S1-value' },
        child: { kind: 'Secret', metadata: { name: 'app' }, stringData: { b: 'S2-value' } },
        res: { children: [{ kind: 'Secret' }], body: 'S3-value' },
        a: { b: { c: { token: 'S4-value', headers: { authorization: 'S5-value', 'x-vault-token': 'S6-value' } } } },
        answer: { request_id: 'r', auth: { client_token: 'S7-value' }, data: { data: { c: 'S8-value' } } },
        material: { reads: { p: { ok: true, engine: 'kv2', data: { d: 'S9-value' } } } },
      },
      'deep',
    );
    const text = captured.join('');
    for (const s of ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9']) assert.ok(!text.includes(`${s}-value`), `${s} in ${text}`);
    assert.ok(text.includes('"name":"app"'), 'what names the Secret is kept');
  });
});
