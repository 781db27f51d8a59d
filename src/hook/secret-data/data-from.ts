// spec.vault.dataFrom: every key of a KV secret becomes a key of the managed Secret,
// as the peers (External Secrets' dataFrom, Vault Secrets Operator) do by default.
// A key is never silently overwritten: the explicit targetKeys of vault.secrets win,
// then the earlier dataFrom entry; what is skipped is said in the SecretsSynced
// condition by key and path, never by value. Whoever writes the Vault path chooses the key
// names: "__proto__", "constructor" and "prototype" are skipped too, as the CRD refuses
// them for targetKey and template keys (src/api/string-rules.ts REFUSED_KEYS). Pure.
import { isRefusedKey } from '../../api/string-rules.js';
import { MAX_DATA_FROM_KEYS, SECRET_KEY_PATTERN, type DataFrom, type VaultApp } from '../../api/vaultapp-schema.js';
import { problem, type Problem } from '../../errors/catalog.js';
import { ownGet, ownSet } from '../../api/json.js';

/** What the dataFrom entries wrote: the Secret keys per path, and the notes on what they skipped. */
export interface DataFromKeys {
  keys: Record<string, string[]>;
  skipped: string[];
}

const SECRET_KEY = new RegExp(SECRET_KEY_PATTERN);
const SECRET_KEY_MAX = 253;
/** Skip notes listed one by one in the condition (and kept in the refresh state); the rest are counted. */
export const MAX_SKIP_NOTES = 8;
// A Vault key name is the tenant's, of any length: a note quotes its start only.
const NAME_SHOWN = 64;
const quote = (name: string): string => JSON.stringify(name.length > NAME_SHOWN ? `${name.slice(0, NAME_SHOWN)}…` : name);

export const dataFromOf = (app: VaultApp): DataFrom[] => app.spec.vault.dataFrom ?? [];

/** Every distinct path the VaultApp reads: vault.secrets' first, then dataFrom's. */
export function pathsOf(app: VaultApp): string[] {
  return [...new Set([...app.spec.vault.secrets.map((s) => s.path), ...dataFromOf(app).map((d) => d.path)])];
}

export const isSecretKey = (key: string): boolean => key.length <= SECRET_KEY_MAX && SECRET_KEY.test(key);

// Peers write what is not a string as JSON (a number as its digits, an object as its JSON text).
function encode(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64');
}

/**
 * The Secret data (base64 values by key) every dataFrom entry gives, from the data just
 * read at its path. `taken` are the keys vault.secrets and vault.templates write (with the
 * words for their source): they win over dataFrom.
 * More than MAX_DATA_FROM_KEYS keys at the paths in all is a problem, not a cut: which
 * keys a cut kept would be arbitrary.
 */
export function copyAllKeys(
  entries: DataFrom[],
  dataAt: (path: string) => Record<string, unknown>,
  taken: ReadonlyMap<string, string>,
): { data: Record<string, string>; from: DataFromKeys; problems: Problem[] } {
  const data: Record<string, string> = {};
  const keys: Record<string, string[]> = {};
  const notes: string[] = [];
  let total = 0;
  for (const [i, entry] of entries.entries()) {
    const names = Object.keys(dataAt(entry.path));
    total += names.length;
    if (total > MAX_DATA_FROM_KEYS) {
      return {
        data: {},
        from: { keys: {}, skipped: [] },
        problems: [
          problem(
            'DATA_FROM_TOO_MANY_KEYS',
            `path "${entry.path}" (dataFrom[${i}]) holds ${names.length} keys: ` +
              `dataFrom copies at most ${MAX_DATA_FROM_KEYS} keys per VaultApp in all; name the keys you need in vault.secrets`,
          ),
        ],
      };
    }
  }
  const givenBy = new Map<string, number>();
  for (const [i, entry] of entries.entries()) {
    const source = dataAt(entry.path);
    const prefix = entry.prefix ?? '';
    const where = (name: string): string => `key ${quote(name)} at path "${entry.path}" (dataFrom[${i}])`;
    for (const name of Object.keys(source).sort()) {
      const target = prefix + name;
      const value = encode(ownGet(source, name));
      if (!isSecretKey(target)) notes.push(`${where(name)}: ${quote(target)} is not a Secret key ([-._a-zA-Z0-9], at most 253 characters)`);
      else if (isRefusedKey(target)) notes.push(`${where(name)}: ${quote(target)} names an object's prototype, a key the hook never writes`);
      else if (value === undefined) notes.push(`${where(name)} is null`);
      else if (taken.has(target)) notes.push(`${where(name)}: ${quote(target)} is ${taken.get(target)}, which wins`);
      else if (givenBy.has(target)) notes.push(`${where(name)}: ${quote(target)} comes from dataFrom[${givenBy.get(target)}] already`);
      else {
        givenBy.set(target, i);
        ownSet(data, target, value);
        ownSet(keys, entry.path, [...(ownGet(keys, entry.path) ?? []), target]);
      }
    }
  }
  const skipped = notes.length > MAX_SKIP_NOTES ? [...notes.slice(0, MAX_SKIP_NOTES), `and ${notes.length - MAX_SKIP_NOTES} more`] : notes;
  return { data, from: { keys, skipped }, problems: [] };
}

/** The condition's words for what dataFrom skipped; '' when nothing was. */
export function skippedMessage(skipped: string[] | undefined): string {
  if (!skipped || skipped.length === 0) return '';
  return `; not written from dataFrom: ${skipped.join('; ')}`;
}
