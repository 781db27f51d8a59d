// The rules for the hook's own credential files, in one place: read at start-up by
// the configuration (a typo stops the process) and again on every reload by
// src/http/credentials.ts (a half-written renewal keeps the previous material).
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export const MIN_TOKEN_LENGTH = 16;

export interface TlsMaterial {
  cert: string;
  key: string;
  ca?: string;
}
export interface CredentialFiles {
  tokenFile?: string;
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
}

function read(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${variable}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The accepted bearer tokens, one per line, so that a rotation can overlap. Throws a message naming the variable. */
export function readTokens(tokenFile: string): string[] {
  const list = read(tokenFile, 'VAULTAPP_AUTH_TOKEN_FILE')
    .split('\n')
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((t) => t.length < MIN_TOKEN_LENGTH)) {
    throw new Error(`VAULTAPP_AUTH_TOKEN_FILE: ${tokenFile} must hold one token of at least ${MIN_TOKEN_LENGTH} characters per line`);
  }
  return list;
}

/** The certificate, key and client CA, checked to make a TLS context (a pair read across an update may not match yet). */
export function readTls(files: NonNullable<CredentialFiles['tls']>): TlsMaterial {
  const tls: TlsMaterial = {
    cert: read(files.certFile, 'VAULTAPP_TLS_CERT_FILE'),
    key: read(files.keyFile, 'VAULTAPP_TLS_KEY_FILE'),
    ...(files.clientCaFile !== undefined ? { ca: read(files.clientCaFile, 'VAULTAPP_TLS_CLIENT_CA_FILE') } : {}),
  };
  try {
    createSecureContext(tls);
  } catch (err) {
    throw new Error(
      `VAULTAPP_TLS_CERT_FILE / VAULTAPP_TLS_KEY_FILE${tls.ca !== undefined ? ' / VAULTAPP_TLS_CLIENT_CA_FILE' : ''}: not a usable certificate and key: ${(err as Error).message}`,
    );
  }
  return tls;
}
