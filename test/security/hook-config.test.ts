// Start-up rules of the hook's own security settings: bad or contradictory
// variables stop loadConfig naming them, and the real entry point (src/server.ts)
// refuses to start in a cluster without hook authentication unless it is switched
// off explicitly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { makeCa, makeLeaf, tempDir, type Pem } from '../support/tls-certs.js';

const dir = tempDir('vaultapp-hookcfg-');
const emptyHome = tempDir('vaultapp-home-');
let ca: Pem;
let server: Pem;
let other: Pem;
const tokenFile = join(dir, 'token');
const shortTokenFile = join(dir, 'short-token');

before(() => {
  ca = makeCa(dir, 'ca');
  server = makeLeaf(dir, 'server', ca, 'server');
  other = makeLeaf(dir, 'other', ca, 'server');
  writeFileSync(tokenFile, 'a-long-enough-bearer-token-0123\n');
  writeFileSync(shortTokenFile, 'short\n');
});

const local = { VAULT_TOKEN: 't' };

describe("loadConfig: the hook's TLS and authentication variables", () => {
  it('reads them into hookSecurity', () => {
    const c = loadConfig(
      {
        ...local,
        VAULTAPP_AUTH_TOKEN_FILE: tokenFile,
        VAULTAPP_TLS_CERT_FILE: server.certFile,
        VAULTAPP_TLS_KEY_FILE: server.keyFile,
        VAULTAPP_TLS_CLIENT_CA_FILE: ca.certFile,
        VAULTAPP_CREDENTIALS_RELOAD_SECONDS: '30',
      },
      emptyHome,
    );
    assert.deepStrictEqual(c.hookSecurity, {
      tokenFile,
      tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile },
      reloadSeconds: 30,
    });
  });

  it('defaults to nothing configured, reloading every 10 s', () => {
    assert.deepStrictEqual(loadConfig(local, emptyHome).hookSecurity, { reloadSeconds: 10 });
  });

  const bad: [string, () => Record<string, string>, RegExp][] = [
    ['a certificate without a key', () => ({ VAULTAPP_TLS_CERT_FILE: server.certFile }), /VAULTAPP_TLS_CERT_FILE and VAULTAPP_TLS_KEY_FILE go together/],
    ['a key without a certificate', () => ({ VAULTAPP_TLS_KEY_FILE: server.keyFile }), /VAULTAPP_TLS_CERT_FILE and VAULTAPP_TLS_KEY_FILE go together/],
    ['a client CA without TLS', () => ({ VAULTAPP_TLS_CLIENT_CA_FILE: ca.certFile }), /VAULTAPP_TLS_CLIENT_CA_FILE needs TLS/],
    [
      'a certificate and a key that do not match',
      () => ({ VAULTAPP_TLS_CERT_FILE: server.certFile, VAULTAPP_TLS_KEY_FILE: other.keyFile }),
      /VAULTAPP_TLS_CERT_FILE \/ VAULTAPP_TLS_KEY_FILE: not a usable/,
    ],
    [
      'a certificate file that is not PEM',
      () => ({ VAULTAPP_TLS_CERT_FILE: tokenFile, VAULTAPP_TLS_KEY_FILE: server.keyFile }),
      /VAULTAPP_TLS_CERT_FILE \/ VAULTAPP_TLS_KEY_FILE: not a usable/,
    ],
    [
      'a missing certificate file',
      () => ({ VAULTAPP_TLS_CERT_FILE: '/nonexistent/tls.crt', VAULTAPP_TLS_KEY_FILE: server.keyFile }),
      /VAULTAPP_TLS_CERT_FILE: cannot read \/nonexistent\/tls.crt: ENOENT/,
    ],
    ['a missing token file', () => ({ VAULTAPP_AUTH_TOKEN_FILE: '/nonexistent/token' }), /VAULTAPP_AUTH_TOKEN_FILE: cannot read \/nonexistent\/token: ENOENT/],
    ['a token shorter than 16 characters', () => ({ VAULTAPP_AUTH_TOKEN_FILE: shortTokenFile }), /VAULTAPP_AUTH_TOKEN_FILE: .* at least 16 characters/],
    [
      'VAULTAPP_HOOK_AUTH=none with a token file',
      () => ({ VAULTAPP_HOOK_AUTH: 'none', VAULTAPP_AUTH_TOKEN_FILE: tokenFile }),
      /VAULTAPP_HOOK_AUTH=none contradicts/,
    ],
    ['an unknown VAULTAPP_HOOK_AUTH', () => ({ VAULTAPP_HOOK_AUTH: 'off' }), /VAULTAPP_HOOK_AUTH/],
    ['a reload period of 0', () => ({ VAULTAPP_CREDENTIALS_RELOAD_SECONDS: '0' }), /VAULTAPP_CREDENTIALS_RELOAD_SECONDS: must be >= 1/],
  ];
  for (const [name, env, message] of bad) {
    it(`stops on ${name}, naming the variable`, () => {
      assert.throws(
        () => loadConfig({ ...local, ...env() }, emptyHome),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      );
    });
  }
});

const serverEntry = fileURLToPath(new URL('../../src/server.ts', import.meta.url));

/** Runs src/server.ts until it exits or prints `until`, then stops it. */
function runServer(env: Record<string, string>, until?: RegExp): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', serverEntry], {
      env: { PATH: process.env.PATH ?? '', HOME: emptyHome, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (until?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('src/server.ts in a cluster (VAULTAPP_AUTH=kubernetes)', () => {
  const cluster = () => ({ VAULTAPP_AUTH: 'kubernetes', VAULTAPP_HMAC_KEY: 'h'.repeat(32), VAULTAPP_KUBE_API_URL: 'https://127.0.0.1:1' });

  it('refuses to start without hook authentication, with a message naming the variables (exit code 2)', async () => {
    const { code, output } = await runServer(cluster());
    assert.equal(code, 2, output);
    assert.match(output, /VAULTAPP_AUTH_TOKEN_FILE/);
    assert.match(output, /VAULTAPP_TLS_CLIENT_CA_FILE/);
    assert.match(output, /VAULTAPP_HOOK_AUTH=none/);
  });

  it('starts with a bearer token file', async () => {
    const { output } = await runServer({ ...cluster(), VAULTAPP_AUTH_TOKEN_FILE: tokenFile }, /Server listening/);
    assert.match(output, /"bearerToken":true/);
    assert.match(output, /"vaultAuth":"kubernetes"/, 'the start-up line is not censored by the redaction of `auth`');
  });

  it('starts with VAULTAPP_HOOK_AUTH=none, and warns that only a NetworkPolicy protects it', async () => {
    const { output } = await runServer({ ...cluster(), VAULTAPP_HOOK_AUTH: 'none' }, /Server listening/);
    assert.match(output, /VAULTAPP_HOOK_AUTH=none: \/sync and \/finalize accept any caller/);
  });
});
