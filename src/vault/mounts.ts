// Which secrets engine serves a path. `sys/internal/ui/mounts/<path>` answers for
// any token with a capability on the path. Mounts rarely change, so the answer is
// cached per mount for the process's life; losing it only costs one more lookup.
import { VaultRequestError, type VaultHttp } from './http.js';
import { SingleFlight } from './single-flight.js';

export interface MountInfo {
  path: string;
  type: string;
  kvVersion?: 1 | 2;
}

export class MountResolver {
  readonly #known: MountInfo[] = [];
  readonly #flights = new SingleFlight<MountInfo | undefined>();
  constructor(private readonly http: VaultHttp) {}

  async resolve(path: string, token: string): Promise<MountInfo | undefined> {
    const known = this.#known.find((m) => path.startsWith(m.path));
    if (known) return known;
    // Concurrent first reads under one top-level segment share one lookup: that
    // is nearly always one mount. A nested mount under it gets its own lookup.
    const shared = await this.#flights.run(path.split('/')[0]!, () => this.#lookup(path, token));
    if (shared && path.startsWith(shared.path)) return shared;
    return this.#known.find((m) => path.startsWith(m.path)) ?? this.#lookup(path, token);
  }

  async #lookup(path: string, token: string): Promise<MountInfo | undefined> {
    try {
      const res = await this.http.read(`sys/internal/ui/mounts/${path}`, token);
      const d = res.data as { path?: string; type?: string; options?: { version?: string } | null } | undefined;
      if (!d?.path || !d.type) return undefined;
      const info: MountInfo = { path: d.path, type: d.type };
      if (d.type === 'kv' || d.type === 'generic') info.kvVersion = d.options?.version === '2' ? 2 : 1;
      if (!this.#known.some((m) => m.path === info.path)) this.#known.push(info);
      return info;
    } catch (err) {
      // 404: no mount at that path, or an older server without the endpoint;
      // the read itself will say what is wrong. Anything else is the read's problem too.
      if (err instanceof VaultRequestError && err.kind === 'unreachable') throw err;
      return undefined;
    }
  }
}

/** The API path for a spec path: on KV v2, `<mount>/x` is read as `<mount>/data/x`, as `vault kv get` does. */
export function apiPath(specPath: string, mount: MountInfo | undefined): string {
  if (mount?.kvVersion !== 2) return specPath;
  const rest = specPath.slice(mount.path.length);
  return rest.startsWith('data/') ? specPath : `${mount.path}data/${rest}`;
}
