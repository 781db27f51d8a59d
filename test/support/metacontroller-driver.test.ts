// The Metacontroller driver itself: requests in the captured request's shape, the
// churn of a settling VaultApp (status writes, the Deployment's status in steps),
// 304s for unchanged answers, and writes counted as Metacontroller makes them.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { capturedRequestFor } from '../fixtures/metacontroller.js';
import { build, recordedReader } from './build-app.js';
import { MetacontrollerDriver, type HookTransport } from './metacontroller-driver.js';
import { LAST_APPLIED } from './kube-server-form.js';

const material = {
  auth: { ok: true as const },
  reads: {
    'kv/data/billing/database': {
      ok: true as const,
      engine: 'kv2' as const,
      data: { url: 'postgres://billing:dev-password@billing-db:5432/billing' },
      version: 1,
    },
    'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'dev-provider-x-api-key' }, version: 1 },
  },
};

it('settles a captured VaultApp as Metacontroller would, then answers 304 with nothing to write', async (t) => {
  const app = await build(t, recordedReader(material));
  const captured = capturedRequestFor('orders', '0b5c7a52-1111-4222-8333-444455556666');
  const bodies: string[] = [];
  const headers: Record<string, string>[] = [];
  const transport: HookTransport = async (path, body, h) => {
    bodies.push(body);
    headers.push(h);
    const res = await app.inject({ method: 'POST', url: path, payload: body, headers: h });
    return { statusCode: res.statusCode, body: res.body, ...(typeof res.headers.etag === 'string' ? { etag: res.headers.etag } : {}) };
  };
  const mc = new MetacontrollerDriver(transport, captured.parent, undefined, { deploymentStatus: 'stepped', bearerToken: 'token-0123456789abcdef' });
  mc.observe(captured.children);

  const syncs = await mc.settle();
  // A rollout: each status step brings a sync, and the status it changes another.
  assert.ok(syncs >= 3 && syncs <= 10, `settled in ${syncs} syncs`);
  assert.equal(mc.last!.status.conditions!.find((c) => c.type === 'Ready')!.status, 'True');
  assert.ok(mc.counts.statusWrites >= 2, 'each Deployment status step changed the status');
  assert.equal(mc.secretValues()!.provider_x_api_key, 'dev-provider-x-api-key');

  // The request has the captured shape: server objects with managedFields and last-applied annotations.
  const sent = JSON.parse(bodies.at(-1)!);
  const deployment = sent.children['Deployment.apps/v1'].orders;
  assert.ok(deployment.metadata.managedFields.length >= 2 && deployment.metadata.annotations[LAST_APPLIED]);
  assert.equal(deployment.status.availableReplicas, 3);
  assert.equal(deployment.spec.template.spec.containers[0].terminationMessagePolicy, 'File', 'server defaults kept');
  // The captured request is 19,987 bytes on the wire (its content-length; 28 KB pretty-printed).
  assert.ok(bodies.at(-1)!.length > 17_000, `request of ${bodies.at(-1)!.length} bytes`);
  assert.equal(headers.at(-1)!.authorization, 'Bearer token-0123456789abcdef');
  assert.ok(headers.at(-1)!['if-none-match']);

  const writes = mc.apiWrites;
  mc.touchDeploymentStatus();
  await mc.sync();
  assert.equal(mc.counts.notModified >= 1, true, 'an unchanged answer comes back as 304');
  assert.equal(mc.apiWrites, writes, 'and Metacontroller writes nothing');
  assert.equal(mc.wrote, false);
});

it('ownWritesOnly (the bench) sends the same requests and makes the same writes, reusing what nothing changed', async (t) => {
  const app = await build(t, recordedReader(material));
  const run = async (ownWritesOnly: boolean) => {
    let clock = Date.parse('2026-11-27T12:00:00Z');
    const bodies: string[] = [];
    const transport: HookTransport = async (path, body, h) => {
      bodies.push(body);
      const res = await app.inject({ method: 'POST', url: path, payload: body, headers: h });
      return { statusCode: res.statusCode, body: res.body, ...(typeof res.headers.etag === 'string' ? { etag: res.headers.etag } : {}) };
    };
    const captured = capturedRequestFor('orders', '0b5c7a52-1111-4222-8333-444455556666');
    const mc = new MetacontrollerDriver(transport, captured.parent, undefined, { deploymentStatus: 'stepped', now: () => new Date(clock), ownWritesOnly });
    mc.observe(captured.children);
    await mc.settle();
    for (let i = 0; i < 3; i++) {
      clock += 60_000;
      await mc.sync();
      mc.touchDeploymentStatus();
      await mc.settle();
    }
    return { bodies, counts: { ...mc.counts }, last: mc.last, children: JSON.stringify([...mc.observed]) };
  };
  const plain = await run(false);
  const reusing = await run(true);
  assert.deepStrictEqual(reusing.counts, plain.counts);
  assert.ok(plain.counts.notModified >= 3, `${plain.counts.notModified} answers were 304`);
  assert.deepStrictEqual(reusing.last, plain.last);
  assert.equal(reusing.children.replace(/"resourceVersion":"\d+"/g, ''), plain.children.replace(/"resourceVersion":"\d+"/g, ''));
  const strip = (b: string) => b.replace(/"resourceVersion":"\d+"/g, '');
  assert.deepStrictEqual(reusing.bodies.map(strip), plain.bodies.map(strip), 'the same requests');
});

it('statusLag sends the parent with the status of one or two answers before, the rest as it is now, and repeats with its seed', async (t) => {
  const app = await build(t, recordedReader(material));
  const run = async (seed: number) => {
    const sent: { status: unknown; resourceVersion: unknown }[] = [];
    const transport: HookTransport = async (path, body, h) => {
      const parent = JSON.parse(body).parent;
      sent.push({ status: parent.status, resourceVersion: parent.metadata.resourceVersion });
      const res = await app.inject({ method: 'POST', url: path, payload: body, headers: h });
      return { statusCode: res.statusCode, body: res.body, ...(typeof res.headers.etag === 'string' ? { etag: res.headers.etag } : {}) };
    };
    const captured = capturedRequestFor('orders', '0b5c7a52-1111-4222-8333-444455556666');
    const { status: _none, ...parent } = captured.parent;
    const mc = new MetacontrollerDriver(transport, parent as typeof captured.parent, undefined, {
      deploymentStatus: 'stepped',
      statusLag: { probability: 1, seed },
    });
    mc.observe(captured.children);
    const statuses: unknown[] = [mc.parent.status];
    const versions: unknown[] = [];
    const childWritten: boolean[] = [false];
    // The Deployment's status in steps; each time it is rolled out, its spec edited: child writes again.
    for (let i = 0, replicas = 3; i < 12; i++) {
      versions.push((mc.parent.metadata as { resourceVersion?: string }).resourceVersion);
      await mc.sync();
      childWritten.push(mc.changed);
      if (!mc.deploymentStep() && !mc.changed)
        mc.parent = { ...mc.parent, spec: { ...mc.parent.spec, deploymentSpec: { ...mc.parent.spec.deploymentSpec!, replicas: (replicas = 5 - replicas) } } };
      statuses.push(mc.parent.status);
    }
    return { sent, statuses, versions, childWritten, lagged: mc.laggedSyncs };
  };
  const a = await run(7);
  assert.ok(a.lagged >= 2, `${a.lagged} lagged syncs (${a.childWritten.filter(Boolean).length} after a child write)`);
  a.sent.forEach((s, i) => {
    const now = a.statuses[i];
    const before = [a.statuses[i - 1], a.statuses[i - 2]].filter((_, k) => i - 1 - k >= 0);
    if (a.childWritten[i])
      assert.ok(
        isDeepStrictEqual(s.status, now) || before.some((b) => isDeepStrictEqual(s.status, b)),
        `sync ${i + 1}, after a child write, saw the status now or of one or two answers before`,
      );
    else assert.deepStrictEqual(s.status, now, `sync ${i + 1}, after no child write, saw the status as it is`);
    assert.equal(s.resourceVersion, a.versions[i], 'the rest of the parent is as it is now');
  });
  assert.ok(
    a.sent.some((s, i) => !isDeepStrictEqual(s.status, a.statuses[i])),
    'some sync saw an older status',
  );
  const b = await run(7);
  assert.deepStrictEqual(
    b.sent.map((s) => s.status),
    a.sent.map((s) => s.status),
    'the same seed, the same lag',
  );
});
