// The one place that talks HTTP to Vault, through node-vault, behind a small
// typed interface. Tokens go per call in X-Vault-Token: node-vault keeps one
// mutable token per client, which a service serving many identities must not use.
// Errors are rebuilt from status and Vault's own error list only, so that nothing
// a transport attaches (request headers, and so the token) reaches a log.
import nodeVault from 'node-vault';
import { createTransport } from './transport.js';

export interface VaultResponse {
  data?: unknown;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  auth?: { client_token?: string; accessor?: string; lease_duration?: number; renewable?: boolean; policies?: string[] } | null;
  [field: string]: unknown;
}

/** `too-large`: the answer passed the size the caller allows (./transport.ts maxBytes). */
export type VaultFailureKind = 'unreachable' | 'http' | 'too-large';

export class VaultRequestError extends Error {
  constructor(
    readonly kind: VaultFailureKind,
    readonly status: number | undefined,
    readonly vaultErrors: string[],
    message: string,
  ) {
    super(message);
    this.name = 'VaultRequestError';
  }
}

/**
 * What went wrong with a Vault request, for a status condition: the status code,
 * Vault's own error list only where asked for (answers of the endpoints the hook
 * meant to call), and never the text of an exception, which may say anything.
 */
export function describeVaultFailure(err: unknown, opts: { vaultErrors?: boolean } = {}): string {
  if (!(err instanceof VaultRequestError)) return 'an unexpected error in the hook (see its log)';
  const detail = err.vaultErrors.length > 0 ? ` (${err.vaultErrors.join('; ').slice(0, 500)})` : '';
  // An unreachable Vault's "errors" are the hook's own words (a deadline, a refused connection).
  if (err.kind === 'unreachable') return `Vault is unreachable${detail}`;
  if (err.kind === 'too-large') return "Vault's answer is larger than the hook reads";
  return `Vault answered ${err.status}${opts.vaultErrors ? detail : ''}`;
}

/** How much of an answer a read takes, and who is told as it arrives (./transport.ts). */
export interface ReadLimits {
  maxBytes?: number;
  onChunk?: (bytes: number) => boolean;
  signal?: AbortSignal;
}

export interface VaultHttp {
  read(path: string, token: string, limits?: ReadLimits): Promise<VaultResponse>;
  write(path: string, body: Record<string, unknown>, token?: string): Promise<VaultResponse>;
  health(): Promise<{ status: number | undefined; sealed?: boolean; standby?: boolean }>;
}

export interface VaultHttpOptions {
  address: string;
  namespace?: string;
  caCert?: string;
  timeoutMs: number;
}

/** Counts of Vault requests by operation and status code ("none" when Vault did not answer). */
export type RequestCounts = Map<string, { operation: string; status: string; count: number }>;

function count(counts: RequestCounts | undefined, operation: string, status: number | undefined): void {
  if (!counts) return;
  const key = `${operation} ${status ?? 'none'}`;
  const c = counts.get(key) ?? { operation, status: String(status ?? 'none'), count: 0 };
  c.count++;
  counts.set(key, c);
}

// The operation label: the kind of request, not its path (paths would make unbounded label values).
function operationOf(op: 'read' | 'write', path: string): string {
  if (path.startsWith('sys/internal/ui/mounts/')) return 'mount_lookup';
  if (/^auth\/.+\/login$/.test(path)) return 'login';
  if (path === 'auth/token/renew-self') return 'token_renew';
  if (path === 'auth/token/lookup-self') return 'token_lookup';
  if (path.startsWith('sys/leases/renew')) return 'lease_renew';
  if (path.startsWith('sys/leases/revoke')) return 'lease_revoke';
  return op;
}

interface NodeVaultError {
  response?: { statusCode?: number; body?: { errors?: unknown[] } };
  code?: string;
  message?: string;
}

function toVaultError(err: unknown, op: string, path: string): VaultRequestError {
  const e = err as NodeVaultError;
  const status = e?.response?.statusCode;
  if (status !== undefined) {
    const errors = (e.response?.body?.errors ?? []).filter((x): x is string => typeof x === 'string');
    return new VaultRequestError('http', status, errors, `${op} ${path}: Vault answered ${status}${errors.length ? ` (${errors.join('; ')})` : ''}`);
  }
  const code = typeof e?.code === 'string' ? e.code : 'no response';
  if (code === 'E2BIG') return new VaultRequestError('too-large', undefined, [], `${op} ${path}: Vault's answer is larger than the hook reads`);
  return new VaultRequestError('unreachable', undefined, [], `${op} ${path}: Vault unreachable (${code})`);
}

export function createVaultHttp(options: VaultHttpOptions, counts?: RequestCounts): VaultHttp {
  const client = nodeVault({
    apiVersion: 'v1',
    endpoint: options.address,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    requestOptions: { timeout: options.timeoutMs },
    'request-promise': createTransport({ timeoutMs: options.timeoutMs, ...(options.caCert ? { caCert: options.caCert } : {}) }),
  } as nodeVault.VaultOptions);
  // node-vault falls back to $VAULT_TOKEN; every call here names its token itself.
  client.token = '';
  const headers = (token?: string): Record<string, string> => (token ? { 'X-Vault-Token': token } : {});
  // Every request counted by operation and status, and its failure a VaultRequestError.
  const counted = async (op: 'read' | 'write', path: string, request: () => Promise<unknown>): Promise<VaultResponse> => {
    try {
      const res = (await request()) as VaultResponse;
      count(counts, operationOf(op, path), 200);
      return res;
    } catch (err) {
      const e = toVaultError(err, op, path);
      count(counts, operationOf(op, path), e.status);
      throw e;
    }
  };

  return {
    // The limits ride along node-vault's request options to the transport.
    read: (path, token, limits) => counted('read', path, () => client.read(path, { headers: headers(token), ...limits })),
    write: (path, body, token) => counted('write', path, () => client.write(path, body, { headers: headers(token) })),
    async health() {
      try {
        const res = (await client.request({ path: '/sys/health?standbyok=true&perfstandbyok=true', method: 'GET' })) as { sealed?: boolean; standby?: boolean };
        return { status: 200, sealed: res?.sealed, standby: res?.standby };
      } catch (err) {
        return { status: toVaultError(err, 'read', 'sys/health').status };
      }
    },
  };
}
