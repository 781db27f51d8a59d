// Reading JSON the hook did not write. Records keyed by user-chosen strings (Vault
// paths, Secret keys): "__proto__" and "constructor" are valid names there, so reads
// check own properties and writes define them, never touching the prototype.
export const ownGet = <T>(obj: Record<string, T>, key: string): T | undefined => (Object.hasOwn(obj, key) ? obj[key] : undefined);

export function ownSet<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A JSON object (not null, not a list): the shapes of the user's pod spec are checked, not assumed. */
export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
