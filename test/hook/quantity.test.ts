// The canonical form of resource quantities (src/hook/stored-forms/quantity.ts). The rules are
// checked against a real API server in test/integration/kube-stored-forms.test.ts; these
// cases name the ones a reader would look for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { desiredWorkload } from '../../src/hook/children/workload.js';
import { storedQuantity } from '../../src/hook/stored-forms/quantity.js';
import { loadExample } from '../fixtures/requests.js';

describe('storedQuantity', () => {
  // [input, stored in a resource list (rounded up to milli), stored elsewhere]
  const cases: Array<[string | number, string, string]> = [
    [0.5, '500m', '500m'],
    ['0.5', '500m', '500m'],
    ['1.5', '1500m', '1500m'],
    ['1000m', '1', '1'],
    ['100m', '100m', '100m'],
    [2, '2', '2'],
    ['0', '0', '0'],
    // spellings the API server keeps as written
    ['1.375', '1.375', '1.375'],
    [1.375, '1.375', '1.375'],
    ['1.500', '1.500', '1.500'],
    ['5.', '5.', '5.'],
    ['100Mi', '100Mi', '100Mi'],
    ['1e3', '1e3', '1e3'],
    ['12e6', '12e6', '12e6'],
    ['007', '007', '007'],
    ['1.5Gi', '1536Mi', '1536Mi'],
    ['0.5Gi', '512Mi', '512Mi'],
    ['1024Mi', '1Gi', '1Gi'],
    ['2048Ki', '2Mi', '2Mi'],
    ['0.5Ki', '512', '512'],
    ['1.1Gi', '1181116006400m', '1181116006400m'],
    ['1000k', '1M', '1M'],
    ['1.5e3', '1500', '1500'],
    ['.5', '500m', '500m'],
    // finer than milli, and than nano
    ['0.1m', '1m', '100u'],
    ['0.0000000001', '1m', '1n'],
    // capped at the largest int64
    ['8815254.633Ti', '9223372036854775807', '9223372036854775807'],
    ['12345678901234567890', '9223372036854775807', '9223372036854775807'],
    ['10E', '10E', '10E'],
  ];
  for (const [input, inList, elsewhere] of cases) {
    it(`${JSON.stringify(input)} → ${inList} in a resource list, ${elsewhere} elsewhere`, () => {
      assert.equal(storedQuantity(input, { resourceList: true }), inList);
      assert.equal(storedQuantity(input), elsewhere);
    });
  }

  it('leaves what it cannot be sure of as it is: not a quantity, not finite, numbers Go and JavaScript write differently', () => {
    for (const input of ['1.5 Gi', 'abc', '1Zi', '', '.', Number.NaN, Number.POSITIVE_INFINITY, 1e-7, 1e21])
      assert.equal(storedQuantity(input), undefined, String(input));
  });
});

describe('the desired Deployment writes resource quantities as the API server stores them', () => {
  it('containers, init containers, the pod, emptyDir size limits; other fields untouched', () => {
    const app = loadExample();
    const pod = app.spec.deploymentSpec!.template.spec!;
    pod.containers[0]!.resources = { requests: { cpu: 0.5, memory: '0.5Gi' }, limits: { cpu: '1000m', memory: '1024Mi' } } as never;
    pod.initContainers = [{ name: 'init', image: 'busybox', resources: { limits: { cpu: '1.5' } } }];
    pod.volumes = [{ name: 'scratch', emptyDir: { sizeLimit: '1.5Gi' as unknown as string } }];
    const spec = desiredWorkload(app, 'v1').workload.spec as { template: { spec: typeof pod } };
    const out = spec.template.spec;
    assert.deepEqual(out.containers[0]!.resources, { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    assert.deepEqual(out.initContainers![0]!.resources, { limits: { cpu: '1500m' } });
    assert.equal(
      (app.spec.deploymentSpec!.template.spec!.containers[0]!.resources!.requests as Record<string, unknown>).cpu,
      0.5,
      'the VaultApp itself is not changed',
    );
    assert.equal(out.volumes![0]!.emptyDir!.sizeLimit, '1536Mi');
  });

  it('a resource named "__proto__" is rewritten as its own property, the prototype untouched', () => {
    const app = loadExample();
    app.spec.deploymentSpec!.template.spec!.containers[0]!.resources = JSON.parse('{"requests":{"__proto__":"0.5","cpu":"1"}}');
    const spec = desiredWorkload(app, 'v1').workload.spec as {
      template: { spec: { containers: Array<{ resources: { requests: Record<string, unknown> } }> } };
    };
    const requests = spec.template.spec.containers[0]!.resources.requests;
    assert.deepEqual(Object.getOwnPropertyDescriptor(requests, '__proto__')?.value, '500m');
    assert.equal(Object.getPrototypeOf(requests), Object.prototype);
  });

  it("odd shapes in the user's pod spec are left alone", () => {
    const app = loadExample();
    const pod = app.spec.deploymentSpec!.template.spec! as unknown as Record<string, unknown>;
    (pod.containers as Array<Record<string, unknown>>)[0]!.resources = 'not an object';
    pod.overhead = ['cpu'];
    pod.volumes = [
      { name: 'x', emptyDir: 'no' },
      { name: 'y', ephemeral: { volumeClaimTemplate: 5 } },
    ];
    assert.doesNotThrow(() => desiredWorkload(app, 'v1'));
  });
});
