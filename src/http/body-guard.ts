// Refuses hook bodies nested deeper than any Kubernetes object is. The parsers
// accept thousands of levels, but structuredClone (the Deployment builder) and
// JSON.stringify (the answer) recurse and run out of stack near two thousand:
// without this a VaultApp with a deeply nested annotation in its deploymentSpec
// (the CRD keeps unknown fields there) made every one of its syncs a 500.
import type { FastifyRequest } from 'fastify';
import { HookError } from '../errors/catalog.js';

/** Real objects nest some 15 to 30 levels (an affinity term inside a pod template inside a VaultApp). */
export const MAX_BODY_DEPTH = 100;

// A walk step keeps its parent and key, not its path: building a path string for every
// node cost 150 ms on a body of 300,000 small objects; only the refused one needs its path.
interface Step {
  value: unknown;
  depth: number;
  key: string;
  inArray: boolean;
  parent: Step | undefined;
}

// Only the first levels of the path are worth showing.
const SHOWN_LEVELS = 12;

function pathOf(step: Step): string {
  const keys: Step[] = [];
  for (let s: Step | undefined = step; s?.parent; s = s.parent) keys.push(s);
  keys.reverse();
  const shown = keys
    .slice(0, SHOWN_LEVELS)
    .map((s, i) => (s.inArray ? `[${s.key}]` : `${i > 0 ? '.' : ''}${s.key}`))
    .join('');
  return keys.length > SHOWN_LEVELS ? `${shown}…` : shown;
}

/** Where `body` first goes deeper than `max` levels (as a dotted path), or undefined. Iterative: the walk itself must not recurse. */
export function tooDeepAt(body: unknown, max = MAX_BODY_DEPTH): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const stack: Step[] = [{ value: body, depth: 0, key: '', inArray: false, parent: undefined }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const { value, depth } = step;
    if (depth >= max) return pathOf(step) || '(root)';
    // Scalars are never too deep: only objects and lists are stacked.
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const child: unknown = value[i];
        if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1, key: String(i), inArray: true, parent: step });
      }
    } else {
      for (const key in value as object) {
        if (!Object.hasOwn(value as object, key)) continue;
        const child = (value as Record<string, unknown>)[key];
        if (child !== null && typeof child === 'object') stack.push({ value: child, depth: depth + 1, key, inArray: false, parent: step });
      }
    }
  }
  return undefined;
}

export async function refuseDeepBodies(req: FastifyRequest): Promise<void> {
  const at = tooDeepAt(req.body);
  if (at !== undefined) {
    throw new HookError(
      'INVALID_REQUEST',
      `not a Metacontroller hook request: the body is nested deeper than ${MAX_BODY_DEPTH} levels (at ${at.slice(0, 300)})`,
    );
  }
}
