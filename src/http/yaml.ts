// YAML in and out, for people who debug the hook with curl and kubectl output.
import { Negotiator } from '@fastify/accept-negotiator';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parse, stringify } from 'yaml';
import { HookError } from '../errors/catalog.js';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];
const negotiator = new Negotiator({ supportedValues: ['application/json', ...YAML_TYPES] });

export function registerYaml(app: FastifyInstance): void {
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    try {
      // The default alias limit keeps "billion laughs" documents out.
      done(null, parse(body as string, { maxAliasCount: 100 }));
    } catch (err) {
      done(new HookError('INVALID_REQUEST', `cannot parse the YAML body: ${(err as Error).message.split('\n')[0]}`), undefined);
    }
  });
}

export function wantsYaml(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && YAML_TYPES.includes(negotiator.negotiate(accept) ?? '');
}

export function send(req: FastifyRequest, reply: FastifyReply, payload: unknown): FastifyReply {
  if (wantsYaml(req)) return reply.type('application/yaml').send(stringify(payload, { lineWidth: 0 }));
  return reply.send(payload);
}
