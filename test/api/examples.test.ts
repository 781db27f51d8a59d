import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { validateVaultApp } from '../../src/api/validate.js';
import { loadExample } from '../fixtures/requests.js';

const dir = new URL('../../examples/', import.meta.url);

describe('examples/', () => {
  it('the sample sync request carries the seed example unchanged as its parent', () => {
    const req = parse(readFileSync(new URL('sync-request.yaml', dir), 'utf8'));
    const { uid: _u, generation: _g, ...meta } = req.parent.metadata;
    const seed = loadExample();
    const { uid: _su, generation: _sg, ...seedMeta } = seed.metadata;
    assert.deepStrictEqual({ ...req.parent, metadata: meta }, { ...seed, metadata: seedMeta });
  });

  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'sync-request.yaml' && !f.endsWith('.values.yaml'))) {
    it(`${file} is a valid VaultApp`, () => {
      const r = validateVaultApp(parse(readFileSync(new URL(file, dir), 'utf8')));
      assert.equal(r.ok, true, JSON.stringify(r));
    });
  }
});
