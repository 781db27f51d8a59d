// Where Vault tokens come from. Logging in on every sync is the anti-pattern that
// took down Vault clusters for another operator's users: tokens are cached per
// identity and role, renewed once two thirds of their TTL has passed, and obtained
// again only when renewal fails, the token is near expiry, or Vault answers 403.
import type { Identity } from '../hook/contract.js';
import { readFile } from 'node:fs/promises';
import type { TokenRequester } from '../kube/token-request.js';
import type { VaultHttp } from './http.js';
import { SingleFlight } from './single-flight.js';

/** Who a VaultApp logs in as: its namespace, its pods' service account, its role. */

export type { Identity };

export interface TokenSource {
  /** Equal keys speak for the same Vault identity; reads are shared only between equal keys. */
  key(id: Identity): string;
  /** Says who logs in, for messages. */
  who(id: Identity): string;
  token(id: Identity): Promise<string>;
  /** The token with its expiry (ms since epoch; absent when it never expires) and TTL. */
  describe(id: Identity): Promise<TokenInfo>;
  /** Drops a cached token after Vault refused it; true when a retry may help. */
  invalidate(id: Identity, token: string): boolean;
  readonly stats: TokenStats;
}

export interface TokenStats {
  logins: number;
  renewals: number;
  jwtRequests: number;
  cacheHits: number;
  cacheMisses: number;
}

export interface TokenInfo {
  token: string;
  expiresAt?: number;
  ttlSeconds: number;
}

/** A fixed token (VAULT_TOKEN or ~/.vault-token), for local work. */
export function staticTokenSource(token: string, http?: VaultHttp, now: () => number = Date.now): TokenSource {
  let info: Promise<TokenInfo> | undefined;
  return {
    key: () => 'token',
    who: () => 'the configured Vault token',
    token: async () => token,
    describe() {
      // Looked up once: a static token is nobody's to renew but its owner's.
      info ??= (http ? http.read('auth/token/lookup-self', token) : Promise.resolve({ data: { ttl: 0 } }))
        .then((res) => {
          const ttl = Number((res.data as { ttl?: number } | undefined)?.ttl ?? 0);
          return { token, ttlSeconds: ttl, ...(ttl > 0 ? { expiresAt: now() + ttl * 1000 } : {}) };
        })
        .catch((err) => {
          info = undefined;
          throw err;
        });
      return info;
    },
    invalidate: () => false,
    stats: { logins: 0, renewals: 0, jwtRequests: 0, cacheHits: 0, cacheMisses: 0 },
  };
}

/** The JWT presented at login. */
export interface JwtSource {
  key(id: Identity): string;
  who(id: Identity): string;
  jwt(id: Identity): Promise<string>;
  readonly requests: number;
}

/** The seed's model: the hook's own service-account token, for every VaultApp. */
export function fileJwtSource(path: string): JwtSource {
  return {
    key: () => 'controller',
    who: (id: Identity) => `role ${id.role} as the hook's service account`,
    // Read on every login: projected service-account tokens are rotated by the kubelet.
    jwt: async () => (await readFile(path, 'utf8')).trim(),
    requests: 0,
  };
}

/**
 * Per-workload identity: a short-lived token of the VaultApp's own service account
 * in its own namespace (TokenRequest), reused until a fifth of its life is left.
 */
export function tokenRequestJwtSource(requester: TokenRequester, options: { audience: string; expirationSeconds: number; now?: () => number }): JwtSource {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { token: string; issuedAt: number; expiresAt: number }>();
  const flights = new SingleFlight<string>();
  const source = {
    requests: 0,
    key: (id: Identity) => `${id.namespace}/${id.serviceAccount}`,
    who: (id: Identity) => `role ${id.role} as serviceaccount ${id.namespace}/${id.serviceAccount}`,
    jwt(id: Identity): Promise<string> {
      const k = source.key(id);
      const c = cache.get(k);
      if (c && now() < c.expiresAt - (c.expiresAt - c.issuedAt) / 5) return Promise.resolve(c.token);
      return flights.run(k, async () => {
        source.requests++;
        const issuedAt = now();
        const t = await requester.request(id.namespace, id.serviceAccount, options.audience, options.expirationSeconds);
        cache.set(k, { token: t.token, issuedAt, expiresAt: t.expiresAt });
        return t.token;
      });
    },
  };
  return source;
}

interface CachedToken {
  token: string;
  obtainedAt: number;
  ttlSeconds: number;
  renewable: boolean;
}

export interface KubernetesLoginOptions {
  mount: string;
  jwt: JwtSource;
  now?: () => number;
}

/** Kubernetes auth: `auth/<mount>/login {role, jwt}`. */
export function kubernetesTokenSource(http: VaultHttp, options: KubernetesLoginOptions): TokenSource {
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedToken>();
  const flights = new SingleFlight<string>();
  const counts = { logins: 0, renewals: 0, cacheHits: 0, cacheMisses: 0 };
  const key = (id: Identity): string => `${options.mount}|${options.jwt.key(id)}|${id.role}`;

  const fresh = (c: CachedToken, fraction: number): boolean => c.ttlSeconds === 0 || now() < c.obtainedAt + c.ttlSeconds * 1000 * fraction;

  async function login(id: Identity): Promise<string> {
    const jwt = await options.jwt.jwt(id);
    counts.logins++;
    const res = await http.write(`auth/${options.mount}/login`, { role: id.role, jwt });
    const auth = res.auth;
    if (!auth?.client_token) throw new Error(`login to auth/${options.mount} with role ${id.role} returned no token`);
    cache.set(key(id), { token: auth.client_token, obtainedAt: now(), ttlSeconds: auth.lease_duration ?? 0, renewable: auth.renewable === true });
    return auth.client_token;
  }

  function token(id: Identity): Promise<string> {
    const cached = cache.get(key(id));
    if (cached && fresh(cached, 2 / 3)) {
      counts.cacheHits++;
      return Promise.resolve(cached.token);
    }
    counts.cacheMisses++;
    return flights.run(key(id), () => (cached ? renewOrLogin(id, cached) : login(id)));
  }

  async function renewOrLogin(id: Identity, cached: CachedToken): Promise<string> {
    if (cached.renewable && fresh(cached, 0.95)) {
      try {
        counts.renewals++;
        const res = await http.write('auth/token/renew-self', { increment: `${cached.ttlSeconds}s` }, cached.token);
        const ttl = res.auth?.lease_duration ?? 0;
        cache.set(key(id), { ...cached, obtainedAt: now(), ttlSeconds: ttl });
        // A renewal capped well short of the old TTL means max TTL is near: log in again soon.
        if (ttl > 0 && ttl >= Math.min(cached.ttlSeconds, 60) / 2) return cached.token;
      } catch {
        // fall through to a new login
      }
    }
    return login(id);
  }

  return {
    key: (id) => `kubernetes:${key(id)}`,
    who: (id) => options.jwt.who(id),
    stats: {
      get logins() {
        return counts.logins;
      },
      get renewals() {
        return counts.renewals;
      },
      get cacheHits() {
        return counts.cacheHits;
      },
      get cacheMisses() {
        return counts.cacheMisses;
      },
      get jwtRequests() {
        return options.jwt.requests;
      },
    },
    token,
    async describe(id) {
      const t = await token(id);
      const c = cache.get(key(id));
      if (!c || c.token !== t || c.ttlSeconds === 0) return { token: t, ttlSeconds: 0 };
      return { token: t, ttlSeconds: c.ttlSeconds, expiresAt: c.obtainedAt + c.ttlSeconds * 1000 };
    },
    invalidate(id, token) {
      if (cache.get(key(id))?.token === token) cache.delete(key(id));
      return true;
    },
  };
}
