// The bounded YAML parse (src/http/yaml-bounds.ts) and the YAML body limit, on the
// bodies that stalled the hook: a flow map of 20,000 keys, a long flat list, aliases
// of a large anchor. Each must be refused with the catalog's code and a message that
// says why; none may take the library's slow paths. Nothing here asserts a time: that
// these return at all within the test's timeout is the point (the first one took 21 s).
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { DEFAULT_YAML_BODY_LIMIT, loadConfig } from '../../src/config/config.js';
import { moreNodesThan, parseBoundedYaml, YAML_MAX_ALIASES, YAML_MAX_NODES } from '../../src/http/yaml-bounds.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, recordedReader } from '../support/build-app.js';

const material = {
  auth: { ok: true as const },
  reads: {
    'kv/data/billing/database': { ok: true as const, engine: 'kv2' as const, data: { url: 'postgres://db' } },
    'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'px' } },
  },
};

async function postYaml(t: TestContext, payload: string, overrides: { bodyLimit?: number; yamlBodyLimit?: number } = {}) {
  const reader = recordedReader(material);
  const app = await build(t, reader, { bodyLimit: 8 * 1024 * 1024, ...overrides });
  const res = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/yaml' }, payload });
  return { res, reader };
}

/** The bodies of issue 10, item 5, sized to get past the byte limit where that is the point. */
const HOSTILE_YAML = {
  flowMap20k: () => `{${Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`).join(', ')}}`,
  flatList: (bytes: number) => `[${'1,'.repeat(Math.floor(bytes / 2))}1]`,
  blockNulls: (bytes: number) => '-\n'.repeat(Math.floor(bytes / 2)),
  aliasesOfLargeAnchor: (anchorBytes: number, aliases = YAML_MAX_ALIASES) =>
    `a: &big "${'x'.repeat(anchorBytes)}"\nb: [${Array(aliases).fill('*big').join(', ')}]\n`,
};

describe('parseBoundedYaml', () => {
  it('parses a sync request like the library does', () => {
    const body = request(loadExample());
    const out = parseBoundedYaml(stringify(body), DEFAULT_YAML_BODY_LIMIT);
    assert.deepStrictEqual(out, { ok: true, value: JSON.parse(JSON.stringify(body)) });
  });

  it(`a flow map of 20,000 keys (184 KiB) is refused by its node count, before the library's key check`, () => {
    const text = HOSTILE_YAML.flowMap20k();
    assert.ok(text.length < DEFAULT_YAML_BODY_LIMIT, 'within the byte limit: the node count must catch it');
    const out = parseBoundedYaml(text, DEFAULT_YAML_BODY_LIMIT);
    assert.deepStrictEqual(out, { ok: false, tooLarge: true, problem: `it has more than ${YAML_MAX_NODES} nodes; send JSON, as Metacontroller does` });
  });

  it('so is a flat list, and a block list of empty items, of a quarter MiB', () => {
    for (const text of [HOSTILE_YAML.flatList(DEFAULT_YAML_BODY_LIMIT - 16), HOSTILE_YAML.blockNulls(DEFAULT_YAML_BODY_LIMIT - 16)]) {
      const out = parseBoundedYaml(text, DEFAULT_YAML_BODY_LIMIT);
      assert.equal(out.ok, false);
      assert.match(out.ok ? '' : out.problem, /more than 20000 nodes/);
    }
  });

  it(`a map of ${YAML_MAX_NODES / 4} distinct keys (below the node limit) parses, with its duplicate check in linear time`, () => {
    const n = YAML_MAX_NODES / 4;
    const out = parseBoundedYaml(`{${Array.from({ length: n }, (_, i) => `k${i}: 1`).join(', ')}}`, DEFAULT_YAML_BODY_LIMIT);
    assert.equal(out.ok, true);
    assert.equal(Object.keys(out.ok ? (out.value as object) : {}).length, n);
  });

  it('counts nodes and stops at the limit', () => {
    assert.equal(moreNodesThan('a: 1\nb: [1, 2]\n', 9), false);
    assert.equal(moreNodesThan('a: 1\nb: [1, 2]\n', 8), true);
    assert.equal(moreNodesThan('# only a comment\n', 0), false);
  });

  const refused: [string, string, RegExp][] = [
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', /^it has the key "a" twice in one mapping$/],
    ['a duplicate key in a flow map deep inside', 'x: {y: [{p: 1, q: 2, p: 3}]}\n', /the key "p" twice/],
    ['keys that are the same once JSON (1 and "1")', '{1: a, "1": b}', /the key "1" twice/],
    ['a map as a key', '? {a: 1}\n: x\n', /a mapping key that is a list or a map/],
    [
      `more than ${YAML_MAX_ALIASES} aliases`,
      `a: &a 1\nb: [${Array(YAML_MAX_ALIASES + 1)
        .fill('*a')
        .join(', ')}]\n`,
      /more than 100 aliases/,
    ],
    ['an alias inside the node it names', 'a: &a [1, *a]\n', /an alias inside the node it refers to|Unresolved alias/],
    ['an alias before its anchor', 'a: *x\nb: &x 1\n', /Unresolved alias|alias/i],
    ['two documents', 'a: 1\n---\nb: 2\n', /multiple documents/],
    ['broken syntax', 'parent: [unclosed', /./],
  ];
  for (const [name, text, problem] of refused) {
    it(`refuses ${name} as malformed (400), saying why`, () => {
      const out = parseBoundedYaml(text, DEFAULT_YAML_BODY_LIMIT);
      assert.equal(out.ok, false, JSON.stringify(out));
      if (out.ok) return;
      assert.equal(out.tooLarge, false);
      assert.match(out.problem, problem);
    });
  }

  it(`${YAML_MAX_ALIASES} aliases of a large anchor (a 20 MB answer before) are refused by what they expand to`, () => {
    const out = parseBoundedYaml(HOSTILE_YAML.aliasesOfLargeAnchor(200_000), DEFAULT_YAML_BODY_LIMIT);
    assert.deepStrictEqual(out, {
      ok: false,
      tooLarge: true,
      problem: `its aliases expand it to more than ${DEFAULT_YAML_BODY_LIMIT} bytes, the limit for YAML bodies`,
    });
  });

  it('nested aliases ("billion laughs") add up, level by level', () => {
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++)
      lol.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const out = parseBoundedYaml(lol.join('\n'), DEFAULT_YAML_BODY_LIMIT);
    assert.equal(out.ok, false);
    assert.match(out.ok ? '' : out.problem, /aliases expand it/);
  });

  it('a few aliases of small anchors are fine, and expanded as the library would', () => {
    const out = parseBoundedYaml('base: &base {image: app, pullPolicy: Always}\none: *base\ntwo: *base\n', DEFAULT_YAML_BODY_LIMIT);
    assert.deepStrictEqual(out, {
      ok: true,
      value: { base: { image: 'app', pullPolicy: 'Always' }, one: { image: 'app', pullPolicy: 'Always' }, two: { image: 'app', pullPolicy: 'Always' } },
    });
  });
});

describe('YAML bodies through POST /sync', () => {
  it('a YAML body over the YAML limit is a 413 naming the limit and its variable, read no further', async (t) => {
    const { res, reader } = await postYaml(t, HOSTILE_YAML.flatList(1.3 * 1024 * 1024));
    assert.equal(res.statusCode, 413);
    assert.deepStrictEqual(res.json(), {
      code: 'BODY_TOO_LARGE',
      message: `the YAML body is larger than ${DEFAULT_YAML_BODY_LIMIT} bytes (VAULTAPP_YAML_BODY_LIMIT_BYTES); send JSON, as Metacontroller does`,
    });
    assert.equal(reader.calls, 0);
  });

  it('the same content as JSON is held to the JSON limit only (and refused for its shape)', async (t) => {
    const reader = recordedReader(material);
    const app = await build(t, reader, { bodyLimit: 8 * 1024 * 1024 });
    const res = await app.inject({
      method: 'POST',
      url: '/sync',
      headers: { 'content-type': 'application/json' },
      payload: HOSTILE_YAML.flatList(1.3 * 1024 * 1024),
    });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'INVALID_REQUEST');
  });

  it('the YAML limit is configurable, and never above the JSON one', async (t) => {
    const small = await postYaml(t, stringify(request(loadExample())), { yamlBodyLimit: 1024 });
    assert.equal(small.res.statusCode, 413);
    assert.match(small.res.json().message, /larger than 1024 bytes/);
    const padded = request(loadExample());
    (padded.parent.metadata as Record<string, unknown>).annotations = { pad: 'x'.repeat(2000) };
    const capped = await postYaml(t, stringify(padded), { bodyLimit: 2048, yamlBodyLimit: 1024 * 1024 });
    assert.equal(capped.res.statusCode, 413);
    assert.match(capped.res.json().message, /larger than 2048 bytes/);
  });

  const refusals: [string, () => string, number, string, RegExp][] = [
    ['a flow map of 20,000 keys', HOSTILE_YAML.flowMap20k, 413, 'BODY_TOO_LARGE', /^cannot parse the YAML body: it has more than 20000 nodes/],
    ['100 aliases of a 200 KB anchor', () => HOSTILE_YAML.aliasesOfLargeAnchor(200_000), 413, 'BODY_TOO_LARGE', /aliases expand it to more than/],
    [
      'a duplicate key',
      () => `${stringify(request(loadExample())).replace(/^parent:\n/m, 'finalizing: false\nparent:\n')}finalizing: true\n`,
      400,
      'INVALID_REQUEST',
      /the key "finalizing" twice/,
    ],
  ];
  for (const [name, body, status, code, message] of refusals) {
    it(`${name} → ${status} ${code}, no Vault call`, async (t) => {
      const { res, reader } = await postYaml(t, body());
      assert.equal(res.statusCode, status, res.body.slice(0, 300));
      assert.equal(res.json().code, code);
      assert.match(res.json().message, message);
      assert.equal(reader.calls, 0);
    });
  }

  it('a sync request as YAML still syncs', async (t) => {
    const { res, reader } = await postYaml(t, stringify(request(loadExample())));
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    assert.equal(reader.calls, 1);
  });
});

describe('VAULTAPP_YAML_BODY_LIMIT_BYTES', () => {
  const env = { VAULT_TOKEN: 't', VAULTAPP_AUTH: 'token' };
  it(`defaults to ${DEFAULT_YAML_BODY_LIMIT} and is capped by VAULTAPP_BODY_LIMIT_BYTES`, () => {
    assert.equal(loadConfig(env, '/nonexistent').yamlBodyLimit, DEFAULT_YAML_BODY_LIMIT);
    assert.equal(loadConfig({ ...env, VAULTAPP_YAML_BODY_LIMIT_BYTES: '65536' }, '/nonexistent').yamlBodyLimit, 65536);
    assert.equal(loadConfig({ ...env, VAULTAPP_BODY_LIMIT_BYTES: '4096' }, '/nonexistent').yamlBodyLimit, 4096);
  });
  it('refuses a value that is not a number of bytes, naming the variable', () => {
    for (const v of ['lots', '-1', '100', String(64 * 1024 * 1024)]) {
      assert.throws(() => loadConfig({ ...env, VAULTAPP_YAML_BODY_LIMIT_BYTES: v }, '/nonexistent'), /VAULTAPP_YAML_BODY_LIMIT_BYTES/);
    }
  });
});
