// Seals a Vault token for the managed Secret's lease annotation, so that a
// restarted hook (or another replica) can keep alive the token whose leases are
// in use. AES-256-GCM under a key derived from the hook's stable HMAC key: who
// can read the Secret gets the credential it holds, not a Vault token. The
// associated data names the VaultApp, path and lease the token was sealed for
// (src/hook/carried-state/mac.ts): pasted into another VaultApp's record it does not open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface TokenSealer {
  seal(token: string, context: string): string;
  /** undefined when the text was sealed under another key or for another context, or is damaged. */
  unseal(sealed: string, context: string): string | undefined;
}

// v1 (no associated data) is no longer opened: such a token could be moved between VaultApps.
const PREFIX = 'v2.';

export function createTokenSealer(hmacKey: string): TokenSealer {
  const key = Buffer.from(hkdfSync('sha256', hmacKey, 'vaultapp', 'lease-token-seal', 32));
  return {
    seal(token, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
      return `${PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    unseal(sealed, context) {
      if (!sealed.startsWith(PREFIX) || sealed.length > 4096) return undefined;
      try {
        const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
        if (raw.length < 29) return undefined;
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}
