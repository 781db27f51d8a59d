import type { FastifyPluginAsync } from 'fastify';

// Readiness does not depend on Vault: while Vault is down the hook must still
// answer syncs (keeping data and reporting the outage in status). The Vault
// state is shown in the body for whoever curls it.
export const healthRoutes: FastifyPluginAsync<{ vaultHealth?: () => Promise<unknown> }> = async (app, opts) => {
  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (closing) return reply.code(503).send({ status: 'shutting down' });
    return { status: 'ready', ...(opts.vaultHealth ? { vault: await opts.vaultHealth() } : {}) };
  });
};
