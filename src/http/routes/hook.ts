import type { UnsignedLeaseRecord } from '../../hook/contract.js';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HookRequestSchema, HookResponseSchema } from '../../api/hook-schemas.js';
import { describeFieldErrors, validateForFinalize, validateVaultApp } from '../../api/validate.js';
import { HookError } from '../../errors/catalog.js';
import { finalize, leasesToRevoke } from '../../hook/finalize.js';
import { answerStableUntil } from '../../hook/carried-state/answer-stability.js';
import { observeManagedSecret } from '../../hook/carried-state/observed-secret.js';
import { planVaultWork } from '../../hook/plan.js';
import { sync } from '../../hook/sync.js';
import { unrecordedLeases } from '../../hook/unrecorded-leases.js';
import type { SyncConfig, HookRequest, SyncRequest, SyncResponse } from '../../hook/types.js';
import type { VaultReader } from '../../vault/reader.js';
import type { SyncObserver } from '../../metrics/metrics.js';
import { jsonBodyParser } from '../json-body.js';
import { UnchangedAnswers, type UnchangedAnswer } from '../unchanged-answers.js';
import { send, wantsYaml } from '../yaml.js';

interface HookRouteOptions {
  reader: VaultReader;
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
    /** SHA-256 of this /sync request (./unchanged-answers.ts). */
    answerDigest: string | null;
    /** The earlier answer this request gets as a 304, without a sync. */
    unchangedAnswer: UnchangedAnswer | null;
    /** This sync's answer may be given again to the same request until then (the etag is added on sending). */
    reusableAnswer: Omit<UnchangedAnswer, 'etag'> | null;
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
  app.decorateRequest('answerDigest', null);
  app.decorateRequest('unchangedAnswer', null);
  app.decorateRequest('reusableAnswer', null);
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
  const answers = opts.answers;
  parseJsonBodies(app, answers, opts.now);
  if (answers) rememberAnswers(app, answers);

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

  // /finalize, and /sync with finalizing set: Metacontroller sends either.
  async function answerFinalize(req: FastifyRequest, reply: FastifyReply, request: SyncRequest): Promise<FastifyReply> {
    const now = opts.now();
    const alive = leasesToRevoke(request, now, opts.hookConfig.hmacKey);
    const revocations = alive.length > 0 ? await opts.reader.revoke(request.parent, alive) : [];
    const res = finalize(request, revocations, opts.now(), opts.hookConfig);
    req.syncOutcome = outcomeOf(res);
    req.log.info({ vaultapp: vaultappOf(request), ...summary(res) }, 'finalized');
    return send(req, reply, res);
  }

  // Best effort: the answer goes out whatever happens here; what is not revoked expires with its TTL.
  async function revokeUnrecorded(request: SyncRequest, records: UnsignedLeaseRecord[], reqLog: FastifyBaseLogger, vaultapp: string): Promise<void> {
    if (records.length === 0) return;
    const log = reqLog.child({ vaultapp });
    const paths = records.map((r) => r.path);
    try {
      const outcomes = await opts.reader.revoke(request.parent, records);
      const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.message]));
      if (failures.length > 0) log.warn({ paths, failures }, 'credentials issued in a failed sync could not all be revoked; they expire with their TTL');
      else log.info({ paths }, 'revoked credentials issued in a sync that could not record them');
    } catch (err) {
      log.warn({ paths, err }, 'credentials issued in a failed sync could not be revoked; they expire with their TTL');
    }
  }

  // A request answered before, whose answer the client holds and which still stands: 304 at once.
  const answerUnchanged = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const hit = req.unchangedAnswer;
    if (!hit) return;
    req.syncOutcome = { outcome: hit.outcome, errors: hit.errors };
    opts.observer?.unchanged();
    req.syncLine = { vaultapp: hit.vaultapp, unchanged: true };
    await reply.header('etag', hit.etag).code(304).send();
  };

  app.post('/sync', { schema, preValidation: answerUnchanged }, async (req, reply) => {
    const request = parseRequest(req.body);
    if (request.finalizing) return answerFinalize(req, reply, request);
    const vaultapp = vaultappOf(request);
    const now = opts.now();
    // The observed Secret's state is checked once, for the plan and for the answer.
    const observed = observeManagedSecret(request, opts.hookConfig.hmacKey);
    const plan = planVaultWork(request, now, opts.hookConfig, observed);
    const material = await opts.reader.material(request.parent, plan);
    const res = sync(request, material, now, opts.hookConfig, observed);
    await revokeUnrecorded(request, unrecordedLeases(material, res, now), req.log, vaultapp);
    req.syncOutcome = outcomeOf(res);
    const until = answers && req.answerDigest ? answerStableUntil(request, plan, res, opts.hookConfig, observed) : undefined;
    if (until !== undefined && until > now.getTime()) req.reusableAnswer = { until, vaultapp, ...req.syncOutcome };
    req.syncLine = { vaultapp, ...summary(res) };
    return send(req, reply, res);
  });

  app.post('/finalize', { schema }, async (req, reply) => answerFinalize(req, reply, parseRequest(req.body, true)));
};

/**
 * JSON bodies (./json-body.ts), what the hook never reads left out. With `answers`,
 * /sync's bodies are digested before they are parsed: a request answered before
 * (./unchanged-answers.ts) is not parsed at all.
 */
function parseJsonBodies(app: FastifyInstance, answers: UnchangedAnswers | undefined, now: () => Date): void {
  // 'remove', not 'error': a member naming a prototype is left out, not a reason to refuse the
  // body, or a Secret holding such a key would freeze its VaultApp for good (../prototype-members.ts).
  const parseJson = jsonBodyParser(app.getDefaultJsonParser('remove', 'remove'), { withoutUnreadParts: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (answers && req.routeOptions.url === '/sync') {
      const digest = UnchangedAnswers.digest('/sync', wantsYaml(req) ? 'yaml' : 'json', body as string);
      req.answerDigest = digest;
      const hit = answers.lookup(digest, req.headers['if-none-match'], now().getTime());
      if (hit) {
        req.unchangedAnswer = hit;
        // Not read: the route answers before validation (answerUnchanged).
        done(null, {});
        return;
      }
    }
    parseJson(req, body as string, done);
  });
}

/** Remembers an answer that may be given again, with the etag it is sent under. */
function rememberAnswers(app: FastifyInstance, answers: UnchangedAnswers): void {
  // After the etag plugin's onSend (registered outside): the etag of what is sent is known.
  app.addHook('onSend', async (req, reply, payload) => {
    const digest = req.answerDigest;
    if (digest === null || req.unchangedAnswer) return payload;
    const etag = reply.getHeader('etag');
    if (req.reusableAnswer && (reply.statusCode === 200 || reply.statusCode === 304) && typeof etag === 'string')
      answers.remember(digest, { ...req.reusableAnswer, etag });
    else answers.forget(digest);
    return payload;
  });
}
