// The last-pass credential scrubbing (src/http/logger.ts) on adversarial lines: a
// megabyte of what each pattern starts with. A pattern that rescans a run from each
// of its starts (quadratic) would take minutes on these and exceed the timeout; the
// test asserts the results, not times. The JWT matcher is also checked against the
// plain regular expression it replaced, on random lines built from the pieces that
// matter (its twin as an oracle).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger, scrubCredentials } from '../../src/http/logger.js';

const MiB = 1024 * 1024;
const fill = (unit: string, bytes = MiB): string => unit.repeat(Math.ceil(bytes / unit.length));

// The patterns as they were before they were made linear: right, but quadratic on the inputs below.
const ORACLE: [RegExp, string][] = [
  [/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\bhv[sbr]\.[A-Za-z0-9_-]{16,}/g, '[redacted-vault-token]'],
  [/\b[sb]\.[A-Za-z0-9]{24}\b/g, '[redacted-vault-token]'],
  [/(Bearer|Basic)(\s|\\u0020|%20)+[^\s"\\]+/gi, '$1 [redacted]'],
];
const oracle = (line: string): string => ORACLE.reduce((out, [re, by]) => out.replace(re, by), line);

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlc2lnbmF0dXJl';

describe('scrubCredentials on adversarial lines (1 MiB each)', { timeout: 60_000 }, () => {
  const cases: [string, string, (out: string, line: string) => void][] = [
    ['"eyJ" repeated (no dot: no JWT)', fill('eyJ'), (out, line) => assert.equal(out, line)],
    [
      '"eyJeyJ…" runs split by single dots (one JWT per three runs)',
      fill(`${'eyJ'.repeat(1000)}.`),
      (out) => {
        assert.match(out, /^(\[redacted-jwt\]\.)*\[redacted-jwt\][eyJ.]*$/);
      },
    ],
    ['"eyJaaaaaaaa." repeated (a chain of JWT-shaped runs)', fill('eyJaaaaaaaa.'), (out) => assert.match(out, /^(\[redacted-jwt\]\.)+/)],
    ['"eyJ" + "a" * 1 MiB + ".": a dot but no second one', `eyJ${fill('a')}.`, (out, line) => assert.equal(out, line)],
    ['"hvs." repeated', fill('hvs.'), (out, line) => assert.equal(out, line)],
    ['"hvs." + 1 MiB of token characters', `hvs.${fill('A')}`, (out) => assert.equal(out, '[redacted-vault-token]')],
    ['"s." repeated', fill('s.'), (out, line) => assert.equal(out, line)],
    ['"Bearer" + 1 MiB of spaces, nothing after', `Bearer${fill(' ')}`, (out, line) => assert.equal(out, line)],
    ['"Bearer" + 1 MiB of spaces, then a token', `Bearer${fill(' ')}tok`, (out) => assert.equal(out, 'Bearer [redacted]')],
    ['"Bearer " repeated', fill('Bearer '), (out) => assert.ok(!/Bearer (?!\[redacted\])\S/.test(out))],
    ['"Bearer" + "%20" repeated', `Bearer${fill('%20')}`, (out) => assert.match(out, /^Bearer \[redacted\]/)],
    ['"Bearer" + escaped spaces ("\\u0020") repeated', `Bearer${fill('\\u0020')}"`, (out, line) => assert.equal(out, line)],
    ['a JWT at the end of 1 MiB of "eyJ."', `${fill('eyJ.')} ${JWT}`, (out) => assert.ok(out.endsWith(' [redacted-jwt]'))],
  ];
  for (const [name, line, check] of cases) {
    it(name, () => {
      const out = scrubCredentials(line);
      check(out, line);
      assert.ok(!out.includes(JWT));
      // The same shape, short enough for the quadratic oracle.
      const head = line.slice(0, 12_000);
      assert.equal(scrubCredentials(head), oracle(head));
    });
  }

  it('a 15 KB "eyJeyJ…" request path logged at debug comes out, scrubbed where it should be', () => {
    const lines: string[] = [];
    const log = createLogger(
      'debug',
      new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    );
    log.debug({ req: { url: `/sync/${'eyJ'.repeat(5000)}/x?token=${JWT}` } }, 'request completed');
    log.debug(`path /${'eyJ'.repeat(5000)}.${'eyJ'.repeat(5000)}.sig and a JWT after a newline:\n${JWT}`);
    const text = lines.join('');
    assert.ok(text.includes('eyJ'.repeat(5000)), 'the harmless run is kept');
    assert.ok(!text.includes(JWT), 'the JWT is not');
    assert.equal(lines.length, 2);
  });
});

describe('scrubCredentials agrees with the plain regular expressions it replaced', () => {
  const piece = fc.constantFrom(
    'eyJ',
    'eyJhbGciOi',
    'a',
    'abcdefgh',
    '.',
    '-',
    '_',
    ' ',
    '\\n',
    '"',
    '=',
    '%3D',
    'hvs.',
    'hvb.',
    's.',
    'abcdefghijklmnopqrstuvwx',
    'Bearer ',
    'basic ',
    '%20',
    '\\u0020',
    JWT,
  );
  it('on 20 000 random lines of JWT-, token- and bearer-shaped pieces', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const line = parts.join('');
        assert.equal(scrubCredentials(line), oracle(line));
      }),
      { numRuns: 20_000 },
    );
  });
});
