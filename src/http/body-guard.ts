// Refuses hook bodies nested deeper than any Kubernetes object is. The parsers
// accept thousands of levels, but structuredClone (the Deployment builder) and
// JSON.stringify (the answer) recurse and run out of stack near two thousand:
// without this a VaultApp with a deeply nested annotation in its deploymentSpec
// (the CRD keeps unknown fields there) made every one of its syncs a 500.
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Real objects nest some 15 to 30 levels (an affinity term inside a pod template inside a VaultApp). */
export const MAX_BODY_DEPTH = 100;

/** Where `body` first goes deeper than `max` levels (as a dotted path), or undefined. Iterative: the walk itself must not recurse. */
export function tooDeepAt(body: unknown, max = MAX_BODY_DEPTH): string | undefined {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: body, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= max) return path || '(root)';
    const isArray = Array.isArray(value);
    for (const key of Object.keys(value)) {
      // Only the first levels of the path are worth showing.
      const next = depth < 12 ? `${path}${isArray ? `[${key}]` : `${path ? '.' : ''}${key}`}` : path.endsWith('…') ? path : `${path}…`;
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: next });
    }
  }
  return undefined;
}

export async function refuseDeepBodies(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const at = tooDeepAt(req.body);
  if (at !== undefined) {
    await reply.code(400).send({ code: 'INVALID_REQUEST', message: `not a Metacontroller hook request: the body is nested deeper than ${MAX_BODY_DEPTH} levels (at ${at.slice(0, 300)})` });
  }
}
