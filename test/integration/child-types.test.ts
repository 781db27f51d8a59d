// Every install declares, as child types of the CompositeController, each kind the hook
// answers with (src/hook/children/names.ts), with the InPlace update strategy: a child of an
// undeclared type is not applied by Metacontroller. The ServiceMonitor is the one type an
// install may leave out (the hook then makes only the metrics Service).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CHILD_TYPE } from '../../src/hook/children/names.js';
import { ensureHelm, helmTemplate } from '../support/helm.js';
import { ensureKubectl, ENSURE_KUBECTL_TIMEOUT_MS, kustomizeOverlay } from '../support/kustomize.js';

const PLURAL: Record<string, string> = {
  Secret: 'secrets',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  Service: 'services',
  ServiceMonitor: 'servicemonitors',
};
// 'StatefulSet.apps/v1' → 'apps/v1 statefulsets', as childResources names it.
const declared = (type: string): string => {
  const dot = type.indexOf('.');
  return `${type.slice(dot + 1)} ${PLURAL[type.slice(0, dot)]}`;
};
const OPTIONAL = new Set([declared(CHILD_TYPE.serviceMonitor)]);

function childTypes(objects: any[]): { types: string[]; methods: string[] } {
  const cc = objects.filter((o) => o.kind === 'CompositeController');
  assert.equal(cc.length, 1);
  const children: { apiVersion: string; resource: string; updateStrategy?: { method?: string } }[] = cc[0].spec.childResources;
  return { types: children.map((c) => `${c.apiVersion} ${c.resource}`), methods: children.map((c) => c.updateStrategy?.method ?? '(none)') };
}

function check(objects: any[], serviceMonitors: boolean): void {
  const { types, methods } = childTypes(objects);
  const want = Object.values(CHILD_TYPE)
    .map(declared)
    .filter((t) => serviceMonitors || !OPTIONAL.has(t));
  assert.deepEqual([...types].sort(), [...want].sort());
  assert.ok(types.includes('apps/v1 statefulsets'));
  assert.deepEqual(
    methods,
    types.map(() => 'InPlace'),
  );
}

describe('the CompositeController declares every child type the hook answers with', () => {
  before(
    async () => {
      await ensureKubectl();
    },
    { timeout: ENSURE_KUBECTL_TIMEOUT_MS },
  );
  for (const [name, resources, serviceMonitors] of [
    ['metacontroller/base', ['base'], true],
    ['metacontroller/without-servicemonitor', ['without-servicemonitor'], false],
  ] as const) {
    // No kubectl fails the run (before() makes sure of one): a missing tool is not a pass.
    it(name, () => {
      check(kustomizeOverlay([...resources]), serviceMonitors);
    });
  }

  describe('charts/vaultapp', () => {
    let helm: string;
    before(
      async () => {
        helm = await ensureHelm();
      },
      { timeout: 30 * 60_000 },
    );
    it('with the default values', () => check(helmTemplate(helm), true));
    it('without ServiceMonitors for VaultApps', () => check(helmTemplate(helm, { monitoring: { vaultAppServiceMonitors: false } }), false));
  });
});
