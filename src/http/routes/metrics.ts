import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';

// Open like the health endpoints: the NetworkPolicy decides who may scrape.
export const metricsRoute: FastifyPluginAsync<{ registry: Registry }> = async (app, opts) => {
  app.get('/metrics', async (_req, reply) => reply.type(opts.registry.contentType).send(await opts.registry.metrics()));
};
