// The hook's own credentials, read from files: the TLS certificate and key it
// serves, the CA of the client certificates it accepts, and the bearer tokens
// Metacontroller must present. cert-manager renews certificates and the kubelet
// updates mounted Secrets in place (an atomic symlink swap), so the files are
// read again periodically; a change is applied only once it parses, and a broken
// intermediate state keeps the previous material.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HookSecurityConfig } from '../config/config.js';
import { readTls, readTokens, type TlsMaterial } from '../config/hook-credential-files.js';

export type { TlsMaterial };

interface Snapshot {
  tokens?: Buffer[];
  tls?: TlsMaterial;
  fingerprint: string;
}

export type ReloadOutcome = { changed: false } | { changed: true; tlsChanged: boolean; tokensChanged: boolean } | { changed: false; error: string };

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class HookCredentials {
  private current: Snapshot;
  private lastBadFingerprint: string | undefined;

  constructor(private readonly config: Pick<HookSecurityConfig, 'tokenFile' | 'tls'>) {
    // The first read must succeed: start-up fails on a missing or broken file.
    this.current = this.snapshot();
  }

  get bearerRequired(): boolean {
    return this.config.tokenFile !== undefined;
  }
  get clientCertRequired(): boolean {
    return this.config.tls?.clientCaFile !== undefined;
  }
  get tls(): TlsMaterial | undefined {
    return this.current.tls;
  }

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
      tokens = readTokens(this.config.tokenFile).map(digest);
      parts.push(...tokens.map((t) => t.toString('hex')));
    }
    let tls: TlsMaterial | undefined;
    if (this.config.tls) {
      tls = readTls(this.config.tls);
      parts.push(digest(`${tls.cert}\0${tls.key}\0${tls.ca ?? ''}`).toString('hex'));
    }
    return { ...(tokens ? { tokens } : {}), ...(tls ? { tls } : {}), fingerprint: parts.join(':') };
  }
}
