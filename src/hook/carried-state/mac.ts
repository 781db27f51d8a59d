// State the hook writes on a child and acts on when it comes back (lease records,
// sealed tokens) is authenticated: anyone who may edit Secrets in the VaultApp's
// namespace can write the annotations, so what comes back is input, not truth: the
// hook acts only on what it can prove it wrote itself. A MAC under a key derived from the hook's HMAC key,
// over the VaultApp's namespace, name and uid and the state itself, means a record
// forged, edited, or copied from another VaultApp is never acted on.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { StateBinding } from '../contract.js';

// One derived key per purpose, so a MAC made for one kind of state never verifies
// as another, and none of them equals the secret-version HMAC on Deployments.
const derived = new Map<string, Buffer>();
function macKey(hmacKey: string, purpose: string): Buffer {
  const id = `${purpose}\u0000${hmacKey}`;
  let key = derived.get(id);
  if (!key) {
    if (derived.size > 16) derived.clear(); // keys change only on reconfiguration (tests make many)
    key = Buffer.from(hkdfSync('sha256', hmacKey, 'vaultapp', `carried-state:${purpose}`, 32));
    derived.set(id, key);
  }
  return key;
}

/** The MAC of `fields` for `purpose`, bound to the VaultApp: base64url, 43 characters. */
export function stateMac(hmacKey: string, purpose: string, binding: StateBinding, fields: unknown): string {
  return createHmac('sha256', macKey(hmacKey, purpose))
    .update(JSON.stringify([binding.namespace, binding.name, binding.uid, fields]))
    .digest('base64url');
}

export function stateMacMatches(hmacKey: string, purpose: string, binding: StateBinding, fields: unknown, mac: unknown): boolean {
  if (typeof mac !== 'string') return false;
  const expected = Buffer.from(stateMac(hmacKey, purpose, binding, fields), 'utf8');
  const given = Buffer.from(mac, 'utf8');
  return given.length === expected.length && timingSafeEqual(expected, given);
}
