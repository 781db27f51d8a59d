// A real etcd + kube-apiserver for tests that need true API semantics (TokenRequest,
// TokenReview, CRDs, server-side apply, dry-run), built by scripts/ensure-kube.sh.
// There is no controller-manager or scheduler: nothing reconciles, pods never run,
// namespaces never finish deleting, and namespaces get no "default" ServiceAccount.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runEnsureScript } from './local.js';

export interface RequestOptions {
  /** Defaults to application/json; e.g. application/merge-patch+json or application/apply-patch+yaml. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface KubeServer {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Bearer token of user "admin" in group system:masters. */
  token: string;
  /** PEM that verifies the serving certificate (the apiserver's self-signed chain). */
  caCert: string;
  /** Admin request; JSON in (strings are sent as they are) and out. Throws KubeApiError on status >= 400. */
  // `any` so tests can reach into responses without a cast at every step.
  request<T = any>(method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<T>;
  /** Server-side applies (creating if absent) each document; returns the stored objects. */
  applyYaml(text: string, opts?: { namespace?: string; fieldManager?: string }): Promise<any[]>;
  /**
   * Waits until the authorizer allows `user` the access (a SubjectAccessReview): RBAC
   * objects just written reach the authorizer's cache a moment later. Throws after 20 s.
   */
  waitForAccess(user: string, access: { verb: string; resource: string; subresource?: string; namespace?: string; group?: string }): Promise<void>;
  stop(): Promise<void>;
}

export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: any,
  ) {
    super(`${method} ${path}: ${status} ${typeof body === 'object' && body?.message ? body.message : String(body).slice(0, 500)}`);
  }
}

export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

// The wrapper holds our end of a stdin pipe; when this process goes away for any reason
// (even SIGKILL) the pipe closes, `cat` returns, the server is killed and the temp dir
// (with etcd's preallocated WAL) removed. The shell itself exits when the server does,
// which is how an early crash is noticed.
const WATCHDOG = 'dir=$1; shift; exec 3<&0; "$@" </dev/null 3<&- & pid=$!; { cat >/dev/null; kill -9 $pid 2>/dev/null; rm -rf "$dir"; } <&3 & wait $pid';

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

export async function startKubeApiServer(opts: { readyTimeoutMs?: number } = {}): Promise<KubeServer> {
  const [apiserverBin, etcdBin] = await ensureBinaries();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vaultapp-kube-'));
  const procs: Proc[] = [];
  let agent: https.Agent | undefined;
  let lastError: Error | undefined; // of the readiness probe, which is retried until the deadline

  const stop = async () => {
    for (const p of procs) {
      p.child.ref(); // launch() unref'd it; awaiting its exit must keep the event loop alive
      p.child.stdin?.end();
    }
    await Promise.all(procs.map((p) => p.exited));
    agent?.destroy();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [etcdPort, peerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    const token = randomBytes(24).toString('hex');
    const sa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    writeFileSync(path.join(dir, 'sa.pub'), sa.publicKey);
    writeFileSync(path.join(dir, 'sa.key'), sa.privateKey, { mode: 0o600 });
    writeFileSync(path.join(dir, 'tokens.csv'), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    procs.push(
      launch('etcd', etcdBin, dir, [
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        '--name=vaultapp-test',
        `--initial-cluster=vaultapp-test=${peerUrl}`,
        '--unsafe-no-fsync', // throwaway data; fsync only slows the tests
        '--log-level=warn',
      ]),
    );

    const certDir = path.join(dir, 'certs');
    procs.push(
      launch('kube-apiserver', apiserverBin, dir, [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        // No --tls-cert-file: the apiserver writes a self-signed CA + serving cert for
        // 127.0.0.1 here, which saves generating X.509 ourselves (node:crypto cannot).
        `--cert-dir=${certDir}`,
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
        `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
        `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-cluster-ip-range=10.96.0.0/16',
        // ServiceAccount admission wants each namespace's "default" SA, which only the
        // controller-manager creates; without it every pod create would be rejected.
        '--disable-admission-plugins=ServiceAccount',
        '--endpoint-reconciler-type=none', // no pod will reach us via the kubernetes Service; skip keeping its endpoints
        '--profiling=false',
      ]),
    );

    const url = `https://127.0.0.1:${apiPort}`;
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
    const caCert = await waitFor(deadline, procs, () => readCert(certDir));
    agent = new https.Agent({ ca: caCert, keepAlive: true });
    const request = makeRequest(url, token, agent);
    await waitFor(deadline, procs, () =>
      request('GET', '/readyz').then(
        () => true,
        (e: Error) => void (lastError = e),
      ),
    );

    const waitForAccess: KubeServer['waitForAccess'] = async (user, access) => {
      const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user, resourceAttributes: { ...access } } };
      for (let i = 0; ; i++) {
        const res = await request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', review);
        if (res?.status?.allowed === true) return;
        if (i >= 100) throw new Error(`${user} is still not allowed ${JSON.stringify(access)} after 20 s: ${res?.status?.reason ?? 'no reason given'}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    return { url, token, caCert, request, applyYaml: (text, o) => applyYaml(request, text, o), waitForAccess, stop };
  } catch (err) {
    const logs = procs.map((p) => `--- ${p.name} (${p.log}), last lines:\n${tail(p.log)}`).join('\n');
    await stop().catch(() => {});
    const probe = lastError ? ` (last /readyz error: ${lastError.message})` : '';
    throw new Error(`kube-apiserver did not start: ${(err as Error).message}${probe}\n${logs}`, { cause: err });
  }
}

async function ensureBinaries(): Promise<[string, string]> {
  const [apiserver, etcd] = await runEnsureScript('ensure-kube.sh');
  if (!apiserver || !etcd) throw new Error('scripts/ensure-kube.sh printed fewer than two paths (kube-apiserver, etcd)');
  return [apiserver, etcd];
}

function launch(name: string, bin: string, dir: string, args: string[]): Proc {
  const log = path.join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'sh', dir, bin, ...args], { stdio: ['pipe', fd, fd] });
  closeSync(fd);
  // A forgotten stop() must not keep the test process alive; the watchdog cleans up.
  child.unref();
  (child.stdin as unknown as net.Socket).unref();
  const proc = { name, child, log } as Proc;
  proc.exited = new Promise((resolve) => {
    child.on('exit', (code) => {
      proc.exitCode = code;
      resolve(code);
    });
  });
  return proc;
}

async function waitFor<T>(deadline: number, procs: Proc[], probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (;;) {
    const dead = procs.find((p) => p.exitCode !== undefined);
    if (dead) throw new Error(`${dead.name} exited with code ${dead.exitCode}`);
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for readiness');
    await new Promise((r) => setTimeout(r, 250));
  }
}

function readCert(certDir: string): string | undefined {
  // The key is written after the certificate, so its presence means the cert is complete.
  if (!existsSync(path.join(certDir, 'apiserver.key'))) return undefined;
  return readFileSync(path.join(certDir, 'apiserver.crt'), 'utf8');
}

function makeRequest(base: string, token: string, agent: https.Agent): KubeServer['request'] {
  return (method, reqPath, body, opts = {}) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = https.request(
        new URL(reqPath, base),
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload !== undefined && { 'content-type': opts.contentType ?? 'application/json' }),
            ...opts.headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            let parsed: any = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // /readyz, /healthz and some errors are plain text
            }
            const status = res.statusCode ?? 0;
            if (status >= 400) reject(new KubeApiError(method, reqPath, status, parsed));
            else resolve(parsed);
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

async function applyYaml(request: KubeServer['request'], text: string, opts: { namespace?: string; fieldManager?: string } = {}): Promise<any[]> {
  const applied: any[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw doc.errors[0];
    const obj = doc.toJS();
    if (obj == null) continue;
    const namespace = obj.metadata?.namespace ?? opts.namespace ?? 'default';
    const { collection, namespaced } = await resourceFor(request, obj.apiVersion, obj.kind);
    if (namespaced) obj.metadata.namespace = namespace;
    const nsPart = namespaced ? `/namespaces/${namespace}` : '';
    const [prefix, plural] = collection;
    const query = `fieldManager=${encodeURIComponent(opts.fieldManager ?? 'vaultapp-test')}&force=true`;
    applied.push(
      await request('PATCH', `${prefix}${nsPart}/${plural}/${obj.metadata.name}?${query}`, obj, {
        contentType: 'application/apply-patch+yaml', // JSON is YAML
      }),
    );
  }
  return applied;
}

async function resourceFor(request: KubeServer['request'], apiVersion: string, kind: string) {
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  // A CRD that was just applied takes a moment to show up in discovery.
  for (let attempt = 0; attempt < 50; attempt++) {
    const list = await request<{ resources: { name: string; kind: string; namespaced: boolean }[] }>('GET', prefix).catch((e: unknown) => {
      if (e instanceof KubeApiError && e.status === 404) return { resources: [] };
      throw e;
    });
    const r = list.resources.find((x) => x.kind === kind && !x.name.includes('/'));
    if (r) return { collection: [prefix, r.name] as const, namespaced: r.namespaced };
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`no resource of kind ${kind} in ${apiVersion}`);
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function freePorts(n: number): Promise<number[]> {
  // Held open together so the kernel cannot hand out the same port twice.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.on('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
