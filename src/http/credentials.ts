// The hook's own credentials, read from files: the TLS certificate and key it
// serves, the CA of the client certificates it accepts, and the bearer tokens
// Metacontroller must present. cert-manager renews certificates and the kubelet
// updates mounted Secrets in place (an atomic symlink swap), so the files are
// read again periodically; a change is applied only once it parses, and a broken
// intermediate state keeps the previous material.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { HookSecurityConfig } from '../config/config.js';

export interface TlsMaterial { cert: string; key: string; ca?: string }

interface Snapshot { tokens?: Buffer[]; tls?: TlsMaterial; fingerprint: string }

export type ReloadOutcome = { changed: false } | { changed: true; tlsChanged: boolean; tokensChanged: boolean } | { changed: false; error: string };

const MIN_TOKEN_LENGTH = 16;
const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function read(file: string, variable: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${variable}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export class HookCredentials {
  private current: Snapshot;
  private lastBadFingerprint: string | undefined;

  constructor(private readonly config: Pick<HookSecurityConfig, 'tokenFile' | 'tls'>) {
    // The first read must succeed: start-up fails on a missing or broken file.
    this.current = this.snapshot();
  }

  get bearerRequired(): boolean { return this.config.tokenFile !== undefined; }
  get clientCertRequired(): boolean { return this.config.tls?.clientCaFile !== undefined; }
  get tls(): TlsMaterial | undefined { return this.current.tls; }

  /**
   * Whether `presented` is one of the accepted tokens. Both sides are hashed to
   * the same length and every accepted token is compared, so the time taken says
   * nothing about how much of a token was right, nor which one.
   */
  tokenAccepted(presented: string): boolean {
    const p = digest(presented);
    let ok = false;
    for (const t of this.current.tokens ?? []) ok = timingSafeEqual(t, p) || ok;
    return ok;
  }

  /** Reads the files again; applies them if they changed and are usable. */
  reload(): ReloadOutcome {
    let next: Snapshot;
    try {
      next = this.snapshot();
    } catch (err) {
      const message = (err as Error).message;
      // One report per broken state, not one per period.
      if (this.lastBadFingerprint === message) return { changed: false };
      this.lastBadFingerprint = message;
      return { changed: false, error: message };
    }
    this.lastBadFingerprint = undefined;
    if (next.fingerprint === this.current.fingerprint) return { changed: false };
    const tlsChanged = JSON.stringify(next.tls) !== JSON.stringify(this.current.tls);
    const tokensChanged = Buffer.concat(next.tokens ?? []).toString('hex') !== Buffer.concat(this.current.tokens ?? []).toString('hex');
    this.current = next;
    return { changed: true, tlsChanged, tokensChanged };
  }

  private snapshot(): Snapshot {
    const parts: string[] = [];
    let tokens: Buffer[] | undefined;
    if (this.config.tokenFile !== undefined) {
      const text = read(this.config.tokenFile, 'VAULTAPP_AUTH_TOKEN_FILE');
      // One token per line: a rotation can accept the new token before Metacontroller sends it.
      const list = text.split('\n').map((t) => t.trim()).filter(Boolean);
      if (list.length === 0 || list.some((t) => t.length < MIN_TOKEN_LENGTH)) {
        throw new Error(`VAULTAPP_AUTH_TOKEN_FILE: ${this.config.tokenFile} must hold one token of at least ${MIN_TOKEN_LENGTH} characters per line`);
      }
      tokens = list.map(digest);
      parts.push(...tokens.map((t) => t.toString('hex')));
    }
    let tls: TlsMaterial | undefined;
    if (this.config.tls) {
      const { certFile, keyFile, clientCaFile } = this.config.tls;
      tls = {
        cert: read(certFile, 'VAULTAPP_TLS_CERT_FILE'),
        key: read(keyFile, 'VAULTAPP_TLS_KEY_FILE'),
        ...(clientCaFile !== undefined ? { ca: read(clientCaFile, 'VAULTAPP_TLS_CLIENT_CA_FILE') } : {}),
      };
      try {
        // A certificate and a key read across a Secret update may not match yet.
        createSecureContext(tls);
      } catch (err) {
        throw new Error(`VAULTAPP_TLS_CERT_FILE / VAULTAPP_TLS_KEY_FILE${tls.ca !== undefined ? ' / VAULTAPP_TLS_CLIENT_CA_FILE' : ''}: not a usable certificate and key: ${(err as Error).message}`);
      }
      parts.push(digest(tls.cert + '\0' + tls.key + '\0' + (tls.ca ?? '')).toString('hex'));
    }
    return { ...(tokens ? { tokens } : {}), ...(tls ? { tls } : {}), fingerprint: parts.join(':') };
  }
}
