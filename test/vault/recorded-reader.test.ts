// The recorded reader behind `npm run render -- --values`, the tests and the bench:
// it must hand the core what the real reader would, one read per distinct spec path.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { recordedMaterial, recordedReader } from '../../src/vault/recorded-reader.js';

const app = parse(readFileSync(new URL('../../examples/billing-service.yaml', import.meta.url), 'utf8')) as VaultApp;
const paths = [...new Set(app.spec.vault.secrets.map((s) => s.path))];

describe('recorded reader', () => {
  it('reads each spec path once from the values, and nothing else', () => {
    const values = Object.fromEntries(paths.map((p, i) => [p, { k: `v${i}` }]));
    const m = recordedMaterial(app, { ...values, 'kv/data/other': { x: '1' } }, { version: 3 });
    assert.deepStrictEqual(Object.keys(m.reads), paths);
    assert.deepStrictEqual(m.reads[paths[0]!], { ok: true, engine: 'kv2', data: { k: 'v0' }, version: 3 });
    assert.equal('version' in recordedMaterial(app, values).reads[paths[0]!]!, false);
  });

  it('a path without values is VAULT_PATH_NOT_FOUND with the given reason; inherited keys are not values', () => {
    const values = Object.create({ [paths[0]!]: { k: 'inherited' } }) as Record<string, Record<string, unknown>>;
    const m = recordedMaterial(app, values, { missing: (p) => `${p} is not in the file` });
    assert.deepStrictEqual(m.reads[paths[0]!], { ok: false, problem: { code: 'VAULT_PATH_NOT_FOUND', message: `${paths[0]} is not in the file` } });
    assert.match((recordedMaterial(app, {}).reads[paths[0]!] as { problem: { message: string } }).problem.message, /nothing stored there \(404\)/);
  });

  it('answers a fixed material as it stands and counts every call', async () => {
    const fixed = { auth: { ok: false as const, problem: { code: 'VAULT_AUTH_FAILED' as const, message: 'no' } }, reads: {} };
    const reader = recordedReader(fixed);
    assert.equal(await reader.material(app), fixed);
    assert.deepStrictEqual(await reader.revoke(app, []), []);
    assert.equal(reader.calls, 2);
  });
});
