// /sync and /finalize: the request is checked, reconciled (src/hook/reconcile.ts does
// everything a sync or a finalize does) and answered; what is here is HTTP: the log line,
// the metrics and the reuse of an unchanged answer (../answer-reuse.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { HookRequestSchema, HookResponseSchema } from '../../api/hook-schemas.js';
import { describeFieldErrors, validateForFinalize, validateVaultApp } from '../../api/validate.js';
import { HookError } from '../../errors/catalog.js';
import type { VaultEdge } from '../../hook/contract.js';
import { reconcile, type UnrecordedRevocation } from '../../hook/reconcile.js';
import type { HookRequest, SyncConfig, SyncRequest, SyncResponse } from '../../hook/types.js';
import type { SyncObserver } from '../../metrics/metrics.js';
import { answerReuse, type UnchangedAnswers } from '../answer-reuse.js';
import { jsonBodyParser } from '../json-body.js';
import { send } from '../yaml.js';

interface HookRouteOptions {
  reader: VaultEdge;
  hookConfig: SyncConfig;
  now: () => Date;
  observer?: SyncObserver;
  answers?: UnchangedAnswers;
}

/** What the metrics count of a sync: its outcome and the reasons it was not healthy. */
interface SyncOutcome {
  outcome: string;
  errors: string[];
}

/** ready / not_ready from the Ready condition; finalized / finalizing for finalize answers. */
function outcomeOf(res: SyncResponse): SyncOutcome {
  const errors = (res.status.conditions ?? [])
    .filter((c) => c.status === 'False' && c.type !== 'Ready' && c.type !== 'DeploymentReady' && c.type !== 'StatefulSetReady' && c.type !== 'MonitoringReady')
    .map((c) => c.reason);
  if (res.finalized !== undefined) return { outcome: res.finalized ? 'finalized' : 'finalizing', errors };
  return { outcome: res.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? 'ready' : 'not_ready', errors };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The outcome of /sync or /finalize, for the metrics (onSend). */
    syncOutcome: SyncOutcome | null;
    /** Ends the sync's duration timer with its outcome. */
    endSync: ((outcome: string) => void) | null;
    /** The sync's log line, written once the status of the answer (200 or 304) is known. */
    syncLine: Record<string, unknown> | null;
  }
}

/**
 * The request with its parent checked against the VaultApp schema (`related` is not used):
 * in full for a sync; for a finalize, the fields finalize reads (../../api/validate.ts).
 */
function parseRequest(body: HookRequest, finalizing = body.finalizing === true): SyncRequest {
  const { related: _unused, ...request } = body;
  const { name, namespace } = body.parent.metadata;
  const parsed = finalizing ? validateForFinalize(body.parent) : validateVaultApp(body.parent);
  if (!parsed.ok) throw new HookError('INVALID_PARENT', `VaultApp ${namespace}/${name} is invalid: ${describeFieldErrors(parsed.errors)}`);
  return { ...request, parent: parsed.value };
}

const vaultappOf = (request: SyncRequest): string => `${request.parent.metadata.namespace}/${request.parent.metadata.name}`;

function summary(res: SyncResponse): Record<string, unknown> {
  return {
    conditions: Object.fromEntries((res.status.conditions ?? []).map((c) => [c.type, c.status === 'True' ? 'True' : c.reason])),
    children: res.children.map((c) => `${c.kind}/${c.metadata.name}`),
    resyncAfterSeconds: res.resyncAfterSeconds,
    finalized: res.finalized,
  };
}

export const hookRoutes: FastifyPluginAsyncTypebox<HookRouteOptions> = async (app, opts) => {
  const schema = { body: HookRequestSchema, response: { 200: HookResponseSchema } };
  app.decorateRequest('syncOutcome', null);
  app.decorateRequest('endSync', null);
  app.decorateRequest('syncLine', null);
  // One line per sync: at info when the answer is news to Metacontroller (a 200) or the
  // VaultApp is not ready; a ready VaultApp's unchanged answer (304), the steady state
  // of every resync, at debug, so that the log at rest is not one line per VaultApp per minute.
  app.addHook('onResponse', async (req, reply) => {
    const line = req.syncLine;
    if (!line) return;
    if (reply.statusCode === 304 && req.syncOutcome?.outcome === 'ready') req.log.debug(line, 'synced');
    else req.log.info(line, 'synced');
  });

  // JSON bodies (../json-body.ts), what the hook never reads left out. 'remove', not 'error':
  // a member naming a prototype is left out, not a reason to refuse the body, or a Secret
  // holding such a key would freeze its VaultApp for good (../prototype-members.ts).
  const parseJson = jsonBodyParser(app.getDefaultJsonParser('remove', 'remove'), { withoutUnreadParts: true });
  const answers = opts.answers;
  if (answers) {
    await app.register(answerReuse, {
      answers,
      now: opts.now,
      parseJson,
      onReused: (req, hit) => {
        req.syncOutcome = { outcome: hit.outcome, errors: hit.errors };
        opts.observer?.unchanged();
        req.syncLine = { vaultapp: hit.vaultapp, unchanged: true };
      },
    });
  } else {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => parseJson(req, body as string, done));
  }

  if (opts.observer) {
    const observer = opts.observer;
    app.addHook('onRequest', async (req) => {
      req.endSync = observer.start();
    });
    app.addHook('onSend', async (req, reply, payload) => {
      const end = req.endSync;
      if (!end) return payload;
      const res = req.syncOutcome;
      if (res) {
        for (const reason of res.errors) observer.error(reason);
        end(res.outcome);
      } else {
        observer.error(`http_${reply.statusCode}`);
        end('rejected');
      }
      return payload;
    });
  }

  async function answer(req: FastifyRequest, reply: FastifyReply, request: SyncRequest): Promise<FastifyReply> {
    const vaultapp = vaultappOf(request);
    const { response, stableUntil, unrecorded } = await reconcile(request, opts.reader, opts.now, opts.hookConfig);
    if (unrecorded) logUnrecorded(req.log.child({ vaultapp }), unrecorded);
    req.syncOutcome = outcomeOf(response);
    if (request.finalizing) {
      req.log.info({ vaultapp, ...summary(response) }, 'finalized');
      return send(req, reply, response);
    }
    if (stableUntil !== undefined && req.answerDigest) req.reusableAnswer = { until: stableUntil, vaultapp, ...req.syncOutcome };
    req.syncLine = { vaultapp, ...summary(response) };
    return send(req, reply, response);
  }

  // Metacontroller sends either /finalize, or /sync with finalizing set.
  app.post('/sync', { schema }, async (req, reply) => answer(req, reply, parseRequest(req.body)));
  app.post('/finalize', { schema }, async (req, reply) => answer(req, reply, { ...parseRequest(req.body, true), finalizing: true }));
};

function logUnrecorded(log: FastifyBaseLogger, { paths, failures, error }: UnrecordedRevocation): void {
  if (error !== undefined) log.warn({ paths, err: error }, 'credentials issued in a failed sync could not be revoked; they expire with their TTL');
  else if (failures.length > 0) log.warn({ paths, failures }, 'credentials issued in a failed sync could not all be revoked; they expire with their TTL');
  else log.info({ paths }, 'revoked credentials issued in a sync that could not record them');
}
