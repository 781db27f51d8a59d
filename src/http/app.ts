// The hook as a Fastify application; src/server.ts only listens and shuts down.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from '../config/config.js';
import { HookError } from '../errors/catalog.js';
import type { HookConfig } from '../hook/types.js';
import type { VaultReader } from '../vault/reader.js';
import { loggerOptions } from './logger.js';
import { healthRoutes } from './routes/health.js';
import { hookRoutes } from './routes/hook.js';
import { registerYaml } from './yaml.js';

export interface AppDeps {
  config: Pick<Config, 'logLevel' | 'bodyLimit'> & HookConfig;
  reader: VaultReader;
  vaultHealth?: () => Promise<unknown>;
  now?: () => Date;
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? loggerOptions(deps.config.logLevel),
    bodyLimit: deps.config.bodyLimit,
    // Metacontroller sends one request at a time per parent; a slow Vault must not pile up sockets forever.
    requestTimeout: 30_000,
  });
  registerYaml(app);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown; validationContext?: string }, req, reply) => {
    if (err instanceof HookError) {
      req.log.warn({ code: err.code, message: err.message }, 'rejected hook request');
      return reply.code(err.statusCode).send({ code: err.code, message: err.message });
    }
    if (err.validation) {
      return reply.code(400).send({ code: 'INVALID_REQUEST', message: `not a Metacontroller hook request: ${err.validationContext ?? 'body'}${err.message.replace(/^(body|querystring)/, '')}` });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = err.statusCode === 413 ? 'BODY_TOO_LARGE' : err.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_REQUEST';
      return reply.code(err.statusCode).send({ code, message: err.message });
    }
    req.log.error({ err }, 'hook failed');
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error in the hook; see its log' });
  });

  await app.register(healthRoutes, { vaultHealth: deps.vaultHealth });
  await app.register(hookRoutes, { reader: deps.reader, hookConfig: deps.config, now: deps.now ?? (() => new Date()) });
  return app;
}
