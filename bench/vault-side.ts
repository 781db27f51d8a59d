// Vault's side of a bench run: requests counted from its file audit device, and its
// Kubernetes auth method doing TokenReviews against a real kube-apiserver, as in a cluster.
// Shared by bench/run.ts and bench/churn.ts.
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import type { KubeServer } from '../test/support/kube-apiserver.js';
import type { VaultServer } from '../test/support/vault-server.js';

export type AuditCounts = { total: number; logins: number; kvReads: number; mounts: number; tokenOps: number; other: number };
export const zeroAudit = (): AuditCounts => ({ total: 0, logins: 0, kvReads: 0, mounts: 0, tokenOps: 0, other: 0 });

export class AuditCounter {
  #offset = 0;
  #rest = '';
  constructor(private readonly file: string) {}
  /** Request entries written since the last call. */
  take(): AuditCounts {
    const counts = zeroAudit();
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return counts;
    }
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - this.#offset));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, this.#offset + got);
        if (n === 0) break;
        got += n;
      }
      this.#offset += got;
      const text = this.#rest + buf.subarray(0, got).toString('utf8');
      const lines = text.split('\n');
      this.#rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"type":"request"')) continue;
        const e = JSON.parse(line) as { type?: string; request?: { path?: string } };
        if (e.type !== 'request') continue;
        const p = e.request?.path ?? '';
        counts.total++;
        if (p === 'auth/kubernetes/login') counts.logins++;
        else if (p.startsWith('kv/')) counts.kvReads++;
        else if (p.startsWith('sys/internal/ui/mounts/')) counts.mounts++;
        else if (p.startsWith('auth/token/')) counts.tokenOps++;
        else counts.other++;
      }
    } finally {
      closeSync(fd);
    }
    return counts;
  }
}

/** The kube-apiserver listening on `port` (a grandchild: the harness wraps it in a watchdog shell). */
export function kubeApiServerPid(port: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.includes('kube-apiserver') && cmd.includes(`--secure-port=${port}`)) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/**
 * Vault's Kubernetes auth method against the API server, as a cluster has it: a
 * reviewer service account with system:auth-delegator, one role per namespace bound
 * to the hook's service account. Returns that service account's token (the JWT the
 * seed reads from its pod and the hook in controller identity).
 */
export async function kubernetesLoginSetup(v: VaultServer, k: KubeServer, opts: { hookSa: string; roles: string[]; policy: string }): Promise<string> {
  const [hookNs, hookSa] = opts.hookSa.split(':').slice(2) as [string, string];
  await k.applyYaml([hookNs, 'vault-system'].map((n) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${n}}`).join('\n---\n'));
  await k.applyYaml(
    [
      [hookNs, hookSa],
      ['vault-system', 'vault-reviewer'],
    ]
      .map(([ns, n]) => `apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ${n}, namespace: ${ns}}`)
      .join('\n---\n'),
  );
  await k.applyYaml(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vault-reviewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator}
subjects: [{kind: ServiceAccount, name: vault-reviewer, namespace: vault-system}]`);
  const token = async (ns: string, name: string): Promise<string> =>
    (
      await k.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 7200 },
      })
    ).status.token as string;
  const ok = (what: string, r: { status: number; body: unknown }): void => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  ok('enable kubernetes auth', await v.request('POST', 'sys/auth/kubernetes', { type: 'kubernetes' }));
  ok(
    'kubernetes auth config',
    await v.request('POST', 'auth/kubernetes/config', {
      kubernetes_host: k.url,
      kubernetes_ca_cert: k.caCert,
      token_reviewer_jwt: await token('vault-system', 'vault-reviewer'),
      disable_local_ca_jwt: true,
    }),
  );
  for (const role of opts.roles) {
    ok(
      `role ${role}`,
      await v.request('POST', `auth/kubernetes/role/${role}`, {
        bound_service_account_names: [hookSa],
        bound_service_account_namespaces: [hookNs],
        token_policies: [opts.policy],
        token_ttl: '20m',
      }),
    );
  }
  return token(hookNs, hookSa);
}
