// Where Vault tokens come from. Logging in on every sync is the anti-pattern that
// took down Vault clusters for another operator's users: tokens are cached per
// role, renewed once two thirds of their TTL has passed, and obtained again only
// when renewal fails, the token is near expiry, or Vault answers 403.
import { readFile } from 'node:fs/promises';
import type { VaultHttp } from './http.js';
import { SingleFlight } from './single-flight.js';

export interface TokenSource {
  /** Who the token speaks for; reads are shared only between equal identities. */
  identity(role: string): string;
  token(role: string): Promise<string>;
  /** Drops a cached token after Vault refused it; true when a retry may help. */
  invalidate(role: string, token: string): boolean;
  readonly stats: { logins: number; renewals: number };
}

/** A fixed token (VAULT_TOKEN or ~/.vault-token), for local work. */
export function staticTokenSource(token: string): TokenSource {
  return {
    identity: () => 'token',
    token: async () => token,
    invalidate: () => false,
    stats: { logins: 0, renewals: 0 },
  };
}

interface CachedToken { token: string; obtainedAt: number; ttlSeconds: number; renewable: boolean }

export interface KubernetesLoginOptions {
  mount: string;
  jwtPath: string;
  now?: () => number;
}

/** Kubernetes auth: `auth/<mount>/login {role, jwt}` with the pod's service-account token. */
export function kubernetesTokenSource(http: VaultHttp, options: KubernetesLoginOptions): TokenSource {
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedToken>();
  const flights = new SingleFlight<string>();
  const stats = { logins: 0, renewals: 0 };

  const fresh = (c: CachedToken, fraction: number): boolean =>
    c.ttlSeconds === 0 || now() < c.obtainedAt + c.ttlSeconds * 1000 * fraction;

  async function login(role: string): Promise<string> {
    // Read on every login: projected service-account tokens are rotated by the kubelet.
    const jwt = (await readFile(options.jwtPath, 'utf8')).trim();
    stats.logins++;
    const res = await http.write(`auth/${options.mount}/login`, { role, jwt });
    const auth = res.auth;
    if (!auth?.client_token) throw new Error(`login to auth/${options.mount} with role ${role} returned no token`);
    cache.set(role, { token: auth.client_token, obtainedAt: now(), ttlSeconds: auth.lease_duration ?? 0, renewable: auth.renewable === true });
    return auth.client_token;
  }

  async function renewOrLogin(role: string, cached: CachedToken): Promise<string> {
    if (cached.renewable && fresh(cached, 0.95)) {
      try {
        stats.renewals++;
        const res = await http.write('auth/token/renew-self', { increment: `${cached.ttlSeconds}s` }, cached.token);
        const ttl = res.auth?.lease_duration ?? 0;
        // A renewal capped well short of the old TTL means max TTL is near: log in again soon.
        cache.set(role, { ...cached, obtainedAt: now(), ttlSeconds: ttl });
        if (ttl > 0 && ttl >= Math.min(cached.ttlSeconds, 60) / 2) return cached.token;
      } catch {
        // fall through to a new login
      }
    }
    return login(role);
  }

  return {
    identity: (role) => `kubernetes:${options.mount}:${role}`,
    stats,
    token(role) {
      const cached = cache.get(role);
      if (cached && fresh(cached, 2 / 3)) return Promise.resolve(cached.token);
      return flights.run(role, () => (cached ? renewOrLogin(role, cached) : login(role)));
    },
    invalidate(role, token) {
      if (cache.get(role)?.token !== token) return true;
      cache.delete(role);
      return true;
    },
  };
}
