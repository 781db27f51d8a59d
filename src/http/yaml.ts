// YAML in and out, for people who debug the hook with curl and kubectl output.
import { Negotiator } from '@fastify/accept-negotiator';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import { HookError } from '../errors/catalog.js';
import { dropPrototypeMembers } from './prototype-members.js';
import { parseBoundedYaml } from './yaml-bounds.js';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];
const negotiator = new Negotiator({ supportedValues: ['application/json', ...YAML_TYPES] });

/**
 * YAML bodies are for people with curl (Metacontroller sends JSON): they get their own,
 * smaller limit, in bytes as sent and as expanded through aliases, and a bounded parse
 * (./yaml-bounds.ts). A body over the limit is refused before it is read (413). Members
 * naming a prototype are left out, as the JSON parser leaves them out (./prototype-members.ts).
 */
export function registerYaml(app: FastifyInstance, bodyLimit: number): void {
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const parsed = parseBoundedYaml(body as string, bodyLimit);
    if (parsed.ok) {
      dropPrototypeMembers(parsed.value);
      done(null, parsed.value);
    } else done(new HookError(parsed.tooLarge ? 'BODY_TOO_LARGE' : 'INVALID_REQUEST', `cannot parse the YAML body: ${parsed.problem}`), undefined);
  });
}

export function isYamlBody(req: FastifyRequest): boolean {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return type !== undefined && YAML_TYPES.includes(type);
}

export function wantsYaml(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && YAML_TYPES.includes(negotiator.negotiate(accept) ?? '');
}

export function send(req: FastifyRequest, reply: FastifyReply, payload: unknown): FastifyReply {
  if (wantsYaml(req)) return reply.type('application/yaml').send(stringify(payload, { lineWidth: 0 }));
  return reply.send(payload);
}
