// The HTTP transport under node-vault. node-vault accepts a `request-promise`-shaped
// function in its config; this one is node:http(s) with keep-alive agents. node-vault's
// default (axios, through follow-redirects) costs ~470 µs of CPU per Vault request
// against ~140 µs here, and a sync makes one request per distinct path: with a fleet
// of thousands of VaultApps that is most of the hook's CPU (bench/).
//
// What it does not do, on purpose: follow redirects (a Vault standby answering 307
// would send the token elsewhere; the address must be the active node or a load
// balancer), or honour VAULT_SKIP_VERIFY (TLS verification is not switched off by a
// stray environment variable; trust a private CA with VAULT_CACERT instead).
import http from 'node:http';
import https from 'node:https';

/** The subset of request-promise options node-vault passes. */
interface RpOptions {
  method?: string;
  uri: string;
  headers?: Record<string, string>;
  /** An object is the JSON body; `true` (node-vault's default) means "parse the answer as JSON". */
  json?: unknown;
  timeout?: number;
  /** Largest answer accepted; beyond, the request is aborted (E2BIG). */
  maxBytes?: number;
  /** Told the size of each chunk of the answer as it arrives; false aborts the request (ESTOPPED). */
  onChunk?: (bytes: number) => boolean;
  /** Aborts the request wherever it is, waiting for a socket included. */
  signal?: AbortSignal;
}

export interface RpResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

export type RequestPromise = ((options: RpOptions) => Promise<RpResponse>) & { defaults(defaults: unknown): (options: RpOptions) => Promise<RpResponse> };

export interface TransportOptions {
  timeoutMs: number;
  /** PEM of the CA that signed Vault's certificate. */
  caCert?: string;
  /** Sockets kept per Vault address; the bounded queue in front limits requests anyway. */
  maxSockets?: number;
}

// Vault caps a request at 32 MiB (max_request_size); an answer larger than that is not Vault's.
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** An error with the socket's code (ECONNREFUSED, ETIMEDOUT, …) and no request details. */
function transportError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

export function createTransport(options: TransportOptions): RequestPromise {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64, ...(options.caCert ? { ca: options.caCert } : {}) }),
  };

  const request = (opts: RpOptions): Promise<RpResponse> =>
    new Promise((resolve, reject) => {
      const url = new URL(opts.uri);
      const agent = agents[url.protocol as keyof typeof agents];
      if (!agent) {
        reject(transportError('EPROTO', `unsupported Vault address scheme ${url.protocol}`));
        return;
      }
      const body = opts.json !== null && typeof opts.json === 'object' ? JSON.stringify(opts.json) : undefined;
      const headers: Record<string, string | number> = { accept: 'application/json', ...opts.headers };
      if (body !== undefined) {
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const send = url.protocol === 'https:' ? https.request : http.request;
      const timeoutMs = opts.timeout ?? options.timeoutMs;
      let settled = false;
      const fail = (err: Error): void => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(err);
        }
      };
      const req = send(url, { method: opts.method ?? 'GET', headers, agent, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => {
        let chunks: Buffer[] = [];
        let size = 0;
        const maxBytes = Math.min(opts.maxBytes ?? MAX_ANSWER_BYTES, MAX_ANSWER_BYTES);
        // Counted as it arrives, so that an answer too large is never held whole.
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          size += chunk.length;
          if (size > maxBytes) {
            req.destroy(transportError('E2BIG', `Vault's answer exceeds ${maxBytes} bytes`));
            return;
          }
          if (opts.onChunk && !opts.onChunk(chunk.length)) {
            req.destroy(transportError('ESTOPPED', 'the read was stopped by its caller'));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const whole = Buffer.concat(chunks);
          chunks = [];
          const text = whole.toString('utf8');
          let parsed: unknown = text;
          if (text.length > 0) {
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON (a proxy's error page): handed over as text */
            }
          } else {
            parsed = undefined;
          }
          resolve({ statusCode: res.statusCode ?? 0, body: parsed, request: { path: url.pathname } });
        });
      });
      // One deadline for the whole exchange (connect, send, answer), not per socket idle period.
      const timer = setTimeout(() => req.destroy(transportError('ETIMEDOUT', `no answer from Vault within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err: Error & { code?: string }) => fail(transportError(err.code ?? 'ECONNRESET', err.message)));
      req.end(body);
    });

  return Object.assign(request, { defaults: () => request });
}
