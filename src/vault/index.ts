import type { Config } from '../config/config.js';
import { createVaultHttp, type VaultHttp } from './http.js';
import { createVaultReader, type VaultReader } from './reader.js';
import { kubernetesTokenSource, staticTokenSource, type TokenSource } from './token-source.js';

export interface Vault { http: VaultHttp; tokens: TokenSource; reader: VaultReader }

export function createVault(config: Pick<Config, 'vault' | 'auth' | 'syncDeadlineMs'>): Vault {
  const http = createVaultHttp(config.vault);
  const tokens = config.auth.method === 'token'
    ? staticTokenSource(config.auth.token)
    : kubernetesTokenSource(http, { mount: config.auth.mount, jwtPath: config.auth.jwtPath });
  return { http, tokens, reader: createVaultReader(http, tokens, { deadlineMs: config.syncDeadlineMs }) };
}
