// When the data was last read from Vault, carried on the managed Secret so that a
// sync inside the refresh interval needs no Vault request at all: Metacontroller
// syncs a VaultApp at every change of a child's status, and Vault's load must not
// follow that churn. Like the lease records it is input when it comes back, so it
// carries a MAC bound to the VaultApp (./mac.ts): nothing a tenant writes
// can make the hook skip a read or trust data it did not write. Pure.
import { bindingOf, isoSeconds } from '../contract.js';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { VaultApp } from '../../api/vaultapp-schema.js';
import { stateMac, stateMacMatches } from './mac.js';
import { dataFromOf, isSecretKey, MAX_SKIP_NOTES, type DataFromKeys } from '../secret-data/data-from.js';
import { identityOf } from '../children/workload.js';
import type { KubeObject } from '../types.js';
import type { LoginFact } from '../conditions.js';

export const STATE_ANNOTATION = 'vaultapp.techweaver.io/state';
/** Any new value on the VaultApp makes the next sync read Vault. */
export const REFRESH_ANNOTATION = 'vaultapp.techweaver.io/refresh';

export interface RefreshState {
  /** When the static paths were last read from Vault (RFC 3339, seconds). */
  readAt: string;
  /** Digest of what decides the data: role, identity, and each entry's path, key and targetKey. */
  spec: string;
  /** Digest of the VaultApp's refresh annotation at that read ('' when absent). */
  refresh: string;
  /** Per path, a MAC of the values the hook wrote for it: an edited or emptied Secret no longer matches. */
  data: Record<string, string>;
  /** The paths whose data came with a lease: they follow the lease records, never the refresh interval. */
  leased: string[];
  /** With spec.vault.dataFrom: the keys each path wrote (kept as the Secret holds them while fresh), and what was skipped. */
  dataFrom?: DataFromKeys;
  /**
   * What the status says and the parent's status cannot be trusted to remember (it may be one
   * or two answers old): when the hook last changed the Secret's data (lastSecretUpdateTime),
   * and whether the last sync that asked Vault got in (VaultAuthenticated of a sync that asks
   * nothing). Absent in states written before they were carried. Each changes only with its
   * fact, never per sync or per refresh.
   */
  updatedAt?: string;
  login?: LoginFact;
  mac: string;
}

/** What this sync learnt for the state: whether it changed the data, and how logging in went (undefined: Vault not asked). */
export interface StateFacts {
  dataChanged: boolean;
  login: LoginFact | undefined;
}

const MAC_PURPOSE = 'refresh-state';
// dataFrom's key names are the bulk: at most MAX_DATA_FROM_KEYS of at most 253 characters.
const MAX_STATE_LENGTH = 96 * 1024;
const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64url');

export function specDigest(app: VaultApp): string {
  const id = identityOf(app);
  const dataFrom = app.spec.vault.dataFrom;
  // Appended only when present, so that the digest of a VaultApp without dataFrom is what it was before dataFrom existed.
  const templates = app.spec.vault.templates;
  // Names and templates likewise: a VaultApp without them keeps the digest it had.
  return sha256(
    JSON.stringify([
      id.namespace,
      id.serviceAccount,
      id.role,
      app.spec.vault.secrets.map((s) => (s.name === undefined ? [s.path, s.key, s.targetKey] : [s.path, s.key, s.targetKey ?? null, s.name])),
      ...(dataFrom ? [dataFrom.map((d) => [d.path, d.prefix ?? ''])] : []),
      ...(templates ? [{ templates: Object.entries(templates).sort(([a], [b]) => (a < b ? -1 : 1)) }] : []),
    ]),
  );
}

/** The entry of RefreshState.data that covers the templates' outputs. */
export const TEMPLATES_KEY = '*templates';

/**
 * Whether the templates must render again whatever is read: no trusted state, another
 * spec (a template or an entry changed), or outputs that are not what the hook wrote.
 */
export function templatesStale(app: VaultApp, observed: ObservedState, current: Record<string, string>): boolean {
  if (Object.keys(app.spec.vault.templates ?? {}).length === 0) return false;
  return observed.kind !== 'trusted' || observed.state.spec !== specDigest(app) || !pathUnchanged(observed.state, current, TEMPLATES_KEY);
}

export function refreshDigest(app: VaultApp): string {
  const annotations = (app.metadata as { annotations?: unknown }).annotations;
  const value =
    annotations !== null && typeof annotations === 'object' && Object.hasOwn(annotations, REFRESH_ANNOTATION)
      ? (annotations as Record<string, unknown>)[REFRESH_ANNOTATION]
      : undefined;
  return typeof value === 'string' && value !== '' ? sha256(value) : '';
}

/**
 * MACs of the Secret's values per path, over the spec's targetKeys and the keys dataFrom
 * wrote (`fromKeys`, per path) only: keys others add are not the hook's.
 */
export function dataMacs(
  app: VaultApp,
  data: Record<string, string> | undefined,
  hmacKey: string,
  fromKeys?: Record<string, string[]>,
): Record<string, string> {
  const byPath = new Map<string, [string, string | null][]>();
  const add = (path: string, key: string): void => {
    const value = data && Object.hasOwn(data, key) ? data[key]! : null;
    byPath.set(path, [...(byPath.get(path) ?? []), [key, typeof value === 'string' ? value : null]]);
  };
  for (const e of app.spec.vault.secrets) {
    // A path of template-only entries writes no key of its own; its MAC (of nothing) still says the hook read it.
    if (!byPath.has(e.path)) byPath.set(e.path, []);
    if (e.targetKey !== undefined) add(e.path, e.targetKey);
  }
  // The templates' outputs under a name no Vault path can have ('*' is not in a path).
  for (const key of Object.keys(app.spec.vault.templates ?? {})) add(TEMPLATES_KEY, key);
  for (const path of new Set(dataFromOf(app).map((d) => d.path))) {
    // A path that wrote no key still gets its MAC: "nothing" is what the hook wrote for it.
    if (!byPath.has(path)) byPath.set(path, []);
    for (const key of fromKeys && Object.hasOwn(fromKeys, path) ? fromKeys[path]! : []) add(path, key);
  }
  const binding = bindingOf(app);
  const out: Record<string, string> = {};
  for (const [path, values] of [...byPath].sort(([a], [b]) => (a < b ? -1 : 1))) {
    Object.defineProperty(out, path, { value: stateMac(hmacKey, 'secret-data', binding, values), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// dataFrom and the facts are appended only when present: states written before they existed keep verifying.
const macFields = (s: Omit<RefreshState, 'mac'>): unknown[] => [
  s.readAt,
  s.spec,
  s.refresh,
  Object.entries(s.data),
  s.leased,
  ...(s.dataFrom ? [Object.entries(s.dataFrom.keys), s.dataFrom.skipped] : []),
  ...(s.updatedAt !== undefined || s.login !== undefined ? [{ updatedAt: s.updatedAt ?? null, login: s.login ?? null }] : []),
];

export function signState(app: VaultApp, state: Omit<RefreshState, 'mac'>, hmacKey: string): RefreshState {
  return { ...state, mac: stateMac(hmacKey, MAC_PURPOSE, bindingOf(app), macFields(state)) };
}

export function serializeState(state: RefreshState): string {
  return JSON.stringify(state);
}

const isState = (x: unknown): x is RefreshState => {
  const s = x as RefreshState;
  return (
    typeof s?.readAt === 'string' &&
    Number.isFinite(Date.parse(s.readAt)) &&
    typeof s.spec === 'string' &&
    typeof s.refresh === 'string' &&
    typeof s.mac === 'string' &&
    s.data !== null &&
    typeof s.data === 'object' &&
    !Array.isArray(s.data) &&
    Object.values(s.data).every((v) => typeof v === 'string') &&
    Array.isArray(s.leased) &&
    s.leased.every((p) => typeof p === 'string') &&
    (s.dataFrom === undefined || isDataFromKeys(s.dataFrom)) &&
    (s.updatedAt === undefined || (typeof s.updatedAt === 'string' && Number.isFinite(Date.parse(s.updatedAt)))) &&
    (s.login === undefined || s.login === 'ok' || s.login === 'failed')
  );
};

const isDataFromKeys = (x: unknown): x is DataFromKeys => {
  const d = x as DataFromKeys;
  return (
    d !== null &&
    typeof d === 'object' &&
    d.keys !== null &&
    typeof d.keys === 'object' &&
    !Array.isArray(d.keys) &&
    Object.values(d.keys).every((keys) => Array.isArray(keys) && keys.every((k) => typeof k === 'string' && isSecretKey(k))) &&
    Array.isArray(d.skipped) &&
    d.skipped.length <= MAX_SKIP_NOTES + 1 &&
    d.skipped.every((n) => typeof n === 'string')
  );
};

/** The state on the observed Secret: absent, trusted (the hook wrote it for this VaultApp), or rejected. */
export type ObservedState = { kind: 'absent' } | { kind: 'trusted'; state: RefreshState; text: string } | { kind: 'rejected' };

export function observedState(secret: KubeObject | undefined, app: VaultApp, hmacKey: string): ObservedState {
  const text = secret?.metadata?.annotations?.[STATE_ANNOTATION];
  if (text === undefined) return { kind: 'absent' };
  let parsed: unknown;
  try {
    parsed = typeof text === 'string' && text.length <= MAX_STATE_LENGTH ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!isState(parsed) || !stateMacMatches(hmacKey, MAC_PURPOSE, bindingOf(app), macFields(parsed), parsed.mac)) return { kind: 'rejected' };
  return { kind: 'trusted', state: parsed, text };
}

/** Whether the data the state describes is still what the Secret holds, for one path. */
export function pathUnchanged(state: RefreshState, current: Record<string, string>, path: string): boolean {
  return Object.hasOwn(state.data, path) && Object.hasOwn(current, path) && state.data[path] === current[path];
}

// A sync that lands a moment before the refresh is due (timers, queueing) reads then,
// instead of waiting a whole resync more.
export const EARLY_SECONDS = 2;

/**
 * Whether the static paths may be kept as the Secret holds them, without reading
 * Vault: a trusted state of the same spec and refresh annotation, inside the
 * interval, and every static path's data as the hook wrote it.
 */
export function staticDataFresh(
  app: VaultApp,
  observed: ObservedState,
  current: Record<string, string>,
  staticPaths: string[],
  now: Date,
  refreshSeconds: number,
): boolean {
  if (observed.kind !== 'trusted' || refreshSeconds <= 0) return false;
  const { state } = observed;
  if (state.spec !== specDigest(app) || state.refresh !== refreshDigest(app)) return false;
  if (Date.parse(state.readAt) + (refreshSeconds - EARLY_SECONDS) * 1000 <= now.getTime()) return false;
  return staticPaths.every((p) => pathUnchanged(state, current, p));
}

/** Seconds until the next refresh is due, from a state's readAt. */
export function secondsUntilRefresh(readAt: string, now: Date, refreshSeconds: number): number {
  return Math.max(1, Math.ceil((Date.parse(readAt) + refreshSeconds * 1000 - now.getTime()) / 1000));
}

/**
 * When the hook last changed the Secret's data, for status.lastSecretUpdateTime. A state
 * written before this was carried has only readAt, the last read of Vault: at or after the
 * last change under a refresh interval (each read moves it), the first read with none.
 */
export const lastUpdate = (state: RefreshState): string => state.updatedAt ?? state.readAt;

/**
 * The state of a sync that kept the observed data (a problem): as observed, unless how
 * logging in went flipped. Returns the same object when nothing changed, so that its text
 * is kept byte for byte.
 */
export function keptState(app: VaultApp, state: RefreshState, login: LoginFact | undefined, hmacKey: string): RefreshState {
  if (login === undefined || state.login === login) return state;
  const { mac: _old, ...fields } = state;
  return signState(app, { ...fields, login }, hmacKey);
}

/**
 * The state to write with data just synced. `readAt` moves only when the static paths
 * were read under a refresh interval: each move is a write of the Secret, and so one
 * more sync. With an interval of 0 every sync reads anyway, and a `readAt` moved at
 * every read would make each sync's write bring the next one: a hot loop.
 */
export function nextState(
  app: VaultApp,
  previous: ObservedState,
  data: Record<string, string>,
  leased: string[],
  readNow: boolean,
  now: Date,
  hmacKey: string,
  refreshSeconds: number,
  dataFrom: DataFromKeys | undefined,
  facts: StateFacts,
): RefreshState {
  const before = previous.kind === 'trusted' ? previous.state : undefined;
  const moved = readNow && refreshSeconds > 0;
  // Without a state, when the data last changed is not known: the hook has just written it.
  const updatedAt = facts.dataChanged || !before ? isoSeconds(now) : lastUpdate(before);
  const login = facts.login ?? before?.login;
  const fields = {
    readAt: (moved ? undefined : before?.readAt) ?? isoSeconds(now),
    spec: specDigest(app),
    refresh: (readNow ? undefined : before?.refresh) ?? refreshDigest(app),
    data: dataMacs(app, data, hmacKey, dataFrom?.keys),
    leased: [...new Set(leased)].sort(),
    ...(dataFromOf(app).length > 0 ? { dataFrom: dataFrom ?? { keys: {}, skipped: [] } } : {}),
    updatedAt,
    ...(login ? { login } : {}),
  };
  // Most syncs change nothing in the state: the MAC verified on it this sync, for this
  // VaultApp, is the MAC of these same fields, and one HMAC fewer per sync.
  if (before && isDeepStrictEqual(macFields(before), macFields(fields))) return { ...fields, mac: before.mac };
  return signState(app, fields, hmacKey);
}
