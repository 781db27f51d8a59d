// A real Vault dev server for tests. The binary is the one scripts/ensure-vault.sh
// chooses (the user's VAULT_BIN, a supported `vault` or OpenBao `bao` on PATH, else the
// pinned module in tools/vault-server, built once per machine), or VAULTAPP_VAULT_BIN
// taken as it is.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runEnsureScript } from './local.js';

export interface VaultResponse {
  status: number;
  body: any;
}

export interface VaultServer {
  /** http://127.0.0.1:<port>, or https:// when started with tls */
  addr: string;
  /** With tls: the PEM of the CA that signed the server's certificate (Vault's -dev-tls makes both). */
  caCert?: string;
  /** Root token. */
  token: string;
  /** Combined stdout/stderr of the server process (kept until the test process exits). */
  logFile: string;
  /**
   * Calls /v1/<path>. `token` defaults to the root token; pass null to send none.
   * Never throws on HTTP status: check `status`.
   */
  request(method: string, path: string, body?: unknown, token?: string | null): Promise<VaultResponse>;
  /** SIGTERM, then waits for the process to exit (SIGKILL after 10 s). Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops and starts the server on the same port with the same root token.
   * Dev mode keeps everything in memory, so mounts, policies, auth methods, secrets and
   * tokens are all gone afterwards; only the file audit device is enabled again (when
   * auditLog was asked for), appending to the same file.
   */
  restart(): Promise<void>;
  /** Parsed lines of the file audit device; [] unless started with auditLog: true. */
  auditEntries(): Promise<any[]>;
}

export interface StartOptions {
  rootToken?: string;
  /** Enable a file audit device at sys/audit/file. */
  auditLog?: boolean;
  /** How long to wait for sys/health to answer 200. Default 30 s. */
  startTimeoutMs?: number;
  /** Listen on HTTPS (-dev-tls) with a CA and certificate Vault makes at start. */
  tls?: boolean;
}

/** One HTTP(S) exchange, trusting `ca` when given (global fetch takes no CA). */
function exchange(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  ca?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method: init.method, headers: init.headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let binary: Promise<string> | undefined;
let cleanupInstalled = false;

function vaultBinary(): Promise<string> {
  const fromEnv = process.env.VAULTAPP_VAULT_BIN;
  if (fromEnv) return Promise.resolve(fromEnv);
  // Memoised so that several servers in one test file build/check only once; the script
  // itself takes a lock against other test processes building at the same time.
  binary ??= runEnsureScript('ensure-vault.sh').then((lines) => lines[lines.length - 1]!);
  return binary;
}

const openBao = new Map<string, boolean>();
/** Whether `bin` is OpenBao (`bao version` prints "OpenBao v…"), asked once per binary. */
function isOpenBao(bin: string): boolean {
  let known = openBao.get(bin);
  if (known === undefined) {
    known = /^OpenBao /.test(execFileSync(bin, ['version'], { encoding: 'utf8' }));
    openBao.set(bin, known);
  }
  return known;
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL needs no waiting.
  const cleanup = () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  // A signal's default action skips 'exit', so clean up first, then re-raise it unless
  // someone else handles it (a dev server's graceful shutdown). Servers die either way:
  // a live child would keep a gracefully closing process from ever exiting.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      cleanup();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

function logTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startVaultServer(opts: StartOptions = {}): Promise<VaultServer> {
  const bin = await vaultBinary();
  const token = opts.rootToken ?? 'root';
  const timeoutMs = opts.startTimeoutMs ?? 30_000;
  const port = await freePort();
  const addr = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  installCleanup();
  const dir = mkdtempSync(join(tmpdir(), 'vaultapp-vault-'));
  tempDirs.add(dir);
  // -dev-tls writes vault-ca.pem (and the server's pair) here at each start.
  const tlsDir = join(dir, 'tls');
  let caCert: string | undefined;
  const logFile = join(dir, 'server.log');
  const auditFile = join(dir, 'audit.log');
  let child: ChildProcess | undefined;

  // The developer's own VAULT_* settings (address, token, TLS) must not leak into the server.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT_') && !k.startsWith('BAO_')));

  const request: VaultServer['request'] = async (method, path, body, tok = token) => {
    const headers: Record<string, string> = {};
    if (tok !== null) headers['X-Vault-Token'] = tok;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await exchange(
      `${addr}/v1/${path.replace(/^\/+/, '')}`,
      {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      caCert,
    );
    const text = res.text;
    let parsed: any = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, body: parsed };
  };

  // OpenBao from 2.3.2 refuses to enable an audit device through the API unless its
  // configuration allows it; a -config file merges into the dev server's. Vault needs none.
  const extraConfig: string[] = [];
  if (opts.auditLog && isOpenBao(bin)) {
    const hcl = join(dir, 'openbao-audit.hcl');
    writeFileSync(hcl, 'unsafe_allow_api_audit_creation = true\n');
    extraConfig.push(`-config=${hcl}`);
  }

  async function launch(): Promise<void> {
    if (opts.tls) mkdirSync(tlsDir, { recursive: true });
    const fd = openSync(logFile, 'a');
    const proc = spawn(
      bin,
      [
        'server',
        '-dev',
        `-dev-root-token-id=${token}`,
        `-dev-listen-address=127.0.0.1:${port}`,
        '-dev-no-store-token',
        ...(opts.tls ? ['-dev-tls', `-dev-tls-cert-dir=${tlsDir}`] : []),
        ...extraConfig,
      ],
      { stdio: ['ignore', fd, fd], env },
    );
    closeSync(fd); // the child has its own copy
    child = proc;
    running.add(proc);
    let exited: string | undefined;
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      exited = `exited with ${signal ?? `code ${code}`}`;
    });
    proc.on('error', (err) => {
      running.delete(proc);
      exited = `failed to start: ${err.message}`;
    });

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) throw new Error(`Vault server ${exited} before becoming healthy\n--- ${logFile} ---\n${logTail(logFile)}`);
      try {
        if (opts.tls && caCert === undefined) caCert = readFileSync(join(tlsDir, 'vault-ca.pem'), 'utf8');
        const res = await exchange(`${addr}/v1/sys/health`, { method: 'GET', headers: {} }, caCert);
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`Vault server at ${addr} not healthy after ${timeoutMs} ms\n--- ${logFile} ---\n${logTail(logFile)}`);
      }
      await sleep(100);
    }

    if (opts.auditLog) {
      const res = await request('PUT', 'sys/audit/file', { type: 'file', options: { file_path: auditFile } });
      if (res.status >= 300) throw new Error(`enabling the file audit device failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  async function stop(): Promise<void> {
    // A restart makes a new CA: the old one must not be read in its place.
    caCert = undefined;
    rmSync(tlsDir, { recursive: true, force: true });
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  }

  await launch();

  return {
    addr,
    get caCert() {
      return caCert;
    },
    token,
    logFile,
    request,
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async auditEntries() {
      if (!opts.auditLog) return [];
      let text: string;
      try {
        text = await readFile(auditFile, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line));
    },
  };
}

async function ok(server: VaultServer, method: string, path: string, body?: unknown): Promise<VaultResponse> {
  const res = await server.request(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

export async function enableKv(server: VaultServer, mount: string, version: 1 | 2): Promise<void> {
  await ok(server, 'POST', `sys/mounts/${mount}`, { type: 'kv', options: { version: String(version) } });
  if (version === 2) {
    // A new v2 mount sets itself up in the background; writes fail until its config answers.
    for (let i = 0; ; i++) {
      const res = await server.request('GET', `${mount}/config`);
      if (res.status === 200) return;
      if (i >= 100) throw new Error(`kv v2 mount ${mount} not ready: ${res.status} ${JSON.stringify(res.body)}`);
      await sleep(50);
    }
  }
}

export async function writeKv(server: VaultServer, mount: string, version: 1 | 2, relPath: string, data: Record<string, unknown>): Promise<any> {
  const path = version === 2 ? `${mount}/data/${relPath}` : `${mount}/${relPath}`;
  const res = await ok(server, 'POST', path, version === 2 ? { data } : data);
  return res.body;
}

export async function writePolicy(server: VaultServer, name: string, hcl: string): Promise<void> {
  await ok(server, 'PUT', `sys/policies/acl/${name}`, { policy: hcl });
}

export interface JwtAuthOptions {
  /** Auth mount path. Default 'kubernetes', so clients log in at auth/kubernetes/login. */
  mount?: string;
  role: string;
  policies: string[];
  /** Default ['vault']; signJwt uses the first as its default `aud`. */
  boundAudiences?: string[];
  boundSubject?: string;
  /** token_ttl of the role: seconds or a duration string like '1h'. */
  ttl?: number | string;
}

export interface JwtSigner {
  mount: string;
  role: string;
  /** An RS256 JWT that the mount accepts; `claims` override the defaults. */
  signJwt(claims?: Record<string, unknown>): string;
}

/**
 * Stands in for the Kubernetes auth method: Vault's JWT method mounted at `kubernetes`
 * verifies service-account-like tokens with a local public key, so
 * `auth/kubernetes/login {role, jwt}` works without a Kubernetes API server (TokenReview).
 */
export async function enableJwtAuthAsKubernetes(server: VaultServer, opts: JwtAuthOptions): Promise<JwtSigner> {
  const mount = opts.mount ?? 'kubernetes';
  const audiences = opts.boundAudiences ?? ['vault'];
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  await ok(server, 'POST', `sys/auth/${mount}`, { type: 'jwt' });
  await ok(server, 'POST', `auth/${mount}/config`, {
    jwt_validation_pubkeys: [publicKey.export({ type: 'spki', format: 'pem' }).toString()],
  });
  await ok(server, 'POST', `auth/${mount}/role/${opts.role}`, {
    role_type: 'jwt',
    user_claim: 'sub',
    bound_audiences: audiences,
    ...(opts.boundSubject !== undefined && { bound_subject: opts.boundSubject }),
    token_policies: opts.policies,
    ...(opts.ttl !== undefined && { token_ttl: opts.ttl }),
  });

  return {
    mount,
    role: opts.role,
    signJwt: (claims = {}) => signRs256(privateKey, defaultClaims(audiences[0] ?? 'vault', claims)),
  };
}

function defaultClaims(aud: string, claims: Record<string, unknown>): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'https://kubernetes.default.svc.cluster.local',
    sub: 'system:serviceaccount:default:default',
    aud,
    iat: now,
    nbf: now,
    exp: now + 3600,
    'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'default', uid: '00000000-0000-0000-0000-000000000000' } },
    ...claims,
  };
}

function signRs256(key: KeyObject, payload: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}
