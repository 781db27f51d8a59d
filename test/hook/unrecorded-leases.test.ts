import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEASES_ANNOTATION } from '../../src/hook/carried-state/leases.js';
import type { VaultMaterial } from '../../src/hook/contract.js';
import { unrecordedLeases } from '../../src/hook/reconcile.js';

const now = new Date('2026-11-28T10:00:00Z');
const material: VaultMaterial = {
  auth: { ok: true },
  reads: {
    'database/creds/app': {
      ok: true,
      engine: 'leased',
      data: { username: 'u', password: 'p' },
      lease: { id: 'database/creds/app/L1', durationSeconds: 600, renewable: true, sealedToken: 'sealed' },
    },
    'kv/data/app/x': { ok: true, engine: 'kv2', data: { key: 'v' } },
    'kv/data/app/missing': { ok: false, problem: { code: 'VAULT_PATH_NOT_FOUND', message: 'nothing there' } },
  },
};
const secretRecording = (ids: string[]) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 's',
    annotations: {
      [LEASES_ANNOTATION]: JSON.stringify(
        ids.map((leaseId) => ({
          path: 'database/creds/app',
          leaseId,
          issuedAt: '2026-11-28T10:00:00Z',
          renewedAt: '2026-11-28T10:00:00Z',
          duration: 600,
          ttl: 600,
          renewable: true,
          maxed: false,
        })),
      ),
    },
  },
});

describe('unrecordedLeases', () => {
  it('a lease issued but absent from the answer (no Secret) is returned, with its creating token, for revocation', () => {
    assert.deepStrictEqual(unrecordedLeases(material, { children: [] }, now), [
      {
        path: 'database/creds/app',
        leaseId: 'database/creds/app/L1',
        issuedAt: '2026-11-28T10:00:00Z',
        renewedAt: '2026-11-28T10:00:00Z',
        duration: 600,
        ttl: 600,
        renewable: true,
        maxed: false,
        token: 'sealed',
      },
    ]);
  });

  it("a lease the answer's Secret records is not returned; neither are KV reads or failures", () => {
    assert.deepStrictEqual(unrecordedLeases(material, { children: [secretRecording(['database/creds/app/L1'])] }, now), []);
  });

  it('a kept Secret that records an older lease of the same path: the new one is returned', () => {
    assert.deepStrictEqual(
      unrecordedLeases(material, { children: [secretRecording(['database/creds/app/L0'])] }, now).map((r) => r.leaseId),
      ['database/creds/app/L1'],
    );
  });
});
