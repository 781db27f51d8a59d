// Bearer-token authentication of /sync and /finalize, through app.inject with a
// recorded Vault reader: a call without credentials gets 401, one with wrong
// credentials 403, both before the body is read and before any Vault call; the
// health endpoints stay open; the token file is re-read when it changes.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { capturedLogger } from '../support/captured-logger.js';
import type { HookSecurityConfig } from '../../src/config/config.js';
import { hookSecurityProblem } from '../../src/http/auth.js';
import { HookCredentials } from '../../src/http/credentials.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, hookConfig, recordedReader } from '../support/build-app.js';
import { tempDir } from '../support/tls-certs.js';

const material = {
  auth: { ok: true as const },
  reads: {
    'kv/data/billing/database': { ok: true as const, engine: 'kv2' as const, data: { url: 'postgres://db' } },
    'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'px' } },
  },
};

const TOKEN = 'metacontroller-bearer-token-0123456789';
const NEXT_TOKEN = 'metacontroller-bearer-token-rotated-9876';

function tokenFile(content: string): string {
  const file = join(tempDir('vaultapp-auth-'), 'token');
  writeFileSync(file, content);
  return file;
}

async function hookWith(t: TestContext, security: HookSecurityConfig, logs?: string[]) {
  const reader = recordedReader(material);
  const loggerInstance = logs ? capturedLogger('trace', logs).log : undefined;
  const app = await build(t, reader, { hookSecurity: security }, loggerInstance ? { loggerInstance } : {});
  return { app, reader };
}

const sync = (app: FastifyInstance, authorization?: string, url = '/sync', payload: unknown = request(loadExample())) =>
  app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers: authorization === undefined ? {} : { authorization } });

describe('bearer-token authentication of the hook routes', () => {
  const refusals: [string, string | undefined, number, string][] = [
    ['no Authorization header', undefined, 401, 'UNAUTHENTICATED'],
    ['an empty Authorization header', '', 401, 'UNAUTHENTICATED'],
    ['"Bearer" without a token', 'Bearer ', 401, 'UNAUTHENTICATED'],
    ['a wrong token', 'Bearer not-the-token-0123456789abcdef', 403, 'FORBIDDEN'],
    ['the token with one character changed', `Bearer ${TOKEN.slice(0, -1)}X`, 403, 'FORBIDDEN'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 20)}`, 403, 'FORBIDDEN'],
    ['the token with a suffix', `Bearer ${TOKEN}x`, 403, 'FORBIDDEN'],
    ['the token under another scheme', `Basic ${TOKEN}`, 403, 'FORBIDDEN'],
    ['the token without a scheme', TOKEN, 403, 'FORBIDDEN'],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`, 403, 'FORBIDDEN'],
  ];
  for (const route of ['/sync', '/finalize']) {
    for (const [name, header, status, code] of refusals) {
      it(`${route} refuses ${name} with ${status}, before any Vault call`, async (t) => {
        const { app, reader } = await hookWith(t, { tokenFile: tokenFile(`${TOKEN}\n`), reloadSeconds: 3600 });
        const res = await sync(app, header, route);
        assert.equal(res.statusCode, status, res.body);
        assert.equal(res.json().code, code);
        if (status === 401) assert.match(res.headers['www-authenticate'] as string, /^Bearer realm=/);
        assert.equal(reader.calls, 0);
      });
    }
  }

  it('accepts the token (scheme in any case) and reads Vault once', async (t) => {
    const { app, reader } = await hookWith(t, { tokenFile: tokenFile(`${TOKEN}\n`), reloadSeconds: 3600 });
    assert.equal((await sync(app, `Bearer ${TOKEN}`)).statusCode, 200);
    assert.equal((await sync(app, `bearer ${TOKEN}`)).statusCode, 200);
    assert.equal((await sync(app, `Bearer ${TOKEN}`, '/finalize', { ...request(loadExample()), finalizing: true })).statusCode, 200);
    assert.equal(reader.calls, 2);
  });

  it('refuses before reading the body: an oversized or unparsable body without credentials is a 401, not a 413 or 400', async (t) => {
    const { app, reader } = await hookWith(t, { tokenFile: tokenFile(TOKEN), reloadSeconds: 3600 });
    const big = await app.inject({
      method: 'POST',
      url: '/sync',
      headers: { 'content-type': 'application/json' },
      payload: `{"x":"${'a'.repeat(2 * hookConfig.bodyLimit)}"}`,
    });
    assert.equal(big.statusCode, 401);
    const broken = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/yaml' }, payload: 'parent: [' });
    assert.equal(broken.statusCode, 401);
    assert.equal(reader.calls, 0);
  });

  it('/healthz and /readyz stay open', async (t) => {
    const { app } = await hookWith(t, { tokenFile: tokenFile(TOKEN), reloadSeconds: 3600 });
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.equal((await app.inject('/readyz')).statusCode, 200);
  });

  it('accepts every token listed in the file (one per line), for rotation', async (t) => {
    const { app } = await hookWith(t, { tokenFile: tokenFile(`${TOKEN}\n\n  ${NEXT_TOKEN}  \n`), reloadSeconds: 3600 });
    assert.equal((await sync(app, `Bearer ${TOKEN}`)).statusCode, 200);
    assert.equal((await sync(app, `Bearer ${NEXT_TOKEN}`)).statusCode, 200);
  });

  it('re-reads the token file: a rotated token is accepted and the old one refused; a broken file keeps the last good tokens and is reported once, without its content', async (t) => {
    const file = tokenFile(TOKEN);
    const logs: string[] = [];
    const { app } = await hookWith(t, { tokenFile: file, reloadSeconds: 3600 }, logs);
    const reload = (app as unknown as { reloadCredentials: () => void }).reloadCredentials;
    writeFileSync(file, NEXT_TOKEN);
    reload();
    assert.equal((await sync(app, `Bearer ${TOKEN}`)).statusCode, 403);
    assert.equal((await sync(app, `Bearer ${NEXT_TOKEN}`)).statusCode, 200);
    writeFileSync(file, 'short\n');
    reload();
    reload();
    assert.equal((await sync(app, `Bearer ${NEXT_TOKEN}`)).statusCode, 200, 'the last good token still works');
    const reports = logs.filter((l) => l.includes('cannot reload'));
    assert.equal(reports.length, 1, 'reported once, not once per period');
    assert.match(reports[0]!, /VAULTAPP_AUTH_TOKEN_FILE/);
    const all = logs.join('');
    for (const secret of [TOKEN, NEXT_TOKEN, 'short']) assert.ok(!all.includes(`"${secret}`) && !all.includes(` ${secret}`), `logs contain ${secret}`);
  });

  it('reloads on its own every reloadSeconds', async (t) => {
    // The hook's own interval timer, driven by the test: a tick is one period, whatever the machine's load.
    t.mock.timers.enable({ apis: ['setInterval'] });
    const file = tokenFile(TOKEN);
    const { app } = await hookWith(t, { tokenFile: file, reloadSeconds: 1 });
    writeFileSync(file, NEXT_TOKEN);
    t.mock.timers.tick(999);
    assert.equal((await sync(app, `Bearer ${NEXT_TOKEN}`)).statusCode, 403, 'not read again before the period ends');
    t.mock.timers.tick(1);
    assert.equal((await sync(app, `Bearer ${NEXT_TOKEN}`)).statusCode, 200, 'read again once it has');
  });

  it('a refusal is logged with its reason and route, never with the presented credentials', async (t) => {
    const logs: string[] = [];
    const { app } = await hookWith(t, { tokenFile: tokenFile(TOKEN), reloadSeconds: 3600 }, logs);
    const presented = 'almost-the-token-but-not-quite-123456';
    await sync(app, `Bearer ${presented}`);
    await sync(app, `Bearer ${TOKEN}`);
    const all = logs.join('');
    assert.match(all, /refused hook call/);
    assert.ok(!all.includes(presented));
    assert.ok(!all.includes(TOKEN));
  });

  it('refused calls are counted by code in vaultapp_hook_auth_refused_total (brute force shows); accepted ones are not', async (t) => {
    const metrics = createMetrics(undefined);
    const app = await build(t, recordedReader(material), { hookSecurity: { tokenFile: tokenFile(TOKEN), reloadSeconds: 3600 } }, { metrics });
    const refused = async (): Promise<Record<string, number | undefined>> => {
      const text = (await app.inject('/metrics')).body;
      const count = (code: string) => new RegExp(`^vaultapp_hook_auth_refused_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(text)?.[1];
      return { UNAUTHENTICATED: Number(count('UNAUTHENTICATED')), FORBIDDEN: Number(count('FORBIDDEN')) };
    };
    assert.deepStrictEqual(await refused(), { UNAUTHENTICATED: 0, FORBIDDEN: 0 }, 'both series exist before the first refusal');
    await sync(app);
    for (let i = 0; i < 3; i++) assert.equal((await sync(app, `Bearer guess-${i}-0123456789abcdef`)).statusCode, 403);
    assert.equal((await sync(app, `Bearer ${TOKEN}`)).statusCode, 200);
    assert.equal((await sync(app, undefined, '/finalize')).statusCode, 401);
    assert.deepStrictEqual(await refused(), { UNAUTHENTICATED: 2, FORBIDDEN: 3 });
  });

  it('without a token file in the security config, no credentials are asked for (npm run dev, tests)', async (t) => {
    const { app } = await hookWith(t, { reloadSeconds: 10 });
    assert.equal((await sync(app)).statusCode, 200);
  });

  it('VAULTAPP_HOOK_AUTH=required without a token file or client CA does not build', async (t) => {
    await assert.rejects(build(t, recordedReader(material), { hookSecurity: { mode: 'required', reloadSeconds: 10 } }), /VAULTAPP_AUTH_TOKEN_FILE/);
  });
});

describe('HookCredentials.tokenAccepted', () => {
  it('compares tokens of any length without throwing, and only whole tokens', () => {
    const c = new HookCredentials({ tokenFile: tokenFile(`${TOKEN}\n${NEXT_TOKEN}`) });
    for (const p of ['', 'x', TOKEN.slice(1), TOKEN + TOKEN, 'é'.repeat(100), '\u0000'.repeat(40)]) assert.equal(c.tokenAccepted(p), false, JSON.stringify(p));
    assert.equal(c.tokenAccepted(TOKEN), true);
    assert.equal(c.tokenAccepted(NEXT_TOKEN), true);
  });
});

describe('when the hook must refuse to start (hookSecurityProblem)', () => {
  const k8s = { method: 'kubernetes' } as const;
  const tok = { method: 'token', token: 't' } as const;
  const cases: [string, Parameters<typeof hookSecurityProblem>[0], RegExp | undefined][] = [
    [
      'kubernetes auth without a token file or client CA',
      { auth: k8s as never, hookSecurity: { reloadSeconds: 10 } },
      /VAULTAPP_AUTH_TOKEN_FILE.*VAULTAPP_TLS_CLIENT_CA_FILE.*VAULTAPP_HOOK_AUTH=none/,
    ],
    [
      'kubernetes auth with TLS but no client CA and no token',
      { auth: k8s as never, hookSecurity: { tls: { certFile: 'c', keyFile: 'k' }, reloadSeconds: 10 } },
      /VAULTAPP_AUTH=kubernetes/,
    ],
    ['kubernetes auth with a token file', { auth: k8s as never, hookSecurity: { tokenFile: 'f', reloadSeconds: 10 } }, undefined],
    [
      'kubernetes auth with a client CA',
      { auth: k8s as never, hookSecurity: { tls: { certFile: 'c', keyFile: 'k', clientCaFile: 'ca' }, reloadSeconds: 10 } },
      undefined,
    ],
    ['kubernetes auth with VAULTAPP_HOOK_AUTH=none', { auth: k8s as never, hookSecurity: { mode: 'none', reloadSeconds: 10 } }, undefined],
    ['token auth (local work) without credentials', { auth: tok, hookSecurity: { reloadSeconds: 10 } }, undefined],
    [
      'token auth with VAULTAPP_HOOK_AUTH=required and no credentials',
      { auth: tok, hookSecurity: { mode: 'required', reloadSeconds: 10 } },
      /VAULTAPP_HOOK_AUTH=required/,
    ],
  ];
  for (const [name, config, expected] of cases) {
    it(`${name}: ${expected ? 'refuses' : 'starts'}`, () => {
      const problem = hookSecurityProblem(config);
      if (expected) assert.match(problem ?? '', expected);
      else assert.equal(problem, undefined);
    });
  }
});
