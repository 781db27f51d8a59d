// What the Vault edge hands to the pure core: the outcome of logging in and of
// each distinct path read, keyed by the path as written in the spec. Types only,
// so the core never depends on the Vault client.
import type { Problem } from '../errors/catalog.js';

export type Engine = 'kv2' | 'kv1' | 'leased';

export interface Lease { id: string; durationSeconds: number; renewable: boolean }

export type PathRead =
  | { ok: true; engine: Engine; data: Record<string, unknown>; version?: number; lease?: Lease }
  | { ok: false; problem: Problem };

export interface VaultMaterial {
  auth: { ok: true } | { ok: false; problem: Problem };
  reads: Record<string, PathRead>;
}
