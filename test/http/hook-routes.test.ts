// The HTTP contract, through app.inject, with a recorded Vault material: status
// codes, YAML in and out, malformed input refused before any Vault call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { b64, loadExample, request } from '../fixtures/requests.js';
import { build, recordedReader } from '../support/build-app.js';

const material = {
  auth: { ok: true as const },
  reads: {
    'kv/data/billing/database': { ok: true as const, engine: 'kv2' as const, data: { url: 'postgres://db' } },
    'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'px' } },
  },
};

describe('POST /sync', () => {
  it('answers a Metacontroller request with the desired children and status', async (t) => {
    const reader = recordedReader(material);
    const app = await build(t, reader);
    const res = await app.inject({ method: 'POST', url: '/sync', payload: request(loadExample()) });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepStrictEqual(
      body.children.map((c: { kind: string }) => c.kind),
      ['Secret', 'Deployment', 'Service', 'ServiceMonitor'],
    );
    assert.deepStrictEqual(body.children[0].data, { db_url: b64('postgres://db'), provider_x_api_key: b64('px') });
    assert.equal(body.resyncAfterSeconds, 300);
    assert.equal(reader.calls, 1);
  });

  it('takes a YAML body and answers YAML when asked', async (t) => {
    const app = await build(t, recordedReader(material));
    const res = await app.inject({
      method: 'POST',
      url: '/sync',
      headers: { 'content-type': 'application/yaml', accept: 'application/yaml' },
      payload: stringify(request(loadExample())),
    });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^application\/yaml/);
    assert.equal(parse(res.body).children[1].kind, 'Deployment');
  });

  it('answers JSON when JSON is preferred', async (t) => {
    const app = await build(t, recordedReader(material));
    const res = await app.inject({
      method: 'POST',
      url: '/sync',
      headers: { accept: 'application/json, application/yaml;q=0.5' },
      payload: request(loadExample()),
    });
    assert.match(res.headers['content-type'] as string, /^application\/json/);
  });

  it('finalizing requests sent to /sync are finalized', async (t) => {
    const reader = recordedReader(material);
    const app = await build(t, reader);
    const res = await app.inject({ method: 'POST', url: '/sync', payload: { ...request(loadExample()), finalizing: true } });
    assert.deepStrictEqual(res.json(), { status: {}, children: [], finalized: true });
    assert.equal(reader.calls, 0);
  });

  const malformed: [string, Record<string, unknown> | string, number, RegExp, string?][] = [
    ['no parent', { children: {} }, 400, /parent/],
    ['children missing', { parent: loadExample() }, 400, /children/],
    ['a parent without a namespace', { ...request(loadExample()), parent: { ...loadExample(), metadata: { name: 'x' } } }, 400, /namespace/],
    [
      'a parent whose spec is invalid',
      { ...request({ ...loadExample(), spec: { ...loadExample().spec, vault: { role: '', secrets: [] } } }) },
      422,
      /VaultApp default\/billing-service is invalid: spec\.vault: vault needs at least one entry in secrets or in dataFrom.*; spec\.vault\.role: /,
    ],
    ['broken JSON', '{"parent": ', 400, /JSON/i],
    ['broken YAML', 'parent: [unclosed', 400, /YAML/, 'application/yaml'],
    ['an unsupported media type', 'parent=x', 415, /.+/, 'application/x-www-form-urlencoded'],
  ];
  for (const [name, payload, status, message, contentType] of malformed) {
    it(`refuses ${name} with ${status} and a message, before any Vault call`, async (t) => {
      const reader = recordedReader(material);
      const app = await build(t, reader);
      const res = await app.inject({
        method: 'POST',
        url: '/sync',
        headers: { 'content-type': contentType ?? 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      assert.equal(res.statusCode, status, res.body);
      assert.match(res.json().message, message);
      assert.equal(reader.calls, 0);
    });
  }

  it('refuses a body over the limit with 413', async (t) => {
    const app = await build(t, recordedReader(material), { bodyLimit: 2048 });
    const big = request(loadExample());
    (big.parent.metadata as Record<string, unknown>).annotations = { pad: 'x'.repeat(4096) };
    const res = await app.inject({ method: 'POST', url: '/sync', payload: big });
    assert.equal(res.statusCode, 413);
  });
});

describe('POST /finalize', () => {
  it('releases the parent and keeps its status (less observedGeneration, which Metacontroller adds)', async (t) => {
    const app = await build(t, recordedReader(material));
    const parent = { ...loadExample(), status: { secretName: 'billing-service-vault-secrets', observedGeneration: 3 } };
    const res = await app.inject({ method: 'POST', url: '/finalize', payload: { ...request(parent), finalizing: true } });
    assert.deepStrictEqual(res.json(), { status: { secretName: 'billing-service-vault-secrets' }, children: [], finalized: true });
  });
});

describe('health', () => {
  it('/healthz and /readyz answer 200', async (t) => {
    const app = await build(t, recordedReader(material));
    assert.equal((await app.inject('/healthz')).statusCode, 200);
    assert.deepStrictEqual((await app.inject('/readyz')).json(), { status: 'ready' });
  });
});

describe('ETag (Metacontroller webhook etag)', () => {
  it('answers 304 to If-None-Match when the answer is unchanged, 200 with a new ETag when it changed', async (t) => {
    const app = await build(t, recordedReader(material));
    const first = await app.inject({ method: 'POST', url: '/sync', payload: request(loadExample()) });
    const tag = first.headers.etag as string;
    assert.ok(tag);
    const again = await app.inject({ method: 'POST', url: '/sync', headers: { 'if-none-match': tag }, payload: request(loadExample()) });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    const changed = structuredClone(loadExample());
    changed.spec.deploymentSpec!.replicas = 5;
    const other = await app.inject({ method: 'POST', url: '/sync', headers: { 'if-none-match': tag }, payload: request(changed) });
    assert.equal(other.statusCode, 200);
    assert.notEqual(other.headers.etag, tag);
  });
});
