// Throwaway CAs and certificates for TLS tests, made with the openssl CLI (Node
// can parse X.509 but not issue it). Everything lives in a temp directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};

export function tempDir(prefix = 'vaultapp-tls-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeCa(dir: string, name: string): Pem {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return load(dir, name);
}

/** A leaf certificate signed by `ca`: for a server on 127.0.0.1/localhost, or a client. */
export function makeLeaf(dir: string, name: string, ca: Pem, usage: 'server' | 'client'): Pem {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    usage === 'server'
      ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n'
      : 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  openssl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-set_serial',
      String((Date.now() % 1e9) + Math.floor(Math.random() * 1e6)),
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      ext,
    ],
    dir,
  );
  return load(dir, name);
}

function load(dir: string, name: string): Pem {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}
