// charts/vaultapp/ as files, without helm: its copies of the repository's files are
// current, it holds no symlink (a chart is unpacked, vendored and diffed by tools that do
// not follow them), its schema describes every value it ships, and its README documents
// every value with the default values.yaml gives it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { CHART_COPIES } from '../support/chart-copies.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts/vaultapp');

describe("the chart's files", () => {
  it('each copy equals its source byte for byte (else: npm run gen:chart)', () => {
    for (const { copy, source } of CHART_COPIES) {
      assert.ok(readFileSync(join(ROOT, copy)).equals(readFileSync(join(ROOT, source))), `${copy} differs from ${source}: npm run gen:chart`);
    }
  });

  it('are regular files and directories only: no symlink', () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = join(dir, e.name);
        if (e.isDirectory()) return walk(p);
        return e.isFile() ? [] : [relative(ROOT, p)];
      });
    assert.deepEqual(walk(CHART), []);
  });
});

const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));

/** The schema of the value at `path` (following $ref into definitions), or undefined when it declares none. */
function schemaAt(path: string[]): any {
  let s = schema;
  for (const k of path) {
    s = s?.properties?.[k];
    if (s?.$ref) s = schema.definitions[s.$ref.replace('#/definitions/', '')];
  }
  return s;
}

/**
 * Every value a user sets as a whole, as a dotted path: scalars, lists, and maps whose keys
 * are the user's own (the schema lists no properties for them: labels, resources, roles).
 */
function leaves(v: unknown, path: string[] = []): string[] {
  const isMap = typeof v === 'object' && v !== null && !Array.isArray(v);
  if (path.length > 0 && (!isMap || !schemaAt(path)?.properties)) return [path.join('.')];
  return Object.entries(v as object).flatMap(([k, x]) => leaves(x, [...path, k]));
}

/** The README's values table: path -> the default it states (parsed as YAML). */
function documented(readme: string): Map<string, unknown> {
  const rows = readme.split('\n').filter((l) => /^\| `[^`]+` \|/.test(l));
  return new Map(
    rows.map((row) => {
      const m = /^\| `([^`]+)` \| `([^`]*)` \| .+ \|$/.exec(row);
      assert.ok(m, `a row of a value, a default in backticks and a meaning: ${row}`);
      return [m[1]!, parse(m[2]!)];
    }),
  );
}

const get = (path: string) => path.split('.').reduce((o: any, k) => o?.[k], values);

describe("the chart's values", () => {
  it('values.yaml is valid under values.schema.json, and the schema names every value it holds', () => {
    const { $schema: _, ...withoutMeta } = schema;
    const validate = new Ajv({ strict: false }).compile(withoutMeta);
    assert.ok(validate(values), JSON.stringify(validate.errors));
    for (const path of leaves(values)) assert.ok(schemaAt(path.split('.')), `values.schema.json declares ${path}`);
  });

  it('README.md documents every value with the default values.yaml gives it, and no value that is not there', () => {
    const docs = documented(readFileSync(join(CHART, 'README.md'), 'utf8'));
    const all = leaves(values);
    assert.ok(all.length >= 40, `the walk found the values (${all.length})`);
    assert.deepEqual(
      all.filter((p) => !docs.has(p)),
      [],
      'values missing from README.md',
    );
    assert.deepEqual(
      [...docs.keys()].filter((p) => !all.includes(p)),
      [],
      'README.md rows naming no value',
    );
    for (const path of all) assert.deepStrictEqual(docs.get(path), get(path), `the default README.md states for ${path}`);
  });

  it('negative controls: an undocumented value, a stale default and a value without schema are each found', () => {
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const without = documented(readme.replace(/^\| `priorityClassName` .*\n/m, ''));
    assert.ok(!without.has('priorityClassName'));
    const stale = documented(readme.replace('| `replicaCount` | `2` |', '| `replicaCount` | `1` |'));
    assert.notDeepStrictEqual(stale.get('replicaCount'), get('replicaCount'));
    assert.deepEqual(leaves({ podDisruptionBudget: { enabled: true, minAvailable: 1 } }), ['podDisruptionBudget.enabled', 'podDisruptionBudget.minAvailable']);
    assert.equal(schemaAt(['podDisruptionBudget', 'minAvailable']), undefined);
    // A free-form map is one value; a map the schema describes is documented key by key.
    assert.deepEqual(leaves({ resources: { requests: { cpu: '1' } }, tls: { enabled: true } }), ['resources', 'tls.enabled']);
  });
});
