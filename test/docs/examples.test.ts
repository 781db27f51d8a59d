// The sample sync request is shipped twice, as YAML for people and as JSON as Metacontroller
// sends it; the docs show curl for both. These tests hold the two files to one request and
// one answer, and the hook's refusal of a body that is neither to a sentence saying what to send.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { RecordedValues } from '../../src/vault/recorded-reader.js';
import { build, recordedReader } from '../support/build-app.js';

const example = (file: string): string => readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');
const yamlText = example('sync-request.yaml');
const jsonText = example('sync-request.json');
const values = parse(example('billing-service.values.yaml')) as RecordedValues;

describe('examples/sync-request.{yaml,json}', () => {
  it('are the same request', () => {
    assert.deepStrictEqual(JSON.parse(jsonText), parse(yamlText));
  });

  it('are answered the same, in either representation', async (t) => {
    const app = await build(t, recordedReader({ values }));
    const asYaml = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/yaml' }, payload: yamlText });
    const asJson = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/json' }, payload: jsonText });
    const yamlOut = await app.inject({
      method: 'POST',
      url: '/sync',
      headers: { 'content-type': 'application/json', accept: 'application/yaml' },
      payload: jsonText,
    });
    assert.equal(asYaml.statusCode, 200, asYaml.body);
    assert.equal(asJson.statusCode, 200, asJson.body);
    assert.equal(yamlOut.statusCode, 200, yamlOut.body);
    assert.deepStrictEqual(asYaml.json(), asJson.json());
    assert.deepStrictEqual(parse(yamlOut.body), asJson.json());
    // The answer is the documented one, not two equal refusals: the Secret holds the example's values.
    const secret = (asJson.json() as { children: { kind: string; data?: Record<string, string> }[] }).children.find((c) => c.kind === 'Secret');
    const url = values['kv/data/billing/database']?.url as string;
    assert.equal(Buffer.from(secret?.data?.db_url ?? '', 'base64').toString('utf8'), url);
  });

  it("a body sent without a JSON or YAML Content-Type is refused with what to send (curl's default is a form)", async (t) => {
    const app = await build(t, recordedReader({ values }));
    const form = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: yamlText });
    assert.equal(form.statusCode, 415);
    assert.deepStrictEqual(form.json(), {
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'unsupported Content-Type application/x-www-form-urlencoded: send application/json, or YAML as application/yaml, application/x-yaml, text/yaml',
    });
    const text = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'text/plain' }, payload: yamlText });
    assert.equal(text.statusCode, 415);
    assert.match(text.json().message, /^unsupported Content-Type text\/plain: send application\/json/);
  });
});
