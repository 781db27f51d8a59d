// The examples/ VaultApps as tests use them: each example as written, a recorded
// Vault answer for every path it names, and the hook answering over inject.
import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import type { PathRead, VaultMaterial } from '../../src/hook/contract.js';
import { CHILD_TYPE } from '../../src/hook/children/names.js';
import type { KubeObject, SyncRequest, SyncResponse } from '../../src/hook/types.js';
import type { VaultReader } from '../../src/vault/reader.js';
import { build } from './build-app.js';

const EXAMPLES = new URL('../../examples/', import.meta.url);
/** Every VaultApp file in examples/ (not the values files, not the sample sync request). */
export function exampleFiles(): string[] {
  return readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml') && f !== 'sync-request.yaml' && !f.endsWith('.values.yaml'))
    .sort();
}

/** An example exactly as written (no uid or generation added: the API server sets those). */
export function readExample(file: string): VaultApp {
  return parse(readFileSync(new URL(file, EXAMPLES), 'utf8')) as VaultApp;
}

/** A recorded Vault answer for every path in the spec: each key's value names its path and key. */
export function materialFor(app: VaultApp): VaultMaterial {
  const reads: Record<string, PathRead> = {};
  for (const s of app.spec.vault.secrets) {
    const read = (reads[s.path] ??= {
      ok: true,
      engine: /(^|\/)data\//.test(s.path) ? 'kv2' : 'kv1',
      data: {},
      ...(/(^|\/)data\//.test(s.path) ? { version: 1 } : {}),
    });
    // Registry credentials must be JSON objects (the API server checks them): one naming its path and key.
    const value = /^\.docker(configjson|cfg)$/.test(s.targetKey ?? '')
      ? JSON.stringify({ auths: { [s.path]: { auth: s.key } } })
      : `value of ${s.key} at ${s.path}`;
    if (read.ok && 'data' in read) read.data[s.key] = value;
  }
  for (const d of app.spec.vault.dataFrom ?? []) {
    const read = (reads[d.path] ??= { ok: true, engine: 'kv2', data: {}, version: 1 });
    if (read.ok && 'data' in read) Object.assign(read.data, Object.fromEntries(DATA_FROM_KEYS.map((k) => [k, `value of ${k} at ${d.path}`])));
  }
  return { auth: { ok: true }, reads };
}

/** The keys every dataFrom path has in materialFor. */
const DATA_FROM_KEYS = ['region', 'timeout'];

/** The keys the Secret of `app` holds when answered from materialFor. */
export function expectedSecretKeys(app: VaultApp): string[] {
  return [
    ...new Set([
      ...app.spec.vault.secrets.flatMap((s) => (s.targetKey === undefined ? [] : [s.targetKey])),
      ...Object.keys(app.spec.vault.templates ?? {}),
      ...(app.spec.vault.dataFrom ?? []).flatMap((d) => DATA_FROM_KEYS.map((k) => `${d.prefix ?? ''}${k}`)),
    ]),
  ].sort();
}

/** A reader that answers each VaultApp from materialFor; counts calls. */
export function valuesReader(): VaultReader & { calls: number } {
  const reader = {
    calls: 0,
    stats: { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 },
    async material(app: VaultApp) {
      reader.calls++;
      return materialFor(app);
    },
    async revoke() {
      return [];
    },
  };
  return reader;
}

/** The hook answering every example from valuesReader, closed when `t` ends. */
export async function buildHook(t: Parameters<typeof build>[0]): Promise<FastifyInstance> {
  return build(t, valuesReader());
}

/** Sends a Metacontroller (hook v1) sync request: every child type declared, observed children keyed by name. */
export async function syncOnce(
  app: FastifyInstance,
  parent: unknown,
  observed: KubeObject[] = [],
  opts: { serviceMonitors?: boolean } = {},
): Promise<SyncResponse> {
  const children: SyncRequest['children'] = {
    [CHILD_TYPE.secret]: {},
    [CHILD_TYPE.deployment]: {},
    [CHILD_TYPE.service]: {},
    [CHILD_TYPE.statefulSet]: {},
    ...(opts.serviceMonitors === false ? {} : { [CHILD_TYPE.serviceMonitor]: {} }),
  };
  for (const obj of observed) (children[`${obj.kind}.${obj.apiVersion}`] ??= {})[obj.metadata.name] = obj;
  const res = await app.inject({ method: 'POST', url: '/sync', payload: { controller: {}, parent, children } });
  if (res.statusCode !== 200) throw new Error(`sync answered ${res.statusCode}: ${res.body}`);
  return res.json() as SyncResponse;
}
