// The hook's configuration, validated once at start-up against a schema; a bad
// value stops the process with a message that names the variable. Vault settings
// follow the vault CLI's environment names.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { extraLabelsProblems } from '../api/kube-labels.js';
import { readTls, readTokens } from './hook-credential-files.js';

/** YAML bodies take some 5 µs per node to parse: a quarter of a MiB is more than a sync request needs as YAML. */
export const DEFAULT_YAML_BODY_LIMIT = 256 * 1024;

const int = (def: number, min: number, max: number, description: string) => Type.Integer({ default: def, minimum: min, maximum: max, description });

export const EnvSchema = Type.Object({
  PORT: int(8080, 0, 65535, 'Port the hook listens on.'),
  HOST: Type.String({ default: '0.0.0.0', description: 'Address the hook listens on.' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level.' },
  ),
  VAULT_ADDR: Type.String({ default: 'http://127.0.0.1:8200', pattern: '^https?://', description: 'Vault address, as for the vault CLI.' }),
  VAULT_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'Vault token for local work; falls back to ~/.vault-token. Selects token auth.' })),
  VAULT_CACERT: Type.Optional(Type.String({ minLength: 1, description: "PEM file of the CA that signed Vault's certificate." })),
  VAULT_NAMESPACE: Type.Optional(Type.String({ minLength: 1, description: 'Vault Enterprise / OpenBao namespace.' })),
  VAULTAPP_AUTH: Type.Optional(
    Type.Union([Type.Literal('token'), Type.Literal('kubernetes')], {
      description: 'token or kubernetes; default token when a token is available, else kubernetes.',
    }),
  ),
  VAULTAPP_K8S_AUTH_MOUNT: Type.String({
    default: 'kubernetes',
    pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$',
    description: "Mount path of Vault's Kubernetes auth method.",
  }),
  VAULTAPP_K8S_TOKEN_PATH: Type.String({
    default: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    description: 'Service-account token used to log in.',
  }),
  VAULTAPP_IDENTITY: Type.Union([Type.Literal('workload'), Type.Literal('controller')], {
    default: 'workload',
    description: "kubernetes auth: log in as each VaultApp's own service account (workload) or as the hook's (controller, single-tenant clusters only).",
  }),
  VAULTAPP_TOKEN_AUDIENCE: Type.String({
    default: 'vault',
    minLength: 1,
    description: "Audience of the service-account tokens the hook requests (workload identity); the Vault role's `audience` must match.",
  }),
  VAULTAPP_TOKEN_EXPIRATION_SECONDS: int(600, 600, 86400, 'Lifetime asked for those tokens; reused until a fifth of it is left.'),
  VAULTAPP_KUBE_API_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'Kubernetes API server; default from KUBERNETES_SERVICE_HOST/PORT.' }),
  ),
  VAULTAPP_KUBE_CA_FILE: Type.String({ default: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', description: 'CA of the Kubernetes API server.' }),
  KUBERNETES_SERVICE_HOST: Type.Optional(Type.String()),
  KUBERNETES_SERVICE_PORT: Type.Optional(Type.String()),
  VAULTAPP_ALLOWED_ROLES: Type.Optional(
    Type.String({ description: 'controller identity: YAML/JSON map of namespace to the Vault roles its VaultApps may use.' }),
  ),
  VAULTAPP_ALLOWED_ROLES_FILE: Type.Optional(Type.String({ description: 'File holding that map.' })),
  VAULTAPP_HMAC_KEY: Type.Optional(Type.String({ minLength: 16, description: 'Key of the secret-version HMAC (required with kubernetes auth).' })),
  VAULTAPP_HMAC_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'File holding the HMAC key (e.g. a mounted Secret).' })),
  VAULTAPP_RESYNC_SECONDS: int(300, 5, 86400, 'Resync interval while healthy.'),
  VAULTAPP_REFRESH_SECONDS: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 31536000,
      description:
        'How long data read from Vault is used before it is read again, for VaultApps without spec.vault.refreshInterval (0: at every sync). Default: the resync interval.',
    }),
  ),
  VAULTAPP_ERROR_BACKOFF_SECONDS: int(5, 1, 3600, 'First retry after an error; doubles up to the resync interval.'),
  VAULTAPP_VAULT_TIMEOUT_MS: int(4000, 100, 60000, 'Timeout of one Vault request.'),
  VAULTAPP_SYNC_DEADLINE_MS: int(7000, 100, 60000, 'Upper bound on the Vault work of one sync; keep it under the hook timeout (10 s).'),
  VAULTAPP_BODY_LIMIT_BYTES: int(8 * 1024 * 1024, 1024, 64 * 1024 * 1024, 'Largest accepted request body.'),
  VAULTAPP_YAML_BODY_LIMIT_BYTES: int(
    DEFAULT_YAML_BODY_LIMIT,
    1024,
    8 * 1024 * 1024,
    'Largest accepted YAML body (as sent, and with its aliases expanded); YAML is for people with curl, Metacontroller sends JSON.',
  ),
  VAULTAPP_VAULT_CONCURRENCY: int(64, 1, 4096, 'Syncs doing Vault work at once.'),
  VAULTAPP_VAULT_QUEUE: int(1024, 0, 100000, 'Syncs that may wait for those slots; beyond, the hook answers 429 with Retry-After.'),
  VAULTAPP_HOOK_AUTH: Type.Optional(
    Type.Union([Type.Literal('required'), Type.Literal('none')], {
      description: 'Authentication of calls to /sync and /finalize: required (the default with kubernetes auth) or none (rely on a NetworkPolicy alone).',
    }),
  ),
  VAULTAPP_AUTH_TOKEN_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'File with the bearer token(s) Metacontroller must send (one per line; re-read when it changes).' }),
  ),
  VAULTAPP_TLS_CERT_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'PEM certificate (chain) the hook serves HTTPS with; re-read when it changes.' }),
  ),
  VAULTAPP_TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of that certificate.' })),
  VAULTAPP_TLS_CLIENT_CA_FILE: Type.Optional(
    Type.String({ minLength: 1, description: 'PEM CA(s) whose client certificates may call /sync and /finalize (needs TLS).' }),
  ),
  VAULTAPP_MONITORING_LABELS: Type.Optional(
    Type.String({
      description:
        'YAML/JSON map of labels every generated ServiceMonitor carries, under the VaultApp\'s spec.monitoring.labels (e.g. {"release": "kube-prometheus-stack"}).',
    }),
  ),
  VAULTAPP_CREDENTIALS_RELOAD_SECONDS: int(10, 1, 3600, 'How often the TLS and token files are checked for changes.'),
});
export type Env = Static<typeof EnvSchema>;

export interface Config {
  port: number;
  host: string;
  logLevel: string;
  vault: { address: string; caCert?: string; namespace?: string; timeoutMs: number };
  auth: { method: 'token'; token: string } | { method: 'kubernetes'; mount: string; identity: IdentityConfig };
  hmacKey: string;
  /** True when the HMAC key was generated for this process: pods roll after a restart. */
  hmacKeyEphemeral: boolean;
  resyncSeconds: number;
  /** Default refresh interval of the data read from Vault; absent: the resync interval. */
  refreshSeconds?: number;
  errorBackoffMinSeconds: number;
  syncDeadlineMs: number;
  bodyLimit: number;
  /** Largest YAML body, as sent and as expanded; at most bodyLimit. */
  yamlBodyLimit: number;
  /** Bounded queue in front of Vault: beyond concurrency + queue, syncs get 429. */
  vaultQueue: { concurrency: number; queue: number };
  /** How callers of /sync and /finalize are authenticated, and TLS. */
  hookSecurity: HookSecurityConfig;
  /** Labels of every generated ServiceMonitor, under the VaultApp's own. */
  monitoringLabels?: Record<string, string>;
}

export interface HookSecurityConfig {
  /** required: refuse to start without a token file or client CA where it matters; none: explicitly off. Unset: the default for the auth method. */
  mode?: 'required' | 'none';
  tokenFile?: string;
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  reloadSeconds: number;
}

export type IdentityConfig =
  | { model: 'workload'; audience: string; expirationSeconds: number; kube: { url: string; tokenPath: string; caCert?: string } }
  | { model: 'controller'; jwtPath: string; allowedRoles: Record<string, string[]> };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const readVar = (file: string, variable: string): string => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
};

export function loadConfig(source: NodeJS.ProcessEnv = process.env, home = homedir()): Config {
  const env: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const v = source[key];
    if (v !== undefined && v !== '') env[key] = v;
  }
  const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: true, strict: false });
  const validate = ajv.compile<Env>(EnvSchema);
  if (!validate(env)) {
    const msg = (validate.errors ?? [])
      .map((e) => `${e.instancePath.slice(1) || (e.params as { missingProperty?: string }).missingProperty}: ${e.message}`)
      .join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`);
  }

  const tokenFile = join(home, '.vault-token');
  const token = env.VAULT_TOKEN ?? (existsSync(tokenFile) ? readVar(tokenFile, 'VAULT_TOKEN (~/.vault-token)') : undefined);
  const method = env.VAULTAPP_AUTH ?? (token ? 'token' : 'kubernetes');
  if (method === 'token' && !token) throw new ConfigError('VAULTAPP_AUTH=token needs VAULT_TOKEN or ~/.vault-token');

  let hmacKey = env.VAULTAPP_HMAC_KEY ?? (env.VAULTAPP_HMAC_KEY_FILE ? readVar(env.VAULTAPP_HMAC_KEY_FILE, 'VAULTAPP_HMAC_KEY_FILE') : undefined);
  let hmacKeyEphemeral = false;
  if (hmacKey !== undefined && hmacKey.length < 16) throw new ConfigError('VAULTAPP_HMAC_KEY_FILE: the key must be at least 16 characters');
  if (!hmacKey) {
    // In a cluster a per-process key would roll every Deployment on each restart.
    if (method === 'kubernetes')
      throw new ConfigError(
        'VAULTAPP_HMAC_KEY or VAULTAPP_HMAC_KEY_FILE is required with kubernetes auth: a stable key keeps hook restarts from rolling Deployments',
      );
    hmacKey = randomBytes(32).toString('hex');
    hmacKeyEphemeral = true;
  }

  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    vault: {
      address: env.VAULT_ADDR.replace(/\/+$/, ''),
      timeoutMs: env.VAULTAPP_VAULT_TIMEOUT_MS,
      ...(env.VAULT_CACERT ? { caCert: readVar(env.VAULT_CACERT, 'VAULT_CACERT') } : {}),
      ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
    },
    auth: method === 'token' ? { method, token: token! } : { method, mount: env.VAULTAPP_K8S_AUTH_MOUNT, identity: identityConfig(env) },
    hmacKey,
    hmacKeyEphemeral,
    resyncSeconds: env.VAULTAPP_RESYNC_SECONDS,
    ...(env.VAULTAPP_REFRESH_SECONDS !== undefined ? { refreshSeconds: env.VAULTAPP_REFRESH_SECONDS } : {}),
    errorBackoffMinSeconds: Math.min(env.VAULTAPP_ERROR_BACKOFF_SECONDS, env.VAULTAPP_RESYNC_SECONDS),
    syncDeadlineMs: env.VAULTAPP_SYNC_DEADLINE_MS,
    bodyLimit: env.VAULTAPP_BODY_LIMIT_BYTES,
    yamlBodyLimit: Math.min(env.VAULTAPP_YAML_BODY_LIMIT_BYTES, env.VAULTAPP_BODY_LIMIT_BYTES),
    vaultQueue: { concurrency: env.VAULTAPP_VAULT_CONCURRENCY, queue: env.VAULTAPP_VAULT_QUEUE },
    hookSecurity: hookSecurityConfig(env),
    ...(env.VAULTAPP_MONITORING_LABELS !== undefined ? { monitoringLabels: monitoringLabels(env.VAULTAPP_MONITORING_LABELS) } : {}),
  };
}

// The same checks as a VaultApp's spec.monitoring.labels get at admission (../api/kube-labels.ts).
function monitoringLabels(text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`VAULTAPP_MONITORING_LABELS: not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const problems = extraLabelsProblems(parsed);
  if (problems.length > 0) throw new ConfigError(`VAULTAPP_MONITORING_LABELS: ${problems.slice(0, 5).join('; ')}`);
  return parsed as Record<string, string>;
}

// The files are read here once so that a typo stops start-up; the hook reads them
// again (and again when they change) through src/http/credentials.ts.
function hookSecurityConfig(env: Env): HookSecurityConfig {
  const {
    VAULTAPP_TLS_CERT_FILE: certFile,
    VAULTAPP_TLS_KEY_FILE: keyFile,
    VAULTAPP_TLS_CLIENT_CA_FILE: clientCaFile,
    VAULTAPP_AUTH_TOKEN_FILE: tokenFile,
  } = env;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError('VAULTAPP_TLS_CERT_FILE and VAULTAPP_TLS_KEY_FILE go together: set both or neither');
  if (clientCaFile !== undefined && certFile === undefined)
    throw new ConfigError('VAULTAPP_TLS_CLIENT_CA_FILE needs TLS: set VAULTAPP_TLS_CERT_FILE and VAULTAPP_TLS_KEY_FILE too');
  if (env.VAULTAPP_HOOK_AUTH === 'none' && (tokenFile !== undefined || clientCaFile !== undefined)) {
    throw new ConfigError('VAULTAPP_HOOK_AUTH=none contradicts VAULTAPP_AUTH_TOKEN_FILE / VAULTAPP_TLS_CLIENT_CA_FILE: unset one or the other');
  }
  // The same rules the hook applies on every reload (./hook-credential-files.ts).
  try {
    if (tokenFile !== undefined) readTokens(tokenFile);
    if (certFile !== undefined && keyFile !== undefined) readTls({ certFile, keyFile, ...(clientCaFile !== undefined ? { clientCaFile } : {}) });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return {
    ...(env.VAULTAPP_HOOK_AUTH !== undefined ? { mode: env.VAULTAPP_HOOK_AUTH } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
    ...(certFile !== undefined && keyFile !== undefined ? { tls: { certFile, keyFile, ...(clientCaFile !== undefined ? { clientCaFile } : {}) } } : {}),
    reloadSeconds: env.VAULTAPP_CREDENTIALS_RELOAD_SECONDS,
  };
}

function identityConfig(env: Env): IdentityConfig {
  if (env.VAULTAPP_IDENTITY === 'controller') {
    const text =
      env.VAULTAPP_ALLOWED_ROLES ?? (env.VAULTAPP_ALLOWED_ROLES_FILE ? readVar(env.VAULTAPP_ALLOWED_ROLES_FILE, 'VAULTAPP_ALLOWED_ROLES_FILE') : undefined);
    // Without the list every team could name every role bound to the hook.
    if (text === undefined)
      throw new ConfigError('VAULTAPP_IDENTITY=controller needs VAULTAPP_ALLOWED_ROLES or VAULTAPP_ALLOWED_ROLES_FILE (namespace: [roles])');
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`VAULTAPP_ALLOWED_ROLES: not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
    }
    const ok =
      parsed !== null &&
      typeof parsed === 'object' &&
      !Array.isArray(parsed) &&
      Object.values(parsed).every((v) => Array.isArray(v) && v.every((r) => typeof r === 'string'));
    if (!ok) throw new ConfigError('VAULTAPP_ALLOWED_ROLES: must map each namespace to a list of role names, e.g. {"team-a": ["app-a"]}');
    return { model: 'controller', jwtPath: env.VAULTAPP_K8S_TOKEN_PATH, allowedRoles: parsed as Record<string, string[]> };
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const url = env.VAULTAPP_KUBE_API_URL ?? (host ? `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}` : undefined);
  if (!url)
    throw new ConfigError('VAULTAPP_KUBE_API_URL (or KUBERNETES_SERVICE_HOST in a pod) is needed for workload identity, to request service-account tokens');
  return {
    model: 'workload',
    audience: env.VAULTAPP_TOKEN_AUDIENCE,
    expirationSeconds: env.VAULTAPP_TOKEN_EXPIRATION_SECONDS,
    kube: {
      url,
      tokenPath: env.VAULTAPP_K8S_TOKEN_PATH,
      ...(existsSync(env.VAULTAPP_KUBE_CA_FILE) ? { caCert: readFileSync(env.VAULTAPP_KUBE_CA_FILE, 'utf8') } : {}),
    },
  };
}
