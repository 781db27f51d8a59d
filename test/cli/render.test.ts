import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

// The CLI with no Vault configuration at all: no token in the environment or in ~/.vault-token.
function render(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const home = mkdtempSync(join(tmpdir(), 'render-home-'));
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/render.ts', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: home },
  });
}

// A Node stack trace has lines such as "    at loadConfig (file:///...)".
const STACK = /^\s+at /m;

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

  it('says offline that Vault was not asked, rather than that it logged in', () => {
    const r = render(['examples/billing-service.yaml', '--values', 'examples/billing-service.values.yaml']);
    assert.equal(r.status, 0, r.stderr);
    const auth = parse(r.stdout).status.conditions.find((c: { type: string }) => c.type === 'VaultAuthenticated');
    assert.equal(auth.status, 'Unknown');
    assert.equal(auth.reason, 'Offline');
    assert.doesNotMatch(auth.message, /logged in/);
  });

  it('without --values and without a Vault configuration, says in one line what to pass and exits 2', () => {
    const r = render(['examples/billing-service.yaml']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /--values <values\.yaml>/);
    assert.doesNotMatch(r.stderr, STACK);
  });

  it('names a file it cannot read, in one line, and exits 1', () => {
    for (const args of [['examples/no-such-app.yaml'], ['examples/billing-service.yaml', '--values', 'examples/no-such-values.yaml']]) {
      const r = render(args);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, new RegExp(`${args.at(-1)}: no such file`));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, STACK);
    }
  });

  it('exits 2 with the usage for arguments it does not take', () => {
    for (const args of [[], ['--bogus'], ['a.yaml', 'b.yaml']]) {
      const r = render(args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /usage: npm run render/);
      assert.doesNotMatch(r.stderr, STACK);
    }
  });
});
