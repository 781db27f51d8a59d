// The hook as a Fastify application; src/server.ts only listens and shuts down.
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { Server as TlsServer } from 'node:tls';
import etag from '@fastify/etag';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ConfigError, DEFAULT_YAML_BODY_LIMIT, type Config, type HookSecurityConfig } from '../config/config.js';
import { codeOfClientError, HookError, httpStatusOf } from '../errors/catalog.js';
import type { SyncConfig } from '../hook/types.js';
import type { VaultReader } from '../vault/reader.js';
import { authenticatesCallers, hookAuthentication } from './auth.js';
import { refuseDeepBodies } from './body-guard.js';
import { HookCredentials } from './credentials.js';
import { createLogger } from './logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { hookRoutes } from './routes/hook.js';
import { UnchangedAnswers } from './answer-reuse.js';
import { isYamlBody, registerYaml, YAML_TYPES } from './yaml.js';

export interface AppDeps {
  /** Without hookSecurity (tests, the bench) the hook serves plain HTTP and asks for no credentials. */
  config: Pick<Config, 'logLevel' | 'bodyLimit'> & Partial<Pick<Config, 'yamlBodyLimit'>> & SyncConfig & { hookSecurity?: HookSecurityConfig };
  reader: VaultReader;
  vaultHealth?: () => Promise<unknown>;
  now?: () => Date;
  logger?: FastifyServerOptions['logger'];
  /** An existing logger (e.g. one writing to a stream a test reads); wins over `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** Prometheus metrics, served at GET /metrics. */
  metrics?: Metrics;
  /** Earlier answers given again as 304 to the same request (./answer-reuse.ts); false: every sync runs. Default: a new store. */
  unchangedAnswers?: UnchangedAnswers | false;
}

function credentialsFor(security: HookSecurityConfig | undefined): HookCredentials | undefined {
  if (!security) return undefined;
  if (security.mode === 'required' && !authenticatesCallers(security)) {
    throw new ConfigError('VAULTAPP_HOOK_AUTH=required but neither VAULTAPP_AUTH_TOKEN_FILE nor VAULTAPP_TLS_CLIENT_CA_FILE is set');
  }
  return security.tokenFile !== undefined || security.tls !== undefined ? new HookCredentials(security) : undefined;
}

/** The hook's application: plain HTTP, or HTTPS when it has a certificate. */
export type HookApp = FastifyInstance<HttpServer | HttpsServer>;

export async function buildApp(deps: AppDeps): Promise<HookApp> {
  const security = deps.config.hookSecurity;
  const credentials = credentialsFor(security);
  const tls = credentials?.tls;
  const options = {
    ...(deps.loggerInstance
      ? { loggerInstance: deps.loggerInstance }
      : deps.logger !== undefined
        ? { logger: deps.logger }
        : { loggerInstance: createLogger(deps.config.logLevel) }),
    bodyLimit: deps.config.bodyLimit,
    // One line per sync at info ("synced", from the route, with what it decided), not
    // Fastify's two per request; the request lines come back at debug (below).
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's default Ajv coerces types ("1" → true, [true] → true): a mistyped
    // `finalizing` would then be answered as a finalize, with no children at all.
    // allErrors off (Fastify's default, pinned): one error per refused request, not one per
    // bad entry of a 10,000-entry children map (test/security/hostile-input.test.ts).
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    // Metacontroller sends one request at a time per parent; a slow Vault must not pile up sockets forever.
    requestTimeout: 30_000,
  };
  const app: HookApp = tls
    ? // Client certificates are asked for but checked per route (./auth.ts): the
      // kubelet's probes of /healthz and /readyz present none.
      Fastify({
        ...options,
        https: { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca, requestCert: true, rejectUnauthorized: false } : {}) },
      })
    : Fastify(options);
  const yamlBodyLimit = Math.min(deps.config.yamlBodyLimit ?? DEFAULT_YAML_BODY_LIMIT, deps.config.bodyLimit);
  registerYaml(app, yamlBodyLimit);
  // Fastify reads text/plain as a string, which then fails as "body must be object": a caller
  // who sent the wrong type learns more from the 415 that names the right ones.
  app.removeContentTypeParser('text/plain');
  app.addHook('onResponse', async (req, reply) => {
    if ((req.log as { isLevelEnabled?(l: string): boolean }).isLevelEnabled?.('debug') !== false)
      req.log.debug({ req, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  });

  // The one error path: every refusal is a catalog code with the catalog's status.
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; validationContext?: string }, req, reply) => {
    if (err instanceof HookError) {
      req.log.warn({ code: err.code, message: err.message }, 'rejected hook request');
      if (err.retryAfterSeconds !== undefined) void reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.code(err.statusCode).send({ code: err.code, message: err.message });
    }
    if (err.validation) {
      const message = `not a Metacontroller hook request: ${err.validationContext ?? 'body'}${err.message.replace(/^(body|querystring)/, '')}`;
      return reply.code(httpStatusOf('INVALID_REQUEST')).send({ code: 'INVALID_REQUEST', message });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = codeOfClientError(err.statusCode);
      const message =
        code === 'BODY_TOO_LARGE' && isYamlBody(req)
          ? `the YAML body is larger than ${yamlBodyLimit} bytes (VAULTAPP_YAML_BODY_LIMIT_BYTES); send JSON, as Metacontroller does`
          : code === 'UNSUPPORTED_MEDIA_TYPE'
            ? // curl without -H sends a form type: say what to send instead.
              `unsupported Content-Type ${req.headers['content-type'] ?? '(none)'}: send application/json, or YAML as ${YAML_TYPES.join(', ')}`
            : err.message;
      return reply.code(httpStatusOf(code)).send({ code, message });
    }
    req.log.error({ err }, 'hook failed');
    return reply.code(httpStatusOf('INTERNAL')).send({ code: 'INTERNAL', message: 'internal error in the hook; see its log' });
  });

  if (credentials && security) watchCredentials(app, credentials, security.reloadSeconds);

  await app.register(healthRoutes, { vaultHealth: deps.vaultHealth });
  if (deps.metrics) await app.register(metricsRoute, { registry: deps.metrics.registry });
  await app.register(async (hooks) => {
    if (credentials && (credentials.bearerRequired || credentials.clientCertRequired))
      hooks.addHook('onRequest', hookAuthentication(credentials, deps.metrics));
    hooks.addHook('preValidation', refuseDeepBodies);
    // Metacontroller's webhook etag: an unchanged answer is sent as 304 and reused from its cache.
    await hooks.register(etag);
    const answers = deps.unchangedAnswers === false ? undefined : (deps.unchangedAnswers ?? new UnchangedAnswers());
    await hooks.register(hookRoutes, {
      reader: deps.reader,
      hookConfig: deps.config,
      now: deps.now ?? (() => new Date()),
      ...(deps.metrics ? { observer: deps.metrics } : {}),
      ...(answers ? { answers } : {}),
    });
  });
  return app;
}

// Certificates and tokens are rotated in place; they are read again every
// reloadSeconds and applied to new connections (existing ones keep theirs).
function watchCredentials(app: HookApp, credentials: HookCredentials, reloadSeconds: number): void {
  const check = (): void => {
    const outcome = credentials.reload();
    if ('error' in outcome) {
      app.log.error({ problem: outcome.error }, "cannot reload the hook's credentials; keeping the previous ones");
      return;
    }
    if (!outcome.changed) return;
    if (outcome.tlsChanged && credentials.tls && app.server instanceof TlsServer) {
      const { cert, key, ca } = credentials.tls;
      app.server.setSecureContext({ cert, key, ...(ca !== undefined ? { ca } : {}) });
    }
    app.log.info({ tls: outcome.tlsChanged, tokens: outcome.tokensChanged }, "reloaded the hook's credentials");
  };
  const timer = setInterval(check, reloadSeconds * 1000);
  timer.unref();
  app.decorate('reloadCredentials', check);
  app.addHook('onClose', async () => clearInterval(timer));
}
