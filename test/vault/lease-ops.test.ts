// The Vault edge of lease records: sealed tokens open only for the VaultApp, path and
// lease they were sealed for, lease URLs are checked and encoded where they are built,
// and what goes into a status condition is the hook's own words.
import { sealedTokenContext, type StateBinding, type LeaseRecord } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VaultRequestError, type VaultHttp, type VaultResponse } from '../../src/vault/http.js';
import { allowedRolesGate } from '../../src/vault/index.js';
import { createLeaseOps, leaseUrl } from '../../src/vault/lease-ops.js';
import { createTokenSealer } from '../../src/vault/token-seal.js';

const sealer = createTokenSealer('test-hmac-key-0123456789');
const PATH = 'database/creds/billing';
const A: StateBinding = { namespace: 'team-a', name: 'app', uid: 'uid-a' };
const B: StateBinding = { namespace: 'team-b', name: 'app', uid: 'uid-b' };

describe('sealed creating tokens', () => {
  const sealed = sealer.seal('hvs.creating-token', sealedTokenContext(A, PATH, `${PATH}/l1`));

  it('open for the VaultApp, path and lease they were sealed for', () => {
    assert.equal(sealer.unseal(sealed, sealedTokenContext(A, PATH, `${PATH}/l1`)), 'hvs.creating-token');
  });

  for (const [name, context] of [
    ['another VaultApp', sealedTokenContext(B, PATH, `${PATH}/l1`)],
    ['another lease of the same VaultApp', sealedTokenContext(A, PATH, `${PATH}/l2`)],
    ['another path', sealedTokenContext(A, 'database/creds/other', `${PATH}/l1`)],
  ] as const) {
    it(`do not open for ${name}`, () => assert.equal(sealer.unseal(sealed, context), undefined));
  }

  it('the old form without associated data, damaged or oversized text: not opened', () => {
    const ctx = sealedTokenContext(A, PATH, `${PATH}/l1`);
    assert.equal(sealer.unseal(`v1.${sealed.slice(3)}`, ctx), undefined);
    assert.equal(sealer.unseal('v2.', ctx), undefined);
    assert.equal(sealer.unseal(`v2.${'A'.repeat(5000)}`, ctx), undefined);
    assert.equal(createTokenSealer('another-key-0123456789').unseal(sealed, ctx), undefined);
  });
});

describe('leaseUrl', () => {
  it('encodes each segment of a lease id under its path', () => {
    assert.equal(leaseUrl('renew', { path: PATH, leaseId: `${PATH}/a b+c` }), `sys/leases/renew/${PATH}/a%20b%2Bc`);
  });
  it('refuses an id outside its path', () => {
    for (const leaseId of ['../../../auth/token/revoke-self', `${PATH}/../../../sys/seal`, `${PATH}/x?increment=1`, 'auth/token/create']) {
      assert.equal(leaseUrl('revoke', { path: PATH, leaseId }), undefined, leaseId);
    }
  });
});

describe('lease operations', () => {
  function recording(fail?: VaultRequestError | Error): { http: VaultHttp; writes: { path: string; token?: string }[] } {
    const writes: { path: string; token?: string }[] = [];
    const http: VaultHttp = {
      read: async () => ({}),
      health: async () => ({ status: 200 }),
      async write(path, _body, token) {
        writes.push({ path, ...(token ? { token } : {}) });
        if (fail) throw fail;
        // Vault answers some writes with 204 and no body.
        return undefined as unknown as VaultResponse;
      },
    };
    return { http, writes };
  }
  const record = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({
    path: PATH,
    leaseId: `${PATH}/l1`,
    issuedAt: '2026-11-27T12:00:00Z',
    renewedAt: '2026-11-27T12:00:00Z',
    duration: 60,
    ttl: 60,
    renewable: true,
    maxed: false,
    token: sealer.seal('hvs.creating', sealedTokenContext(A, PATH, `${PATH}/l1`)),
    tokenTtl: 45,
    mac: 'm',
    ...over,
  });

  it("a renewal uses the creating token only for the VaultApp it was sealed for; elsewhere, the VaultApp's own token", async () => {
    const { http, writes } = recording();
    const ops = createLeaseOps(http, sealer);
    await ops.renew(PATH, { action: 'renew', record: record(), lease: true, token: true }, A, async () => 'hvs.own');
    await ops.renew(PATH, { action: 'renew', record: record(), lease: true, token: true }, B, async () => 'hvs.own-b');
    assert.deepStrictEqual(writes, [
      { path: 'auth/token/renew-self', token: 'hvs.creating' },
      { path: `sys/leases/renew/${PATH}/l1`, token: 'hvs.creating' },
      { path: `sys/leases/renew/${PATH}/l1`, token: 'hvs.own-b' },
    ]);
  });

  it('an answer without a body (204) is read as no TTL, not a TypeError', async () => {
    const { http } = recording();
    const res = await createLeaseOps(http, sealer).renew(PATH, { action: 'renew', record: record(), lease: true, token: true }, A, async () => 't');
    assert.deepStrictEqual(res?.ok && 'renewal' in res ? [res.renewal, res.tokenRenewal] : res, [
      { ttl: 0, requested: 60 },
      { ttl: 0, requested: 45 },
    ]);
  });

  it('a lease id outside its path reaches no Vault endpoint', async () => {
    const { http, writes } = recording();
    const ops = createLeaseOps(http, sealer);
    const bad = record({ leaseId: '../../../auth/token/revoke-self' });
    const renewed = await ops.renew(PATH, { action: 'renew', record: bad, lease: true, token: true }, A, async () => 't');
    assert.equal(renewed?.ok, false);
    assert.equal((await ops.revoke(bad, A, async () => 't')).ok, false);
    assert.deepStrictEqual(writes, []);
  });

  it("messages name the path and Vault's status, never Vault's text of a lease call nor an exception's", async () => {
    const vaultSays = new VaultRequestError('http', 500, ['internal detail from some endpoint'], 'x');
    const ops = createLeaseOps(recording(vaultSays).http, sealer);
    const renewed = await ops.renew(PATH, { action: 'renew', record: record(), lease: true, token: false }, A, async () => 't');
    assert.deepStrictEqual(renewed && !renewed.ok ? renewed.problem : renewed, {
      code: 'LEASE_RENEWAL_FAILED',
      message: `cannot renew the lease of path "${PATH}": Vault answered 500`,
    });
    const thrown = await createLeaseOps(recording(new TypeError("Cannot read properties of undefined (reading 'lease_duration')")).http, sealer).revoke(
      record(),
      A,
      async () => 't',
    );
    assert.deepStrictEqual(thrown, { ok: false, message: `cannot revoke the lease of path "${PATH}": an unexpected error in the hook (see its log)` });
  });
});

describe('allowedRolesGate', () => {
  it('a namespace named like an Object.prototype member is looked up as an own entry (was: a 500 on every sync)', () => {
    const gate = allowedRolesGate({ 'team-a': ['app'] });
    for (const namespace of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(gate({ namespace, serviceAccount: 'default', role: 'app' })?.code, 'ROLE_NOT_ALLOWED', namespace);
    }
    assert.equal(allowedRolesGate(JSON.parse('{"constructor": ["app"]}'))({ namespace: 'constructor', serviceAccount: 'default', role: 'app' }), undefined);
  });
});
