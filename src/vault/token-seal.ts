// Seals a Vault token for the managed Secret's lease annotation, so that a
// restarted hook (or another replica) can keep alive the token whose leases are
// in use. AES-256-GCM under a key derived from the hook's stable HMAC key: who
// can read the Secret gets the credential it holds, not a Vault token.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface TokenSealer {
  seal(token: string): string;
  /** undefined when the text was sealed under another key or is damaged. */
  unseal(sealed: string): string | undefined;
}

export function createTokenSealer(hmacKey: string): TokenSealer {
  const key = Buffer.from(hkdfSync('sha256', hmacKey, 'vaultapp', 'lease-token-seal', 32));
  return {
    seal(token) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
      return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    unseal(sealed) {
      if (!sealed.startsWith('v1.')) return undefined;
      try {
        const raw = Buffer.from(sealed.slice(3), 'base64');
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        return undefined;
      }
    },
  };
}
