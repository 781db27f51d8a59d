import { createHmac } from 'node:crypto';

// A keyed HMAC, not a plain hash: Deployments are readable by many more people
// than Secrets, and a plain hash of a short secret can be brute-forced.
export function secretVersion(data: Record<string, string> | undefined, key: string): string {
  const canonical = JSON.stringify(Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHmac('sha256', key).update(canonical).digest('hex');
}

export function sameData(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  return ak.length === bk.length && ak.every((k) => Object.hasOwn(b ?? {}, k) && b?.[k] === a?.[k]);
}
