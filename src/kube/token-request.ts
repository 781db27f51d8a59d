// The hook's one Kubernetes API call: TokenRequest, for a short-lived token of a
// VaultApp's own service account, with an audience only Vault accepts. A single
// HTTPS call does not justify a general Kubernetes client library.
import https from 'node:https';
import { readFile } from 'node:fs/promises';

export interface KubeApiOptions {
  /** https://host:port of the API server. */
  url: string;
  /** File of the bearer token the hook authenticates with (re-read: the kubelet rotates it). */
  tokenPath: string;
  /** PEM of the API server's CA. */
  caCert?: string;
  timeoutMs: number;
}

export interface IssuedToken {
  token: string;
  expiresAt: number;
}

export class KubeRequestError extends Error {
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeRequestError';
  }
}

export interface TokenRequester {
  request(namespace: string, serviceAccount: string, audience: string, expirationSeconds: number): Promise<IssuedToken>;
}

export function createTokenRequester(options: KubeApiOptions): TokenRequester {
  const agent = new https.Agent({ keepAlive: true, ...(options.caCert ? { ca: options.caCert } : {}) });
  return {
    async request(namespace, serviceAccount, audience, expirationSeconds) {
      const where = `serviceaccount ${namespace}/${serviceAccount}`;
      const bearer = (await readFile(options.tokenPath, 'utf8')).trim();
      const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [audience], expirationSeconds } });
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`;
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = https.request(
          new URL(path, options.url),
          {
            method: 'POST',
            agent,
            timeout: options.timeoutMs,
            headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', accept: 'application/json' },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
        req.on('error', (err) =>
          reject(
            new KubeRequestError(
              undefined,
              `cannot request a token for ${where}: Kubernetes API unreachable (${(err as NodeJS.ErrnoException).code ?? err.message})`,
            ),
          ),
        );
        req.end(body);
      });
      if (status !== 201 && status !== 200) {
        let message = text.slice(0, 300);
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? message;
        } catch {
          /* not JSON */
        }
        throw new KubeRequestError(status, `cannot request a token for ${where}: Kubernetes API answered ${status} (${message})`);
      }
      const parsed = JSON.parse(text) as { status?: { token?: string; expirationTimestamp?: string } };
      const token = parsed.status?.token;
      const expiresAt = Date.parse(parsed.status?.expirationTimestamp ?? '');
      if (!token || !Number.isFinite(expiresAt)) throw new KubeRequestError(status, `cannot request a token for ${where}: the answer has no token`);
      return { token, expiresAt };
    },
  };
}
