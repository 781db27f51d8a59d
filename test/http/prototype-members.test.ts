// Members naming a prototype ("__proto__", "constructor" holding an own "prototype") are
// left out of /sync and /finalize bodies, JSON and YAML alike, instead of refusing the body:
// a refused body was a VaultApp no sync or finalize could reach again.
// What is left out is exactly what secure-json-parse's 'remove' mode leaves out, and
// everything else is what the strict parser gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import Fastify, { type FastifyRequest } from 'fastify';
import { jsonBodyParser } from '../../src/http/json-body.js';
import { dropPrototypeMembers } from '../../src/http/prototype-members.js';
import { parseBoundedYaml } from '../../src/http/yaml-bounds.js';

const strict = Fastify().getDefaultJsonParser('error', 'error');
const removing = Fastify().getDefaultJsonParser('remove', 'remove');
const ours = jsonBodyParser(removing);

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };
function outcome(parser: typeof ours, text: string): Outcome {
  let result: Outcome | undefined;
  parser({} as FastifyRequest, text, (err, body) => {
    result = err ? { ok: false, code: (err as Error & { code?: string }).code ?? err.message } : { ok: true, value: body };
  });
  assert.ok(result, 'the parser answered synchronously');
  return result;
}

const key = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '\\u005f_proto__', '\\u0063onstructor', 'a\\u0062') },
);
const unescaped = (k: string): string => k.replace(/\\u([0-9a-f]{4})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie('node'), { maxLength: 4 }),
    // Unique keys: YAML refuses a key twice, JSON keeps the last (a difference this test is not about).
    fc.uniqueArray(fc.tuple(key, tie('node')), { maxLength: 4, selector: ([k]) => unescaped(k) }).map((es) => Object.fromEntries(es)),
  ),
})).node;
// Keys spelled with escapes survive JSON.stringify as a literal backslash; unescape them to reach the parser as escapes.
const asText = (v: unknown): string => JSON.stringify(v).replaceAll('\\\\u', '\\u');

describe('members naming a prototype are left out of a body, not a reason to refuse it', () => {
  it("JSON: for random texts, the values of Fastify's removing parser, and the strict parser's wherever it accepts", () => {
    fc.assert(
      fc.property(value, fc.boolean(), (v, mangle) => {
        let text = asText(v);
        if (mangle) text = text.slice(0, Math.max(0, text.length - 1));
        const got = outcome(ours, text);
        assert.deepStrictEqual(got, outcome(removing, text));
        const before = outcome(strict, text);
        if (before.ok) assert.deepStrictEqual(got, before);
      }),
      { numRuns: 3000 },
    );
  });

  it('YAML: for random documents, the values the JSON parser gives for the same data (the YAML library keeps such members as own properties)', () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = asText(v);
        const json = outcome(ours, text);
        if (!json.ok) return; // a broken escape made of generated characters
        // A JSON text is a YAML flow document.
        const yaml = parseBoundedYaml(text, 1 << 20);
        assert.ok(yaml.ok, text);
        dropPrototypeMembers(yaml.value);
        assert.deepStrictEqual({ ok: true, value: yaml.value }, json, text);
      }),
      { numRuns: 2000 },
    );
  });

  it('what is left out, at any depth; the rest is kept, the prototype untouched', () => {
    const text = JSON.stringify({
      a: { __proto__: 'x', keep: 1 },
      b: [{ constructor: { prototype: { polluted: 1 } }, keep: 2 }],
      c: { constructor: 'an ordinary key: kept', prototype: 'kept too' },
      d: { constructor: { notPrototype: 1 } },
    }).replace('"a":{', '"a":{"__proto__":{"polluted":1},');
    const want = {
      a: { keep: 1 },
      b: [{ keep: 2 }],
      c: { constructor: 'an ordinary key: kept', prototype: 'kept too' },
      d: { constructor: { notPrototype: 1 } },
    };
    const json = outcome(ours, text);
    assert.deepStrictEqual(json, { ok: true, value: want });
    const yaml = parseBoundedYaml(text, 1 << 20);
    assert.ok(yaml.ok);
    dropPrototypeMembers(yaml.value);
    assert.deepStrictEqual(yaml.value, want);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(outcome(strict, text).ok, false, 'the strict parser refuses this text (what the hook did before)');
  });

  it('a body nested 100,000 levels deep is walked without recursion', () => {
    let deep: unknown = { __proto__: null, end: true };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    dropPrototypeMembers(deep);
  });
});
