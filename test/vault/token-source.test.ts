// Edge cases of token caching and renewal, against recorded Vault answers and a
// controlled clock. The real login path is exercised in test/integration.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VaultRequestError, type VaultHttp, type VaultResponse } from '../../src/vault/http.js';
import { fileJwtSource, kubernetesTokenSource, tokenRequestJwtSource, type Identity } from '../../src/vault/token-source.js';

const id = (role: string): Identity => ({ namespace: 'team-a', serviceAccount: 'app', role });
const jwtPath = join(mkdtempSync(join(tmpdir(), 'vaultapp-sa-')), 'token');
writeFileSync(jwtPath, 'header.payload.signature\n');

function recorded(answers: { renew?: () => VaultResponse }) {
  const calls: { path: string; body: Record<string, unknown>; token?: string }[] = [];
  let n = 0;
  const http: VaultHttp = {
    read: async () => ({}),
    health: async () => ({ status: 200 }),
    async write(path, body, token) {
      calls.push({ path, body, token });
      if (path.endsWith('/login')) return { auth: { client_token: `tok-${++n}`, lease_duration: 60, renewable: true } };
      if (path === 'auth/token/renew-self') {
        if (!answers.renew) throw new VaultRequestError('http', 403, ['permission denied'], 'renew refused');
        return answers.renew();
      }
      throw new Error(`unexpected write ${path}`);
    },
  };
  return { http, calls };
}

describe('kubernetesTokenSource', () => {
  it('logs in once, with the role and the service-account token, at the configured mount; later calls hit the cache', async () => {
    let now = 0;
    const { http, calls } = recorded({});
    const src = kubernetesTokenSource(http, { mount: 'kubernetes', jwt: fileJwtSource(jwtPath), now: () => now });
    const tokens = await Promise.all([src.token(id('billing-app')), src.token(id('billing-app')), src.token(id('billing-app'))]);
    now = 30_000;
    tokens.push(await src.token(id('billing-app')));
    assert.deepStrictEqual(tokens, ['tok-1', 'tok-1', 'tok-1', 'tok-1']);
    assert.deepStrictEqual(calls, [{ path: 'auth/kubernetes/login', body: { role: 'billing-app', jwt: 'header.payload.signature' }, token: undefined }]);
    assert.equal(src.stats.logins, 1);
  });

  it('roles are cached apart', async () => {
    const { http } = recorded({});
    const src = kubernetesTokenSource(http, { mount: 'kubernetes', jwt: fileJwtSource(jwtPath), now: () => 0 });
    assert.notEqual(await src.token(id('a')), await src.token(id('b')));
    assert.notEqual(src.key(id('a')), src.key(id('b')));
  });

  it('renews once two thirds of the TTL has passed, and keeps the token', async () => {
    let now = 0;
    const { http, calls } = recorded({ renew: () => ({ auth: { lease_duration: 60, renewable: true } }) });
    const src = kubernetesTokenSource(http, { mount: 'kubernetes', jwt: fileJwtSource(jwtPath), now: () => now });
    await src.token(id('r'));
    now = 41_000;
    assert.equal(await src.token(id('r')), 'tok-1');
    assert.deepStrictEqual(
      calls.map((c) => [c.path, c.token]),
      [
        ['auth/kubernetes/login', undefined],
        ['auth/token/renew-self', 'tok-1'],
      ],
    );
    now = 60_000; // renewed at 41 s for 60 s: still fresh
    assert.equal(await src.token(id('r')), 'tok-1');
    assert.equal(calls.length, 2);
  });

  it('logs in again when renewal fails or when the token has expired', async () => {
    let now = 0;
    const { http, calls } = recorded({});
    const src = kubernetesTokenSource(http, { mount: 'kubernetes', jwt: fileJwtSource(jwtPath), now: () => now });
    await src.token(id('r'));
    now = 45_000;
    assert.equal(await src.token(id('r')), 'tok-2');
    now = 500_000;
    assert.equal(await src.token(id('r')), 'tok-3');
    assert.deepStrictEqual(
      calls.map((c) => c.path),
      ['auth/kubernetes/login', 'auth/token/renew-self', 'auth/kubernetes/login', 'auth/kubernetes/login'],
    );
  });

  it('a token Vault refused is dropped, and the next call logs in', async () => {
    const { http } = recorded({});
    const src = kubernetesTokenSource(http, { mount: 'kubernetes', jwt: fileJwtSource(jwtPath), now: () => 0 });
    const first = await src.token(id('r'));
    assert.equal(src.invalidate(id('r'), first), true);
    assert.equal(await src.token(id('r')), 'tok-2');
  });
});

describe('tokenRequestJwtSource', () => {
  it('requests a token per namespace and service account, with the audience, and reuses it until a fifth of its life is left', async () => {
    let now = 0;
    const asked: string[] = [];
    const src = tokenRequestJwtSource(
      {
        async request(ns, sa, aud, secs) {
          asked.push(`${ns}/${sa} ${aud} ${secs}`);
          return { token: `jwt-${asked.length}`, expiresAt: now + secs * 1000 };
        },
      },
      { audience: 'vault', expirationSeconds: 600, now: () => now },
    );
    const a = { namespace: 'team-a', serviceAccount: 'app-a', role: 'r1' };
    assert.deepStrictEqual(await Promise.all([src.jwt(a), src.jwt({ ...a, role: 'r2' })]), ['jwt-1', 'jwt-1']);
    assert.equal(await src.jwt({ ...a, namespace: 'team-b' }), 'jwt-2');
    now = 479_000;
    assert.equal(await src.jwt(a), 'jwt-1');
    now = 481_000;
    assert.equal(await src.jwt(a), 'jwt-3');
    assert.deepStrictEqual(asked, ['team-a/app-a vault 600', 'team-b/app-a vault 600', 'team-a/app-a vault 600']);
  });
});
