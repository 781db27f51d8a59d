// What the hook never reads is cut from the text before parsing (src/http/unread-parts.ts):
// the body is the one Fastify's own parser gives without the controller and the request
// objects' managedFields lists, for any text, hostile strings and a tenant's own
// managedFields keys included.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Fastify, { type FastifyRequest } from 'fastify';
import { jsonBodyParser } from '../../src/http/json-body.js';
import { cutUnreadParts, dropUnreadParts } from '../../src/http/unread-parts.js';
import { build, recordedReader } from '../support/build-app.js';

const secure = Fastify().getDefaultJsonParser('error', 'error');
const ours = jsonBodyParser(secure, { withoutUnreadParts: true });
const captured = readFileSync(new URL('../fixtures/metacontroller/sync-request.json', import.meta.url), 'utf8');

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };
function outcome(parser: typeof ours, text: string): Outcome {
  let result: Outcome | undefined;
  parser({} as FastifyRequest, text, (err, body) => {
    result = err ? { ok: false, code: (err as Error & { code?: string }).code ?? err.message } : { ok: true, value: body };
  });
  assert.ok(result, 'the parser answered synchronously');
  return result;
}
/** What the body must be: Fastify's, without the controller and the request objects' lists. */
function expected(text: string): Outcome {
  const r = outcome(secure, text);
  if (r.ok) dropUnreadParts(r.value);
  return r;
}

describe('the parts the hook never reads left out of the body', () => {
  it('the captured request: the controller and five lists cut, the rest as Fastify parses it', () => {
    assert.equal(cutUnreadParts(JSON.stringify(JSON.parse(captured))).cuts, 6);
    const r = outcome(ours, captured);
    assert.deepStrictEqual(r, expected(captured));
    assert.ok(r.ok);
    const body = r.value as {
      controller?: unknown;
      parent: { metadata: Record<string, unknown> };
      children: Record<string, Record<string, { metadata: Record<string, unknown> }>>;
    };
    assert.equal(Object.hasOwn(body, 'controller'), false);
    assert.equal(Object.hasOwn(body.parent.metadata, 'managedFields'), false);
    assert.equal(body.parent.metadata.name, 'billing-service', 'the members around the cut are kept');
    for (const group of Object.values(body.children))
      for (const child of Object.values(group)) assert.equal(Object.hasOwn(child.metadata, 'managedFields'), false);
  });

  it('for random request-shaped texts (hostile strings, a tenant’s own managedFields keys, cut short), the body Fastify gives, the lists left out', () => {
    const tricky = fc.constantFrom(
      '"managedFields":[',
      '\\"managedFields\\":[1]',
      '\\',
      '\\\\',
      '"',
      '[',
      ']',
      '{',
      '}',
      '\u0000',
      '"managedFields":"\\u0000"',
    );
    const text = fc.oneof(
      fc.string({ maxLength: 12 }),
      tricky,
      fc.tuple(fc.string({ maxLength: 4 }), tricky).map(([a, b]) => a + b),
    );
    const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('managedFields', 'metadata', 'name'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    const list = fc.array(value, { maxLength: 3 });
    const meta = fc.record({ name: text, managedFields: fc.oneof(list, value), labels: fc.dictionary(text, text, { maxKeys: 2 }) }, { requiredKeys: ['name'] });
    const obj = fc.record({ metadata: meta, spec: value }, { requiredKeys: ['metadata'] });
    const byName = fc.dictionary(text, fc.oneof(obj, value), { maxKeys: 2 });
    const request = fc.record(
      {
        controller: fc.oneof(obj, value),
        parent: obj,
        children: fc.dictionary(text, fc.oneof(byName, value), { maxKeys: 2 }),
        related: fc.dictionary(text, byName, { maxKeys: 1 }),
      },
      { requiredKeys: ['parent'] },
    );
    fc.assert(
      fc.property(request, fc.nat(), fc.boolean(), (v, at, short) => {
        let t = JSON.stringify(v);
        if (short) t = t.slice(0, at % (t.length + 1));
        assert.deepStrictEqual(outcome(ours, t), expected(t));
        assert.ok(cutUnreadParts(t).scanned <= t.length, 'one pass');
      }),
      { numRuns: 3000 },
    );
  });

  it("a tenant's managedFields in its pod template is kept, the request objects' lists still left out", () => {
    const body = JSON.parse(captured);
    body.parent.spec.deploymentSpec.template.metadata.managedFields = [{ manager: 'tenant' }];
    const text = JSON.stringify(body);
    assert.equal(cutUnreadParts(text).cuts, 7, 'cut in the text, then found outside the request objects');
    const r = outcome(ours, text);
    assert.deepStrictEqual(r, expected(text));
    const parent = (r as { value: { parent: { metadata: object; spec: { deploymentSpec: { template: { metadata: { managedFields: unknown } } } } } } }).value
      .parent;
    assert.deepStrictEqual(parent.spec.deploymentSpec.template.metadata.managedFields, [{ manager: 'tenant' }]);
    assert.equal(Object.hasOwn(parent.metadata, 'managedFields'), false);
  });

  it('a key inside a string, after an escaped quote, is not a key', () => {
    for (const text of [
      '{"parent":{"metadata":{"name":"a\\"managedFields\\":[1]"}}}',
      '{"parent":{"metadata":{"name":"\\\\","managedFields":[1]}}}',
      '{"parent":{"metadata":{"name":"x","annotations":{"a":"\\\\\\"managedFields\\":["}}}}',
    ]) {
      assert.deepStrictEqual(outcome(ours, text), expected(text), text);
    }
    assert.equal(cutUnreadParts('{"a":"\\"managedFields\\":[1]"}').cuts, 0);
    assert.equal(cutUnreadParts('{"a":"\\\\","managedFields":[1]}').cuts, 1, 'an even run of backslashes ends the string before the key');
    assert.equal(cutUnreadParts('{"a\\"managedFields":[1]}').cuts, 0, 'a key that only ends in the name');
    const quoted = '{"parent":{"metadata":{"managedFields":[{"f:x":"a\\"}]"}],"name":"n"}}}';
    assert.equal(cutUnreadParts(quoted).text, '{"parent":{"metadata":{"managedFields":"\\u0000","name":"n"}}}', 'brackets inside a string are text');
    assert.deepStrictEqual(outcome(ours, quoted), expected(quoted));
  });

  it('a list nested deeper than 100 levels is parsed whole and left out too; deep nesting elsewhere still meets the depth guard', async (t) => {
    const deep = `${'['.repeat(150)}${']'.repeat(150)}`;
    const body = JSON.parse(captured);
    const text = JSON.stringify(body).replace('"managedFields":[', `"managedFields":[${deep},`);
    assert.equal(cutUnreadParts(text).cuts, 5, 'that list is not cut');
    assert.deepStrictEqual(outcome(ours, text), expected(text));
    const app = await build(t, recordedReader({ auth: { ok: true }, reads: {} }));
    const sync = (payload: string) => app.inject({ method: 'POST', url: '/sync', payload, headers: { 'content-type': 'application/json' } });
    assert.equal((await sync(text)).statusCode, 200, 'nothing the hook reads is deeper than the guard allows');
    body.parent.spec.deploymentSpec.template.metadata.managedFields = JSON.parse(deep);
    const res = await sync(JSON.stringify(body));
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /nested deeper than 100 levels \(at parent\.spec\.deploymentSpec\.template\.metadata\.managedFields/);
  });

  // A key whose part cannot be closed (nested deeper than the scan follows) used to be
  // tried again from the next key, each one scanning on to the same failure: a tenant's
  // keys nested over a large list made the scan quadratic (0.6 s for 0.9 MiB).
  it('one pass, whatever a tenant nests: 100 of its managedFields keys over a 0.9 MiB list that none of them can close', () => {
    const body = JSON.parse(captured);
    let nested: unknown = [Array(460_000).fill(1), JSON.parse(`${'['.repeat(150)}${']'.repeat(150)}`)];
    for (let i = 0; i < 100; i++) nested = [{ managedFields: nested }];
    body.parent.spec.deploymentSpec.template.metadata.managedFields = nested;
    const text = JSON.stringify(body);
    assert.ok(text.length > 900 * 1024);
    const cut = cutUnreadParts(text);
    assert.ok(cut.scanned <= text.length, `${cut.scanned} characters scanned for ${text.length}`);
    assert.equal(cut.cuts, 6, "the request objects' lists are still cut");
    assert.deepStrictEqual(outcome(ours, text), expected(text));
  });

  it('not checked (SECURITY.md): bytes inside a request object’s list, which the hook never reads', () => {
    const text = '{"parent":{"metadata":{"name":"a","managedFields":[1 2]}}}';
    assert.deepStrictEqual(outcome(ours, text), { ok: true, value: { parent: { metadata: { name: 'a' } } } });
    assert.equal(expected(text).ok, false, 'Fastify refuses it');
    assert.deepStrictEqual(
      outcome(ours, '{"parent":{"metadata":{"name":"a","managedFields":[1}}}}'),
      expected('{"parent":{"metadata":{"name":"a","managedFields":[1}}}}'),
      'brackets must match',
    );
  });
});
