// Hostile input, case by case, through POST /sync with a recorded Vault reader:
// oversized bodies, deep nesting, wrong types (never coerced), very long strings
// and arrays, odd Unicode keys, prototype-pollution keys in JSON and YAML, Vault
// paths that try to leave the spec's reach, and colliding targetKeys. Each is a
// 4xx with no Vault call, or a normal answer — never a 5xx. (The fuzzer in
// ./fuzz.test.ts explores the space around these.)
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { MAX_BODY_DEPTH, tooDeepAt } from '../../src/http/body-guard.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, recordedReader } from '../support/build-app.js';
import { HOSTILE_PATHS, ODD_STRINGS, baseRequest } from './hostile.js';

const material = {
  auth: { ok: true as const },
  reads: {
    'kv/data/billing/database': { ok: true as const, engine: 'kv2' as const, data: { url: 'postgres://db' } },
    'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'px' } },
  },
};

async function post(t: TestContext, payload: unknown, opts: { yaml?: boolean; raw?: string; bodyLimit?: number } = {}) {
  const reader = recordedReader(material);
  const app = await build(t, reader, opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {});
  const res = await app.inject({
    method: 'POST',
    url: '/sync',
    headers: { 'content-type': opts.yaml ? 'application/yaml' : 'application/json' },
    payload: opts.raw ?? (opts.yaml ? stringify(payload) : JSON.stringify(payload)),
  });
  return { res, reader };
}

function nested(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

function withSpec(mutate: (p: ReturnType<typeof loadExample>) => void) {
  const p = loadExample();
  mutate(p);
  return request(p);
}

describe('hostile input through POST /sync', () => {
  describe('size', () => {
    it('a JSON body over the limit is a 413 and reads nothing', async (t) => {
      const big = request(loadExample());
      (big.parent.metadata as Record<string, unknown>).annotations = { pad: 'x'.repeat(64 * 1024) };
      const { res, reader } = await post(t, big, { bodyLimit: 32 * 1024 });
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().code, 'BODY_TOO_LARGE');
      assert.equal(reader.calls, 0);
    });

    it('so is a YAML body over the limit', async (t) => {
      const big = request(loadExample());
      (big.parent.metadata as Record<string, unknown>).annotations = { pad: 'x'.repeat(64 * 1024) };
      const { res } = await post(t, big, { yaml: true, bodyLimit: 32 * 1024 });
      assert.equal(res.statusCode, 413);
    });

    it('a YAML "billion laughs" body (alias bomb) is refused without expanding it', async (t) => {
      const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 10; i++)
        lol.push(
          `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
            .fill(`*${String.fromCharCode(96 + i)}`)
            .join(',')}]`,
        );
      const { res, reader } = await post(t, undefined, { yaml: true, raw: `${lol.join('\n')}\nparent: *j\n` });
      // Refused for what its aliases would expand to, before the library expands anything.
      assert.equal(res.statusCode, 413, res.body);
      assert.match(res.json().message, /^cannot parse the YAML body: its aliases expand it to more than \d+ bytes/);
      assert.equal(reader.calls, 0);
    });
  });

  describe('deep nesting', () => {
    for (const [where, depth] of [
      ['a deploymentSpec annotation', 5000],
      ['an observed child', 3000],
      ['the controller object', 2000],
    ] as const) {
      for (const yaml of [false, true]) {
        const unread = where === 'the controller object' && !yaml;
        it(`${depth} levels inside ${where} (${yaml ? 'YAML' : 'JSON'}) ${unread ? 'is left out unread: a 200' : 'is a 400 naming where, before any Vault call'}`, async (t) => {
          const req = baseRequest() as unknown as Record<string, any>;
          const marker = 'DEEP-PLACEHOLDER';
          if (where === 'a deploymentSpec annotation') req.parent.spec.deploymentSpec.template.metadata = { annotations: { deep: marker } };
          else if (where === 'an observed child') req.children['Secret.v1']['billing-service-vault-secrets'].metadata.labels = marker;
          else req.controller = marker;
          // Built as text: the test's own JSON printer would recurse as deep as the server's.
          // JSON is YAML, so the YAML parser gets the same document.
          const raw = JSON.stringify(req).replace(`"${marker}"`, `${'{"a":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`);
          const { res, reader } = await post(t, undefined, { yaml, raw });
          if (unread) {
            // Never read: a JSON body's controller is left out before any walk (src/http/unread-parts.ts), and the sync goes on without it.
            assert.equal(res.statusCode, 200, res.body);
            return;
          }
          assert.equal(res.statusCode, 400, res.body);
          // The YAML parser gives up on its own somewhere past two thousand levels; either way a 400.
          assert.match(
            res.json().message,
            yaml
              ? new RegExp(`nested deeper than ${MAX_BODY_DEPTH} levels|cannot parse the YAML body`)
              : new RegExp(`nested deeper than ${MAX_BODY_DEPTH} levels`),
          );
          assert.equal(reader.calls, 0);
        });
      }
    }

    it('a realistic deep object (an affinity term, 30 levels) passes', async (t) => {
      const { res } = await post(
        t,
        withSpec((p) => {
          p.spec.deploymentSpec!.template.spec!.affinity = nested(12) as never;
        }),
      );
      assert.equal(res.statusCode, 200, res.body);
    });

    it('tooDeepAt walks iteratively: 100 000 levels do not overflow the guard itself', () => {
      assert.match(tooDeepAt(nested(100_000)) ?? '', /^a\.a\.a/);
      assert.equal(tooDeepAt(nested(MAX_BODY_DEPTH - 1)), undefined);
    });
  });

  describe('wrong types are refused, never coerced', () => {
    const cases: [string, (r: Record<string, any>) => void][] = [
      [
        'finalizing: "true"',
        (r) => {
          r.finalizing = 'true';
        },
      ],
      [
        'finalizing: 1',
        (r) => {
          r.finalizing = 1;
        },
      ],
      [
        'finalizing: [true]',
        (r) => {
          r.finalizing = [true];
        },
      ],
      [
        'parent: []',
        (r) => {
          r.parent = [];
        },
      ],
      [
        'parent: "x"',
        (r) => {
          r.parent = 'x';
        },
      ],
      [
        'parent: null',
        (r) => {
          r.parent = null;
        },
      ],
      [
        'parent.metadata.name: 5',
        (r) => {
          r.parent.metadata.name = 5;
        },
      ],
      [
        'parent.metadata.namespace: true',
        (r) => {
          r.parent.metadata.namespace = true;
        },
      ],
      [
        'parent.spec: "x"',
        (r) => {
          r.parent.spec = 'x';
        },
      ],
      [
        'children: []',
        (r) => {
          r.children = [];
        },
      ],
      [
        'children["Secret.v1"]: "x"',
        (r) => {
          r.children['Secret.v1'] = 'x';
        },
      ],
      [
        'an observed child without a kind',
        (r) => {
          delete r.children['Secret.v1']['billing-service-vault-secrets'].kind;
        },
      ],
      [
        'controller: "x"',
        (r) => {
          r.controller = 'x';
        },
      ],
      [
        'the whole body a string',
        (r) => {
          for (const k of Object.keys(r)) delete r[k];
        },
      ],
    ];
    for (const [name, mutate] of cases) {
      it(`${name} → 400, no Vault call`, async (t) => {
        const req = baseRequest() as unknown as Record<string, any>;
        mutate(req);
        const { res, reader } = await post(t, Object.keys(req).length ? req : 'just a string');
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(reader.calls, 0);
      });
    }

    const invalidParent: [string, (p: Record<string, any>) => void][] = [
      [
        'spec.vault.secrets: {}',
        (p) => {
          p.spec.vault.secrets = {};
        },
      ],
      [
        'spec.vault.role: 7',
        (p) => {
          p.spec.vault.role = 7;
        },
      ],
      [
        'spec.monitoring.enabled: "yes"',
        (p) => {
          p.spec.monitoring.enabled = 'yes';
        },
      ],
      [
        'spec.deploymentSpec.template.spec.containers: "app"',
        (p) => {
          p.spec.deploymentSpec.template.spec.containers = 'app';
        },
      ],
      [
        'a secrets entry that is null',
        (p) => {
          p.spec.vault.secrets[0] = null;
        },
      ],
    ];
    for (const [name, mutate] of invalidParent) {
      it(`${name} → 422 naming the VaultApp, no Vault call`, async (t) => {
        const { res, reader } = await post(
          t,
          withSpec((p) => mutate(p as unknown as Record<string, any>)),
        );
        assert.equal(res.statusCode, 422, res.body);
        assert.match(res.json().message, /^VaultApp default\/billing-service is invalid: /);
        assert.equal(reader.calls, 0);
      });
    }
  });

  describe('very long strings and arrays', () => {
    const cases: [string, (p: Record<string, any>) => void, number][] = [
      [
        'a 100 000-character name',
        (p) => {
          p.metadata.name = 'n'.repeat(100_000);
        },
        400,
      ],
      [
        "a name one character too long for the Secret's name (240)",
        (p) => {
          p.metadata.name = 'n'.repeat(240);
        },
        422,
      ],
      [
        'a 10 000-character targetKey',
        (p) => {
          p.spec.vault.secrets[0].targetKey = 'k'.repeat(10_000);
        },
        422,
      ],
      [
        'a 10 000-character Vault path',
        (p) => {
          p.spec.vault.secrets[0].path = `kv/${'p'.repeat(10_000)}`;
        },
        422,
      ],
      [
        'a 10 000-character key',
        (p) => {
          p.spec.vault.secrets[0].key = 'k'.repeat(10_000);
        },
        422,
      ],
      [
        '65 secrets entries',
        (p) => {
          p.spec.vault.secrets = Array.from({ length: 65 }, (_, i) => ({ path: `kv/data/x/${i}`, key: 'k', targetKey: `k${i}` }));
        },
        422,
      ],
      [
        '10 000 secrets entries',
        (p) => {
          p.spec.vault.secrets = Array.from({ length: 10_000 }, (_, i) => ({ path: 'kv/data/x', key: 'k', targetKey: `k${i}` }));
        },
        422,
      ],
    ];
    for (const [name, mutate, status] of cases) {
      it(`${name} → ${status}, no Vault call`, async (t) => {
        const { res, reader } = await post(
          t,
          withSpec((p) => mutate(p as unknown as Record<string, any>)),
        );
        assert.equal(res.statusCode, status, res.body.slice(0, 300));
        assert.equal(reader.calls, 0);
      });
    }

    it('10 001 observed Secrets of one type → 400', async (t) => {
      const req = request(loadExample());
      req.children['Secret.v1'] = Object.fromEntries(
        Array.from({ length: 10_001 }, (_, i) => [`s${i}`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `s${i}` } }]),
      );
      const { res, reader } = await post(t, req);
      assert.equal(res.statusCode, 400);
      assert.equal(reader.calls, 0);
    });

    it('300 000 nameless containers (0.86 MiB) → 422 with one short error, not 300 000 (27 MiB before)', async (t) => {
      const body = withSpec((p) => {
        p.spec.deploymentSpec!.template.spec!.containers = Array.from({ length: 300_000 }, () => ({})) as never;
      });
      const { res, reader } = await post(t, body, { bodyLimit: 8 * 1024 * 1024 });
      assert.equal(res.statusCode, 422);
      assert.ok(res.body.length < 1024, `${res.body.length} bytes`);
      assert.match(res.json().message, /spec\.deploymentSpec\.template\.spec\.containers.*: must /);
      assert.equal(reader.calls, 0);
    });

    it('a VaultApp with 4 000 bad entries within the limits → 422 listing 20 errors and counting the rest', async (t) => {
      const body = withSpec((p) => {
        p.spec.deploymentSpec!.template.spec!.containers = Array.from({ length: 100 }, (_, i) => ({ name: `c${i}`, ports: Array(40).fill(1) })) as never;
      });
      const { res, reader } = await post(t, body);
      assert.equal(res.statusCode, 422);
      assert.match(res.json().message, /containers\[0\]\.ports\[19\]: must be object; and 3980 more$/);
      assert.ok(res.body.length < 4096, `${res.body.length} bytes`);
      assert.equal(reader.calls, 0);
    });

    it('10 000 malformed observed children → 400 naming one, not 10 000 (the request schema reports its first error)', async (t) => {
      const req = request(loadExample());
      req.children['Secret.v1'] = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`s${i}`, { kind: 5 }])) as never;
      const { res, reader } = await post(t, req);
      assert.equal(res.statusCode, 400);
      assert.ok(res.body.length < 1024, `${res.body.length} bytes: ${res.body.slice(0, 300)}`);
      assert.match(res.json().message, /^not a Metacontroller hook request: body\/children\/Secret\.v1\/s0/);
      assert.equal(reader.calls, 0);
    });

    it('a very long string where anything goes (an annotation, 1 MB less a little) is carried, not refused', async (t) => {
      const { res } = await post(
        t,
        withSpec((p) => {
          p.spec.deploymentSpec!.template.metadata = { annotations: { note: 'x'.repeat(900_000) } };
        }),
      );
      assert.equal(res.statusCode, 200);
    });
  });

  describe('odd Unicode and prototype keys', () => {
    it('odd keys in labels, annotations, child maps and observed Secret data are carried or ignored, never a 5xx; the observed data survives a failing Vault', async (t) => {
      const keys = ODD_STRINGS.filter((k) => k !== '__proto__');
      const req = baseRequest() as unknown as Record<string, any>;
      req.parent.metadata.labels = Object.fromEntries(keys.map((k) => [k, k]));
      req.parent.spec.deploymentSpec.template.metadata = { annotations: Object.fromEntries(keys.map((k) => [k, k])) };
      for (const k of keys) req.children['Service.v1'][k] = { apiVersion: 'v1', kind: 'Service', metadata: { name: k || 'empty' } };
      const secret = req.children['Secret.v1']['billing-service-vault-secrets'];
      secret.data = { ...secret.data, ...Object.fromEntries(keys.map((k, i) => [k, Buffer.from(String(i)).toString('base64')])) };
      const reader = recordedReader({
        auth: { ok: true },
        reads: {
          'kv/data/billing/database': { ok: false, problem: { code: 'VAULT_UNREACHABLE', message: 'down' } },
          'kv/data/billing/provider-x': { ok: false, problem: { code: 'VAULT_UNREACHABLE', message: 'down' } },
        },
      });
      const app = await build(t, reader);
      for (const yaml of [false, true]) {
        const res = await app.inject({
          method: 'POST',
          url: '/sync',
          headers: { 'content-type': yaml ? 'application/yaml' : 'application/json' },
          payload: yaml ? stringify(req) : JSON.stringify(req),
        });
        assert.equal(res.statusCode, 200, res.body.slice(0, 300));
        const kept = res.json().children.find((c: { kind: string }) => c.kind === 'Secret');
        assert.deepStrictEqual(kept.data, secret.data, 'the observed data is kept as it is, odd keys and all');
      }
    });

    it('"__proto__" and "constructor.prototype" in a JSON body are left out (the answer is the one without them) and pollute nothing', async (t) => {
      const plain = JSON.stringify(request(loadExample()));
      const raw = plain
        .replace('"children":{', '"children":{"__proto__":{"polluted":{"apiVersion":"v1","kind":"X","metadata":{"name":"p"}}},')
        .replace('"spec":{', '"spec":{"constructor":{"prototype":{"polluted":1}},');
      assert.notEqual(raw, plain);
      const { res } = await post(t, undefined, { raw });
      assert.equal(res.statusCode, 200, res.body);
      const { res: without } = await post(t, undefined, { raw: plain });
      assert.deepStrictEqual(res.json(), without.json());
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    });

    for (const where of ['the root', 'parent', 'children', "an observed Secret's data"]) {
      it(`"__proto__" keys in a YAML body (${where}) pollute nothing and get no 5xx`, async (t) => {
        const docs: Record<string, string> = {
          'the root': `__proto__: {polluted: yes}\n${stringify(request(loadExample()))}`,
          parent: stringify(request(loadExample())).replace(/^parent:\n/m, 'parent:\n  __proto__: {polluted: yes}\n'),
          children: stringify(request(loadExample())).replace(
            /^children:\n/m,
            'children:\n  __proto__: {polluted: {apiVersion: v1, kind: X, metadata: {name: p}}}\n',
          ),
          "an observed Secret's data": stringify(baseRequest()).replace(/^( +)data:\n/m, '$1data:\n$1  __proto__: {polluted: yes}\n'),
        };
        const { res } = await post(t, undefined, { yaml: true, raw: docs[where]! });
        assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body.slice(0, 300)}`);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
      });
    }
  });

  describe("Vault paths outside the spec's reach", () => {
    for (const path of HOSTILE_PATHS) {
      it(`path ${JSON.stringify(path)} → 422, no Vault call`, async (t) => {
        const { res, reader } = await post(
          t,
          withSpec((p) => {
            p.spec.vault.secrets[0]!.path = path;
          }),
        );
        assert.equal(res.statusCode, 422, res.body);
        assert.match(res.json().message, /spec\.vault\.secrets\[0\]\.path/);
        assert.equal(reader.calls, 0);
      });
    }

    it('a path that only looks odd but is allowed (dots inside a segment, @ : = + , ~) goes to Vault', async (t) => {
      const { res, reader } = await post(
        t,
        withSpec((p) => {
          p.spec.vault.secrets = [{ path: 'kv/data/a..b/.c/d@e:f=g+h,i~j', key: 'k', targetKey: 'k' }];
        }),
      );
      assert.equal(res.statusCode, 200);
      assert.equal(reader.calls, 1);
    });
  });

  describe('targetKey collisions', () => {
    const cases: [string, { path: string; key: string; targetKey: string }[], number][] = [
      [
        'the same targetKey twice from one path',
        [
          { path: 'kv/data/a', key: 'x', targetKey: 't' },
          { path: 'kv/data/a', key: 'y', targetKey: 't' },
        ],
        422,
      ],
      [
        'the same targetKey from two paths',
        [
          { path: 'kv/data/a', key: 'x', targetKey: 't' },
          { path: 'kv/data/b', key: 'x', targetKey: 't' },
        ],
        422,
      ],
      [
        'the same entry twice',
        [
          { path: 'kv/data/a', key: 'x', targetKey: 't' },
          { path: 'kv/data/a', key: 'x', targetKey: 't' },
        ],
        422,
      ],
      [
        'targetKeys that differ only in case (distinct Secret keys)',
        [
          { path: 'kv/data/a', key: 'x', targetKey: 't' },
          { path: 'kv/data/a', key: 'x', targetKey: 'T' },
        ],
        200,
      ],
      ['a targetKey "." (not a valid Secret key)', [{ path: 'kv/data/a', key: 'x', targetKey: '.' }], 422],
      ['a targetKey with a slash (would escape the mount directory)', [{ path: 'kv/data/a', key: 'x', targetKey: '../etc/passwd' }], 422],
    ];
    for (const [name, secrets, status] of cases) {
      it(`${name} → ${status}`, async (t) => {
        const { res, reader } = await post(
          t,
          withSpec((p) => {
            p.spec.vault.secrets = secrets;
          }),
        );
        assert.equal(res.statusCode, status, res.body);
        if (status === 422) {
          assert.match(res.json().message, /targetKey/);
          assert.equal(reader.calls, 0);
        }
      });
    }
  });
});
