import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { enableDatabaseSecrets, PROBE_TABLE, startPostgres, type PgServer } from '../support/postgres.js';
import { startVaultServer, type VaultServer } from '../support/vault-server.js';

const ROLE = 'app-reader';

interface Creds {
  leaseId: string;
  leaseDuration: number;
  username: string;
  password: string;
}

async function readCreds(vault: VaultServer): Promise<Creds> {
  const res = await vault.request('GET', `database/creds/${ROLE}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const { lease_id, lease_duration, renewable, data } = res.body;
  assert.match(lease_id, new RegExp(`^database/creds/${ROLE}/`));
  assert.equal(lease_duration, 30); // default_ttl
  assert.equal(renewable, true);
  assert.equal(typeof data.username, 'string');
  assert.equal(typeof data.password, 'string');
  return { leaseId: lease_id, leaseDuration: lease_duration, username: data.username, password: data.password };
}

async function validUntil(pgs: PgServer, role: string): Promise<Date> {
  const res = await pgs.query<{ rolvaliduntil: Date }>('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [role]);
  assert.equal(res.rowCount, 1);
  return res.rows[0]!.rolvaliduntil;
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

let vault: VaultServer;
let pgs: PgServer;

// A cold machine first builds Vault from source (minutes) and installs Debian's
// postgresql package (about 15-20 s); later runs start both in a few seconds.
before(
  async () => {
    const [v, p] = await Promise.allSettled([startVaultServer(), startPostgres()]);
    if (v.status === 'fulfilled') vault = v.value;
    if (p.status === 'fulfilled') pgs = p.value;
    for (const r of [v, p]) if (r.status === 'rejected') throw r.reason;
  },
  { timeout: 30 * 60_000 },
);

after(async () => {
  await Promise.all([vault?.stop(), pgs?.stop()]);
});

test('Vault issues, renews and revokes PostgreSQL logins', { timeout: 60_000 }, async (t) => {
  t.diagnostic(`PostgreSQL ${pgs.version} on port ${pgs.port}`);

  // The superuser logs in with its password only.
  assert.equal(await pgs.canLogin(pgs.superuser, pgs.password), true);
  assert.equal(await pgs.canLogin(pgs.superuser, 'not-the-password'), false);

  await enableDatabaseSecrets(vault, pgs, { role: ROLE, defaultTtl: '30s', maxTtl: '2m' });

  const a = await readCreds(vault);
  const b = await readCreds(vault);
  assert.notEqual(a.username, b.username);
  assert.notEqual(a.leaseId, b.leaseId);
  for (const c of [a, b]) {
    assert.equal(await pgs.roleExists(c.username), true, c.username);
    assert.equal(await pgs.canLogin(c.username, c.password), true, c.username);
  }
  assert.equal(await pgs.canLogin(a.username, b.password), false);

  // The grants of the creation statements work: a reads the probe table through a URL.
  const client = new pg.Client({ connectionString: pgs.connectionUrl(a.username, a.password) });
  await client.connect();
  try {
    const rows = (await client.query(`SELECT note FROM ${PROBE_TABLE}`)).rows;
    assert.deepEqual(rows, [{ note: 'hello from vaultapp' }]);
  } finally {
    await client.end();
  }

  // Renew a: the lease gets the increment (within max_ttl) and the role's VALID UNTIL moves.
  const before = await validUntil(pgs, a.username);
  const renewed = await vault.request('PUT', 'sys/leases/renew', { lease_id: a.leaseId, increment: 90 });
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  assert.equal(renewed.body.lease_id, a.leaseId);
  assert.equal(renewed.body.renewable, true);
  assert.ok(renewed.body.lease_duration > 30 && renewed.body.lease_duration <= 120, JSON.stringify(renewed.body));
  const after = await validUntil(pgs, a.username);
  assert.ok(after.getTime() - before.getTime() >= 45_000, `VALID UNTIL ${before.toISOString()} -> ${after.toISOString()}`);
  assert.equal(await pgs.canLogin(a.username, a.password), true);

  // Revoke b: the role is dropped and cannot log in; a is untouched.
  const revoked = await vault.request('PUT', 'sys/leases/revoke', { lease_id: b.leaseId });
  assert.equal(revoked.status, 204, JSON.stringify(revoked.body));
  assert.equal(await pgs.roleExists(b.username), false);
  assert.equal(await pgs.canLogin(b.username, b.password), false);
  assert.equal(await pgs.roleExists(a.username), true);
  assert.equal(await pgs.canLogin(a.username, a.password), true);
  const lookup = await vault.request('PUT', 'sys/leases/lookup', { lease_id: b.leaseId });
  assert.equal(lookup.status, 400, JSON.stringify(lookup.body)); // "invalid lease"

  // stop() ends the server and removes its files; a second call is harmless.
  await pgs.stop();
  await pgs.stop();
  assert.equal(existsSync(pgs.dir), false);
  assert.equal(await refusesConnections(pgs.port), true);
});
