// One VaultApp's reads stop at what its Secret may hold: the budget's
// accounting, and the reader against a Vault whose answers arrive in chunks, as the
// transport hands them over. test/integration/read-budget.test.ts runs it against a real Vault.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { PathRead } from '../../src/hook/contract.js';
import { VaultRequestError, type ReadLimits, type VaultHttp, type VaultResponse } from '../../src/vault/http.js';
import { LargeReadSlots, READ_BUDGET_BYTES, ReadBudget, SMALL_READS_BYTES } from '../../src/vault/read-budget.js';
import { createVaultReader } from '../../src/vault/reader.js';
import { staticTokenSource } from '../../src/vault/token-source.js';
import { createTokenSealer } from '../../src/vault/token-seal.js';
import { loadExample } from '../fixtures/requests.js';

const MiB = 1024 * 1024;
const KiB = 1024;
const CHUNK = 64 * KiB;
const sealer = createTokenSealer('test-hmac-key-0123456789');

describe('ReadBudget', () => {
  it('counts every share, takes a large-read slot past the small allowance, and stops all reads past its limit', async () => {
    const slots = new LargeReadSlots(1);
    const budget = new ReadBudget(slots, 1000, 100);
    const a = budget.share();
    const b = budget.share();
    assert.ok(a.charge(60));
    assert.equal(slots.free, 1);
    assert.ok(b.charge(60), 'past the small allowance with a slot free');
    assert.equal(slots.free, 0);
    assert.ok(a.charge(800));
    assert.equal(budget.used, 920);
    assert.equal(b.charge(81), false);
    assert.equal(budget.stoppedBy, 'over');
    assert.equal(await a.stopped, 'over');
    assert.equal(a.charge(1), false, 'every share of the sync stops');
    budget.close();
    assert.equal(slots.free, 1, 'the slot goes back when the sync ends');
  });

  it('with no slot free, yields; once it has one, forgets what the stopped reads had counted', async () => {
    const slots = new LargeReadSlots(1);
    assert.ok(slots.tryTake());
    const budget = new ReadBudget(slots, 1000, 100);
    const done = budget.share();
    assert.ok(done.charge(40));
    done.done = true;
    const running = budget.share();
    assert.ok(running.charge(50));
    assert.equal(running.charge(20), false);
    assert.equal(await running.stopped, 'yield');
    const waiting = slots.take(60_000);
    slots.release();
    assert.equal(await waiting, true);
    budget.resume();
    assert.equal(budget.used, 40, 'the finished read keeps its count, the stopped one is forgotten');
    assert.equal(budget.stoppedBy, undefined);
    assert.ok(budget.share().charge(900), 'it holds the slot now');
    budget.close();
    assert.equal(slots.free, 1);
  });

  it('a slot not given within the wait is not taken later', async () => {
    const slots = new LargeReadSlots(1);
    assert.ok(slots.tryTake());
    assert.equal(await slots.take(1), false);
    slots.release();
    assert.equal(slots.free, 1, 'the waiter that gave up took nothing');
  });
});

/** KV v2 values of `size` bytes, answered in chunks of 64 KiB with a turn of the event loop between them, as a socket would. */
function chunkedVault(values: Record<string, number>, opts: { leased?: string[] } = {}) {
  const seen = { delivered: 0, reads: [] as string[], stopped: 0 };
  const answer = (path: string): VaultResponse | undefined => {
    if (opts.leased?.includes(path)) return { lease_id: `${path}/lease`, lease_duration: 60, renewable: true, data: { k: 'x'.repeat(values[path] ?? 10) } };
    const size = values[path.replace('/data/', '/')];
    return size === undefined ? undefined : { data: { data: { k: 'x'.repeat(size) }, metadata: { version: 1 } } };
  };
  const http: VaultHttp = {
    write: async () => ({}),
    health: async () => ({ status: 200 }),
    async read(path: string, _token: string, limits?: ReadLimits) {
      if (path.startsWith('sys/internal/ui/mounts/')) {
        const top = path.slice('sys/internal/ui/mounts/'.length).split('/')[0];
        return top === 'database'
          ? { data: { path: 'database/', type: 'database', options: null } }
          : { data: { path: 'kv/', type: 'kv', options: { version: '2' } } };
      }
      seen.reads.push(path);
      const a = answer(path);
      if (!a) throw new VaultRequestError('http', 404, [], 'not found');
      const body = Buffer.from(JSON.stringify(a));
      for (let off = 0; off < body.length; off += CHUNK) {
        await new Promise((r) => setImmediate(r));
        const n = Math.min(CHUNK, body.length - off);
        seen.delivered += n;
        if (limits?.maxBytes !== undefined && off + n > limits.maxBytes) throw new VaultRequestError('too-large', undefined, [], 'too large');
        if (limits?.onChunk && !limits.onChunk(n)) {
          seen.stopped++;
          throw new VaultRequestError('unreachable', undefined, [], 'stopped');
        }
      }
      return a;
    },
  };
  return { http, seen };
}

function vaultApp(name: string, paths: string[]): VaultApp {
  const a = loadExample();
  a.metadata.name = name;
  a.metadata.uid = `${name}-uid`;
  a.spec.vault.secrets = paths.map((path, i) => ({ path, key: 'k', targetKey: `t${i}` }));
  return a;
}

const paths = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `kv/${prefix}-${i}`);
const sizes = (ps: string[], size: number): Record<string, number> => Object.fromEntries(ps.map((p) => [p, size]));
const problemOf = (r: PathRead | undefined) => (r && !r.ok ? r.problem : undefined);

describe("the reader stops one VaultApp's reads at its budget", () => {
  it('eight paths of 1 MiB: reading stops near the budget, and every path says so, naming the VaultApp', async () => {
    const ps = paths('big', 8);
    const { http, seen } = chunkedVault(sizes(ps, MiB));
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer });
    const m = await reader.material(vaultApp('hostile', ps));
    // Old code: all 8 MiB were read whole.
    assert.ok(seen.delivered <= READ_BUDGET_BYTES + ps.length * CHUNK, `${seen.delivered} bytes delivered`);
    for (const p of ps) {
      const pr = problemOf(m.reads[p]);
      assert.equal(pr?.code, 'SECRET_TOO_LARGE', p);
      assert.match(pr!.message, new RegExp(`^cannot read path "${p}": the reads of VaultApp default/hostile came to more than ${READ_BUDGET_BYTES} bytes`));
      assert.doesNotMatch(pr!.message, /xxx/);
    }
    assert.equal(reader.stats.readsStopped, 1);
  });

  it('one answer larger than the whole budget stops at the budget too, with the same words', async () => {
    const { http, seen } = chunkedVault({ 'kv/huge': 5 * MiB });
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer });
    const m = await reader.material(vaultApp('huge', ['kv/huge']));
    assert.match(problemOf(m.reads['kv/huge'])?.message ?? '', /the reads of VaultApp default\/huge came to more than/);
    assert.ok(seen.delivered <= READ_BUDGET_BYTES + CHUNK);
  });

  it('an answer Vault makes (a credential) larger than a credential could be is refused by path', async () => {
    const { http } = chunkedVault({ 'database/creds/app': 300 * KiB }, { leased: ['database/creds/app'] });
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer });
    const m = await reader.material(vaultApp('made', ['database/creds/app']));
    assert.equal(problemOf(m.reads['database/creds/app'])?.code, 'SECRET_TOO_LARGE');
    assert.match(
      problemOf(m.reads['database/creds/app'])!.message,
      /^cannot read path "database\/creds\/app": Vault's answer is larger than the hook takes from one read/,
    );
  });

  it('the same spec and data give the same outcome at every sync, whichever read was running when the budget ran out', async () => {
    const ps = paths('p', 12);
    const outcomes = new Set<string>();
    for (let i = 0; i < 4; i++) {
      // Different sizes per round shift which read crosses the line; the total stays over.
      const { http } = chunkedVault(Object.fromEntries(ps.map((p, j) => [p, 200 * KiB + ((i * 7 + j * 13) % 5) * 10 * KiB])));
      const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer });
      const m = await reader.material(vaultApp('app', ps));
      outcomes.add(JSON.stringify(ps.map((p) => problemOf(m.reads[p]))));
    }
    assert.equal(outcomes.size, 1);
  });

  it('reads that fit are read whole, past the small allowance too', async () => {
    const ps = paths('fit', 3);
    const { http, seen } = chunkedVault(sizes(ps, 400 * KiB));
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer });
    const m = await reader.material(vaultApp('fits', ps));
    for (const p of ps) assert.equal(m.reads[p]?.ok, true, p);
    assert.equal(seen.stopped, 0);
    assert.ok((reader.stats.bytesRead ?? 0) > 3 * 400 * KiB);
  });

  it('a read shared with other VaultApps counts in full against each of them', async () => {
    const shared = 'kv/shared';
    const { http, seen } = chunkedVault({ [shared]: MiB, 'kv/small-own': 300 * KiB, 'kv/big-own': 700 * KiB });
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer });
    const [fits, over] = await Promise.all([
      reader.material(vaultApp('fits', [shared, 'kv/small-own'])),
      reader.material(vaultApp('over', [shared, 'kv/big-own'])),
    ]);
    assert.equal(seen.reads.filter((p) => p === 'kv/data/shared').length, 1, 'one read, shared');
    assert.equal(fits.reads[shared]?.ok, true);
    assert.equal(fits.reads['kv/small-own']?.ok, true);
    assert.equal(problemOf(over.reads[shared])?.code, 'SECRET_TOO_LARGE');
    assert.equal(problemOf(over.reads['kv/big-own'])?.code, 'SECRET_TOO_LARGE');
  });

  it('a credential from a leasing engine is read whole and kept for revocation, even when the KV reads ran over', async () => {
    const ps = paths('big', 4);
    const { http } = chunkedVault(sizes(ps, MiB), { leased: ['database/creds/app'] });
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer });
    const m = await reader.material(vaultApp('mixed', [...ps, 'database/creds/app']));
    const lease = m.reads['database/creds/app'];
    assert.ok(lease?.ok && 'lease' in lease && lease.lease?.id === 'database/creds/app/lease');
    for (const p of ps) assert.equal(problemOf(m.reads[p])?.code, 'SECRET_TOO_LARGE');
  });

  it('with every large-read slot taken, a sync waits holding nothing, then reads again', async () => {
    const slots = new LargeReadSlots(1);
    const ps = paths('mid', 2);
    const { http, seen } = chunkedVault(sizes(ps, SMALL_READS_BYTES));
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 60_000, sealer, largeReads: slots });
    assert.ok(slots.tryTake());
    const pending = reader.material(vaultApp('waits', ps));
    while (seen.stopped === 0) await new Promise((r) => setImmediate(r));
    slots.release();
    const m = await pending;
    for (const p of ps) assert.equal(m.reads[p]?.ok, true, p);
    assert.equal(slots.free, 1);
  });

  it('a slot that never comes before the deadline is reported by path, and the next sync reads again', async () => {
    const slots = new LargeReadSlots(1);
    assert.ok(slots.tryTake());
    const ps = paths('mid', 2);
    const { http } = chunkedVault(sizes(ps, SMALL_READS_BYTES));
    const reader = createVaultReader(http, staticTokenSource('t'), { deadlineMs: 200, sealer, largeReads: slots });
    const m = await reader.material(vaultApp('busy', ps));
    for (const p of ps) {
      assert.equal(problemOf(m.reads[p])?.code, 'LARGE_READS_BUSY');
      assert.match(problemOf(m.reads[p])!.message, new RegExp(`^cannot read path "${p}": all 1 of the hook's slots`));
    }
  });
});
