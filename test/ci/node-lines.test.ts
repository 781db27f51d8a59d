// Which Node lines the project runs on is written in five places: package.json's engines
// (what users are told), the locked dependencies' own engines (what they need), the pins of
// scripts/ensure-node-lts.sh, .ci/run (which lines CI runs) and the Dockerfile (what the
// image runs). These tests fail when one moves without the others.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

// semver is npm's own range logic, the one that prints EBADENGINE; it ships no types.
const semver = createRequire(import.meta.url)('semver') as {
  satisfies(version: string, range: string): boolean;
  minVersion(range: string): { version: string; major: number } | null;
  major(version: string): number;
};

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }> };
const ensure = read('scripts/ensure-node-lts.sh');
const ci = read('.ci/run');
const dockerfile = read('Dockerfile');

const declared = pkg.engines.node;
const oldest = semver.minVersion(declared);
const pin = (name: string): string => {
  const m = new RegExp(`^${name}=(\\d+\\.\\d+\\.\\d+)$`, 'm').exec(ensure);
  assert.ok(m, `scripts/ensure-node-lts.sh sets ${name}`);
  return m[1] as string;
};
const oldestPin = pin('OLDEST_LINE_VERSION');
const imagePin = pin('IMAGE_LINE_VERSION');

describe('Node lines', () => {
  it('package.json declares a lower bound only, and the lock says the same', () => {
    assert.match(declared, /^>=\d+\.\d+\.\d+$/);
    assert.ok(oldest);
    assert.deepEqual(lock.packages['']?.engines, { node: declared });
  });

  it('every locked dependency runs on the oldest version engines allows', () => {
    assert.ok(oldest);
    const refused = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, p]) => {
        const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
        return range !== undefined && !semver.satisfies(oldest.version, range) ? [`${path.replace(/^.*node_modules\//, '')} (${range})`] : [];
      });
    assert.deepEqual(refused, [], `Node ${oldest.version} does not satisfy these; raise engines in package.json`);
  });

  it('engines names the lowest version the dependencies allow, not a higher one', () => {
    // One patch release below the declared bound must break some dependency's engines;
    // else the bound is stricter than what anything needs.
    assert.ok(oldest);
    const below = `${oldest.major}.${Math.max(0, Number(oldest.version.split('.')[1]) - 1)}.0`;
    const ranges = Object.values(lock.packages).flatMap((p) => (p.engines && !Array.isArray(p.engines) && p.engines.node ? [p.engines.node] : []));
    assert.ok(
      ranges.some((r) => !semver.satisfies(below, r)),
      `every dependency also runs on ${below}: lower engines`,
    );
  });

  it("@types/node is the oldest line's: the type check refuses an API that line lacks", () => {
    assert.ok(oldest);
    const types = semver.minVersion(pkg.devDependencies['@types/node'] ?? '');
    assert.equal(types?.major, oldest.major);
  });

  it("the ensure script's oldest line is the declared line, and satisfies engines", () => {
    assert.ok(oldest);
    assert.equal(semver.major(oldestPin), oldest.major);
    assert.ok(semver.satisfies(oldestPin, declared), `${oldestPin} is below ${declared}`);
    assert.match(ensure, new RegExp(`^\\s+${oldest.major}\\) VERSION=\\$OLDEST_LINE_VERSION ;;$`, 'm'));
  });

  it("the ensure script's image line is the Dockerfile's, and its default", () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile);
    assert.ok(image, 'the Dockerfile pins NODE_IMAGE=node:<major>-…');
    assert.equal(semver.major(imagePin), Number(image[1]));
    assert.ok(semver.satisfies(imagePin, declared));
    assert.match(ensure, /^REQUEST="\$\{1:-\$\{VAULTAPP_NODE_LTS_VERSION:-\$IMAGE_LINE_VERSION\}\}"$/m);
    assert.match(ensure, new RegExp(`^\\s+${image[1]}\\) VERSION=\\$IMAGE_LINE_VERSION ;;$`, 'm'));
  });

  it('the Dockerfile says which lines the code supports as package.json does', () => {
    assert.ok(oldest);
    assert.match(dockerfile, new RegExp(`Node >= ${oldest.major}\\.${oldest.version.split('.')[1]}\\b`));
    assert.doesNotMatch(dockerfile, /Node >= 20\b/);
  });

  it(".ci/run installs and runs README's test command on the oldest line, then the suite on the image's", () => {
    assert.ok(oldest);
    const lines = ci.split('\n').filter((l) => !l.trimStart().startsWith('#'));
    const at = (re: RegExp): number => {
      const i = lines.findIndex((l) => re.test(l));
      assert.notEqual(i, -1, `.ci/run has a line matching ${re}`);
      return i;
    };
    const fetchOldest = at(new RegExp(`^NODE_OLDEST="\\$\\(bash scripts/ensure-node-lts\\.sh ${oldest.major}\\)"$`));
    const onPath = at(/^export PATH="\$\(dirname "\$NODE_OLDEST"\):\$PATH"$/);
    const install = at(/^npm ci\b/);
    const test = at(/^npm test$/);
    const image = at(new RegExp(`"\\$\\(bash scripts/ensure-node-lts\\.sh ${semver.major(imagePin)}\\)" scripts/run-tests\\.mjs$`));
    assert.ok(fetchOldest < onPath && onPath < install && install < test && test < image, 'in this order');
    // README's test command is the one CI runs.
    assert.match(read('README.md'), /^npm ci && npm test\b/m);
  });
});
