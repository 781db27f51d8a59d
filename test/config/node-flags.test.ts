// The node flags the hook runs with in its container: the same in `npm start`, the
// ones `npm run bench` measures, and accepted by this Node (an unknown V8 flag would
// stop the container at start).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { productionNodeFlags } from '../support/node-flags.js';

describe('node flags of the hook process', () => {
  const flags = productionNodeFlags();

  it('the Dockerfile CMD and npm start give node the same flags', () => {
    assert.ok(flags.length > 0, 'the CMD names its node flags');
    const start = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
    assert.deepEqual(
      start.filter((a) => a.startsWith('--')),
      flags,
    );
  });

  it('node accepts them', () => {
    assert.equal(execFileSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' }), 'ok');
  });
});
