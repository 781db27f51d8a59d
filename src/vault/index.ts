import type { Config, IdentityConfig } from '../config/config.js';
import { problem, type Problem } from '../errors/catalog.js';
import { createTokenRequester } from '../kube/token-request.js';
import { createVaultHttp, type RequestCounts, type VaultHttp } from './http.js';
import { createVaultReader, type ReaderOptions, type VaultReader } from './reader.js';
import { createTokenSealer } from './token-seal.js';
import { BoundedQueue } from './bounded-queue.js';
import { fileJwtSource, kubernetesTokenSource, staticTokenSource, tokenRequestJwtSource, type Identity, type TokenSource } from './token-source.js';

export interface Vault {
  http: VaultHttp;
  tokens: TokenSource;
  reader: VaultReader;
  requests: RequestCounts;
  queue: BoundedQueue;
}

/** The seed's single-tenant model is gated: a namespace may use only the roles listed for it. */
export function allowedRolesGate(allowed: Record<string, string[]>): (id: Identity) => Problem | undefined {
  // A Map of own entries: a namespace may be named "constructor" or "__proto__".
  const roles = new Map(Object.entries(allowed).map(([ns, list]) => [ns, new Set(list)]));
  return (id) =>
    roles.get(id.namespace)?.has(id.role)
      ? undefined
      : problem(
          'ROLE_NOT_ALLOWED',
          `namespace ${id.namespace} may not use Vault role ${id.role}: it is not in the hook's allowed-roles list for that namespace`,
        );
}

function jwtSource(identity: IdentityConfig, timeoutMs: number) {
  if (identity.model === 'controller') return fileJwtSource(identity.jwtPath);
  return tokenRequestJwtSource(createTokenRequester({ ...identity.kube, timeoutMs }), {
    audience: identity.audience,
    expirationSeconds: identity.expirationSeconds,
  });
}

/** `logUnexpected` receives errors that are not Vault's answers (a bug): conditions only say there was one. */
export function createVault(
  config: Pick<Config, 'vault' | 'auth' | 'syncDeadlineMs' | 'hmacKey'> & Partial<Pick<Config, 'vaultQueue'>>,
  logUnexpected?: ReaderOptions['logUnexpected'],
): Vault {
  const requests: RequestCounts = new Map();
  const http = createVaultHttp(config.vault, requests);
  const auth = config.auth;
  const tokens =
    auth.method === 'token'
      ? staticTokenSource(auth.token, http)
      : kubernetesTokenSource(http, { mount: auth.mount, jwt: jwtSource(auth.identity, config.vault.timeoutMs) });
  const authorize = auth.method === 'kubernetes' && auth.identity.model === 'controller' ? allowedRolesGate(auth.identity.allowedRoles) : undefined;
  const sealer = createTokenSealer(config.hmacKey);
  const queue = new BoundedQueue(config.vaultQueue?.concurrency ?? 64, config.vaultQueue?.queue ?? 1024);
  return {
    http,
    tokens,
    requests,
    queue,
    reader: createVaultReader(http, tokens, {
      deadlineMs: config.syncDeadlineMs,
      sealer,
      queue,
      ...(authorize ? { authorize } : {}),
      ...(logUnexpected ? { logUnexpected } : {}),
    }),
  };
}
