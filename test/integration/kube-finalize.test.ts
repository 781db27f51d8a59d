// /finalize while a lease cannot be revoked keeps the managed Secret, and that answer must
// be one the API server accepts as an update of the Secret it holds: a Secret's type is
// immutable, so an answer that changed it (a typed Secret answered as Opaque) would be
// refused at every retry, and the records of the leases left to revoke never written.
// A real kube-apiserver is the judge; the update is made as Metacontroller makes it
// (InPlace: the stored object with the fields the hook owns replaced, then PUT).
import type { UnsignedLeaseRecord, VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { LEASES_ANNOTATION } from '../../src/hook/carried-state/leases.js';
import { CHILD_TYPE } from '../../src/hook/children/names.js';
import type { KubeObject, SyncResponse } from '../../src/hook/types.js';
import type { VaultReader } from '../../src/vault/reader.js';
import { loadExample } from '../fixtures/requests.js';
import { build, wallClock } from '../support/build-app.js';
import { startKubeApiServer, type KubeServer } from '../support/kube-apiserver.js';
import { collectionPath, createNamespace, installCrd, objectPath, syncOnce, VAULTAPP_CRD_FILE } from '../support/kube-vaultapp.js';

const NAMESPACE = 'finalize';
const PATH = 'database/creds/billing';

let kube: KubeServer;
let hook: FastifyInstance;
let revocations = 0;

// Vault as seen during an outage at deletion: the credential was issued, no revocation goes through.
const reader: VaultReader = {
  stats: { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 },
  async material(): Promise<VaultMaterial> {
    return {
      auth: { ok: true },
      reads: {
        [PATH]: {
          ok: true,
          engine: 'leased',
          data: { username: 'v-billing-1', password: 'pw-1' },
          lease: { id: `${PATH}/l1`, durationSeconds: 3600, renewable: true },
        },
      },
    };
  },
  async revoke<R extends UnsignedLeaseRecord>(_app: VaultApp, records: R[]) {
    revocations += records.length;
    return records.map((record) => ({ record, ok: false as const, message: `cannot revoke the lease of path "${PATH}": Vault is unreachable` }));
  },
};

before(
  async (t) => {
    kube = await startKubeApiServer();
    hook = await build(t, reader, {}, { now: wallClock });
    await installCrd(kube, readFileSync(VAULTAPP_CRD_FILE, 'utf8'));
    await createNamespace(kube, NAMESPACE);
  },
  { timeout: 60 * 60_000 },
);
after(async () => {
  await kube?.stop();
});

function typedApp(name: string, type: string): VaultApp {
  const app = loadExample();
  delete (app.metadata as { uid?: string }).uid;
  app.metadata = { name, namespace: NAMESPACE };
  app.spec.vault = {
    role: 'billing-app',
    secrets: [
      { path: PATH, key: 'username', targetKey: 'username' },
      { path: PATH, key: 'password', targetKey: 'password' },
    ],
  };
  app.spec.secret = { type, labels: { team: 'billing' } };
  app.spec.monitoring = { enabled: false };
  return app;
}

/** Metacontroller's InPlace update: what it owns replaced on the stored object, then an update. */
function updateOver(stored: KubeObject, desired: KubeObject): KubeObject {
  const { labels, annotations } = desired.metadata;
  const metadata = { ...stored.metadata, labels: { ...stored.metadata.labels, ...labels }, annotations: { ...stored.metadata.annotations, ...annotations } };
  return { ...stored, metadata, type: desired.type, data: desired.data };
}

async function finalizeOnce(parent: unknown, secret: KubeObject): Promise<SyncResponse> {
  const children = {
    [CHILD_TYPE.secret]: { [secret.metadata.name]: secret },
    [CHILD_TYPE.deployment]: {},
    [CHILD_TYPE.service]: {},
    [CHILD_TYPE.statefulSet]: {},
    [CHILD_TYPE.serviceMonitor]: {},
  };
  const res = await hook.inject({ method: 'POST', url: '/finalize', payload: { controller: {}, parent, children, finalizing: true } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as SyncResponse;
}

describe('/finalize with a lease it cannot revoke answers a Secret the API server accepts', () => {
  for (const type of ['kubernetes.io/basic-auth', 'Opaque']) {
    it(`a Secret of type ${type}`, async () => {
      const name = `db-${type.replace(/[^a-z]/g, '').slice(-10)}`;
      const app = typedApp(name, type);
      const parent = await kube.request('POST', collectionPath(app as never), app);
      const answered = (await syncOnce(hook, parent)).children.find((c) => c.kind === 'Secret')!;
      assert.equal(answered.type, type);
      const created: KubeObject = await kube.request('POST', collectionPath(answered), answered);

      const before = revocations;
      const res = await finalizeOnce(parent, created);
      assert.equal(res.finalized, false);
      assert.equal(revocations, before + 1, 'the recorded lease was tried');
      const kept = res.children.find((c) => c.kind === 'Secret')!;
      const stored: KubeObject = await kube.request('PUT', objectPath(created), updateOver(created, kept));
      assert.equal(stored.type, type);
      assert.deepStrictEqual(stored.data, created.data);
      assert.deepStrictEqual(
        JSON.parse(stored.metadata.annotations![LEASES_ANNOTATION]!).map((r: { leaseId: string }) => r.leaseId),
        [`${PATH}/l1`],
      );
      assert.equal(stored.metadata.labels?.team, 'billing');
      // The retry finds what it answered in place: the next answer is the same Secret.
      assert.deepStrictEqual((await finalizeOnce(parent, stored)).children, res.children);
    });
  }
});
