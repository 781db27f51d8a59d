import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

describe('npm run render', () => {
  it('prints the first-sync answer for the example from offline values', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/render.ts', 'examples/billing-service.yaml', '--values', 'examples/billing-service.values.yaml'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = parse(r.stdout);
    assert.deepStrictEqual(
      out.children.map((c: { kind: string }) => c.kind),
      ['Secret', 'Deployment', 'Service', 'ServiceMonitor'],
    );
    assert.equal(Buffer.from(out.children[0].data.provider_x_api_key, 'base64').toString(), 'example-provider-x-key');
  });

  it('names the field when the file is not a valid VaultApp', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/render.ts', 'examples/billing-service.values.yaml'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /billing-service\.values\.yaml: .*apiVersion/);
  });
});
