// The last-pass credential scrubbing (src/http/logger.ts) on adversarial lines: a
// megabyte of what each pattern starts with. A pattern that rescans a run from each
// of its starts (quadratic) would take minutes on these and exceed the timeout; the
// test asserts the results, not times. The JWT matcher is also checked against the
// plain regular expression it replaced, on random lines built from the pieces that
// matter (its twin as an oracle).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { capturedLogger } from '../support/captured-logger.js';
import { type createLogger, scrubCredentials } from '../../src/http/logger.js';
import { createTokenSealer } from '../../src/vault/token-seal.js';

const MiB = 1024 * 1024;
const fill = (unit: string, bytes = MiB): string => unit.repeat(Math.ceil(bytes / unit.length));

// The patterns as they were before they were made linear: right, but quadratic on the inputs below.
const ORACLE: [RegExp, string][] = [
  [/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\bhv[sbr]\.[A-Za-z0-9_-]{16,}/g, '[redacted-vault-token]'],
  [/\b[sb]\.[A-Za-z0-9]{24}\b/g, '[redacted-vault-token]'],
  [/(Bearer|Basic)(\s|\\u0020|%20)+[^\s"\\]+/gi, '$1 [redacted]'],
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^-"\n]*(?:-----END [A-Z0-9 ]*PRIVATE KEY-----)?/g, '[redacted-private-key]'],
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
    ['"-----BEGIN " repeated', fill('-----BEGIN '), (out, line) => assert.equal(out, line)],
    ['"-----BEGIN " + 1 MiB of keyword letters', `-----BEGIN ${fill('RSA ')}`, (out, line) => assert.equal(out, line)],
    ['"-----BEGIN PRIVATE KEY-----" + 1 MiB of base64', `-----BEGIN PRIVATE KEY-----${fill('QUJD')}`, (out) => assert.equal(out, '[redacted-private-key]')],
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
    const { log, lines } = capturedLogger('debug');
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
    '-----BEGIN ',
    'RSA ',
    'PRIVATE KEY-----',
    '-----END ',
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

/** A trace logger whose lines are parsed back as they are written. */
function captured(): { log: ReturnType<typeof createLogger>; lines: Record<string, any>[]; text: () => string } {
  const { log, lines: raw } = capturedLogger('trace');
  return { log, lines: raw.map((l) => JSON.parse(l)), text: () => raw.join('') };
}

describe('layer 2 blanks what is a secret and keeps what is not', () => {
  const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
  const SEALED = createTokenSealer('hmac-key-for-the-logger-test').seal('hvs.CAESIJ-the-sealed-lease-token', 'default/app/db/creds/app/lease-1');

  it('a generic name holding no secret is logged as it is', () => {
    const { log, text } = captured();
    const config = { vault: { address: 'https://vault.vault:8200', timeoutMs: 2000 }, refreshSeconds: 300 };
    const options = { fieldManager: 'vaultapp', dryRun: false };
    log.info(
      { config, options, key: 'DATABASE_URL', value: 42, data: { path: 'secret/data/app', keys: 3 }, request: { method: 'GET', path: '/v1/sys/health' } },
      'x',
    );
    const line = JSON.parse(text());
    assert.deepEqual(line.config, config);
    assert.deepEqual(line.options, options);
    assert.equal(line.key, 'DATABASE_URL');
    assert.equal(line.value, 42);
    assert.deepEqual(line.data, { path: 'secret/data/app', keys: 3 });
    assert.deepEqual(line.request, { method: 'GET', path: '/v1/sys/health' });
  });

  it('credentials are blanked under their names at any depth; whether one is required stays visible', () => {
    const { log, text } = captured();
    log.info(
      {
        config: { auth: { method: 'token', token: 'tok-1f2e3d' }, hmacKey: 'hmac-9a8b', tls: { privateKey: 'pk-77' } },
        request: { headers: { Authorization: 'Digest abc-5e6f', 'X-Vault-Token': 'vt-4c4c', Cookie: 'sid=c00k1e' } },
        options: [{ password: 'pw-2b2b', jwt: 'jw-3c3c', client_token: 'ct-6d6d' }],
        bearerToken: true,
      },
      'x',
    );
    const out = text();
    for (const s of ['tok-1f2e3d', 'hmac-9a8b', 'pk-77', 'abc-5e6f', 'vt-4c4c', 'c00k1e', 'pw-2b2b', 'jw-3c3c', 'ct-6d6d']) assert.ok(!out.includes(s), s);
    const line = JSON.parse(out);
    assert.equal(line.config.auth.method, 'token');
    assert.equal(line.config.auth.token, '[redacted]');
    assert.equal(line.bearerToken, true);
  });

  it("a Secret's data, a Vault answer's data and auth, an HTTP exchange's body and the material a sync read are blanked", () => {
    const { log, text } = captured();
    log.info(
      {
        child: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app' }, data: { DB: 'c2VjcmV0LWRi' }, stringData: { API: 'plain-api-key' } },
        answer: { request_id: 'r-1', lease_id: '', renewable: false, data: { data: { password: 'kv-value-0x1' } }, auth: null },
        login: { request_id: 'r-2', auth: { policies: ['app'], metadata: { role: 'app-role-secret-ish' } } },
        response: { status: 200, headers: { 'content-type': 'application/json' }, data: { value: 'http-answer-0x2' } },
        material: { auth: { ok: true }, reads: { 'secret/data/app': { ok: true, engine: 'kv2', data: { k: 'material-0x3' } } } },
        read: { ok: true, engine: 'kv1', data: { k: 'pathread-0x4' } },
      },
      'x',
    );
    const out = text();
    for (const s of ['c2VjcmV0LWRi', 'plain-api-key', 'kv-value-0x1', 'app-role-secret-ish', 'http-answer-0x2', 'material-0x3', 'pathread-0x4']) {
      assert.ok(!out.includes(s), s);
    }
    const line = JSON.parse(out);
    // What locates the secret stays: the Secret's name, the Vault request, the HTTP status.
    assert.equal(line.child.metadata.name, 'app');
    assert.equal(line.answer.request_id, 'r-1');
    assert.equal(line.response.status, 200);
    assert.equal(line.response.headers['content-type'], 'application/json');
  });

  it('a sealed token and a PEM private key are blanked under any name, and in a message', () => {
    const { log, text } = captured();
    log.info({ annotations: { 'vaultapp/leases': SEALED }, tls: { cert: PEM, nested: [PEM] } }, `key follows ${PEM}`);
    const out = text();
    assert.ok(!out.includes(SEALED));
    assert.ok(!out.includes('MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'));
    const line = JSON.parse(out);
    assert.equal(line.annotations['vaultapp/leases'], '[redacted]');
    assert.deepEqual(line.tls, { cert: '[redacted]', nested: ['[redacted]'] });
    assert.equal(line.msg, 'key follows [redacted-private-key]\n');
  });

  it("a child logger's bindings are blanked the same way, and its non-secret bindings kept", () => {
    const { log, text } = captured();
    const child = log.child({ vaultapp: 'default/app', token: 'child-token-5a5a', secret: { kind: 'Secret', data: { k: 'child-data-6b6b' } } });
    child.child({ config: { password: 'grandchild-pw-7c7c', path: 'secret/data/app' } }).trace('from a grandchild');
    const out = text();
    for (const s of ['child-token-5a5a', 'child-data-6b6b', 'grandchild-pw-7c7c']) assert.ok(!out.includes(s), s);
    const line = JSON.parse(out);
    assert.equal(line.vaultapp, 'default/app');
    assert.equal(line.token, '[redacted]');
    assert.equal(line.config.path, 'secret/data/app');
  });
});
