// The JSON body parser of /sync and /finalize gives what Fastify's own (secure-json-parse,
// prototype-poisoning keys refused) gives, for every text: JSON.parse alone only where no
// such key can be spelled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Fastify, { type FastifyRequest } from 'fastify';
import { jsonBodyParser } from '../../src/http/json-body.js';

const secure = Fastify().getDefaultJsonParser('error', 'error');
const ours = jsonBodyParser(secure);

function outcome(parser: typeof ours, text: string): { ok: true; value: unknown } | { ok: false; code: string } {
  let result: { ok: true; value: unknown } | { ok: false; code: string } | undefined;
  parser({} as FastifyRequest, text, (err, body) => {
    result = err ? { ok: false, code: (err as Error & { code?: string }).code ?? err.message } : { ok: true, value: body };
  });
  assert.ok(result, 'the parser answered synchronously');
  return result;
}

describe('JSON bodies', () => {
  it("for random JSON texts, the same values and the same refusals as Fastify's parser", () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', '\\u005f_proto__', 'a\\u0062'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 2 }),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, fc.boolean(), (v, mangle) => {
        // Keys spelled with escapes survive JSON.stringify as a literal backslash; unescape them to reach the parser as escapes.
        let text = JSON.stringify(v).replaceAll('\\\\u', '\\u');
        if (mangle) text = text.slice(0, Math.max(0, text.length - 1));
        assert.deepStrictEqual(outcome(ours, text), outcome(secure, text));
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses every spelling of a prototype key, as Fastify's parser does", () => {
    for (const text of [
      '{"__proto__":{"x":1}}',
      '{"a":{"\\u005f_proto__":{}}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '{"\\u0063onstructor":{"prototype":{}}}',
    ]) {
      const r = outcome(ours, text);
      assert.equal(r.ok, false, text);
      assert.deepStrictEqual(r, outcome(secure, text));
    }
  });

  it("an empty or broken body is reported by Fastify's parser", () => {
    assert.deepStrictEqual(outcome(ours, ''), { ok: false, code: 'FST_ERR_CTP_EMPTY_JSON_BODY' });
    assert.deepStrictEqual(outcome(ours, '{"a":'), { ok: false, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
  });
});
