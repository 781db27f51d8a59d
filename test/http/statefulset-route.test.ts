// Over HTTP, a StatefulSet's claim template keeps the null the API server stores for a
// data source's absent apiGroup (src/hook/stored-forms/claim-templates.ts): the answer's serialiser
// must not drop it, or Metacontroller would update the StatefulSet on every sync.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildHook, readExample, syncOnce } from '../support/examples.js';

it("a claim template's dataSource without apiGroup is answered with apiGroup: null", async (t) => {
  const hook = await buildHook(t);
  const app: any = readExample('statefulset.yaml');
  app.metadata.uid = '6b1f3c2e-0000-4000-8000-000000000002';
  app.spec.statefulSetSpec.volumeClaimTemplates[0].spec.dataSource = { kind: 'PersistentVolumeClaim', name: 'src' };
  const res = await syncOnce(hook, app);
  const sts: any = res.children.find((c) => c.kind === 'StatefulSet');
  assert.deepStrictEqual(sts.spec.volumeClaimTemplates[0].spec.dataSource, { kind: 'PersistentVolumeClaim', name: 'src', apiGroup: null });
});
