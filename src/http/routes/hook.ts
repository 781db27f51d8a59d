import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HookRequestSchema, HookResponseSchema } from '../../api/hook-schemas.js';
import { describeFieldErrors, validateVaultApp } from '../../api/validate.js';
import { HookError } from '../../errors/catalog.js';
import { finalize, leasesToRevoke } from '../../hook/finalize.js';
import { planVaultWork } from '../../hook/plan.js';
import { sync } from '../../hook/sync.js';
import { unrecordedLeases } from '../../hook/unrecorded-leases.js';
import type { UnsignedLeaseRecord } from '../../hook/leases.js';
import type { SyncConfig, HookRequest, SyncRequest, SyncResponse } from '../../hook/types.js';
import type { VaultReader } from '../../vault/reader.js';
import type { SyncObserver } from '../../metrics/metrics.js';
import { send } from '../yaml.js';

interface HookRouteOptions { reader: VaultReader; hookConfig: SyncConfig; now: () => Date; observer?: SyncObserver }

/** ready / not_ready from the Ready condition; finalized / finalizing for finalize answers. */
function outcomeOf(res: SyncResponse): string {
  if (res.finalized !== undefined) return res.finalized ? 'finalized' : 'finalizing';
  return res.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? 'ready' : 'not_ready';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The answer of /sync or /finalize, for the metrics (onSend). */
    syncResponse: SyncResponse | null;
    /** Ends the sync's duration timer with its outcome. */
    endSync: ((outcome: string) => void) | null;
  }
}

/** The request with its parent checked in full against the VaultApp schema (`related` is not used). */
function parseRequest(body: HookRequest): SyncRequest {
  const { related: _unused, ...request } = body;
  const { name, namespace } = body.parent.metadata;
  const parsed = validateVaultApp(body.parent);
  if (!parsed.ok) throw new HookError('INVALID_PARENT', `VaultApp ${namespace}/${name} is invalid: ${describeFieldErrors(parsed.errors)}`);
  return { ...request, parent: parsed.value };
}

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
  app.decorateRequest('syncResponse', null);
  app.decorateRequest('endSync', null);

  if (opts.observer) {
    const observer = opts.observer;
    app.addHook('onRequest', async (req) => {
      req.endSync = observer.start();
    });
    app.addHook('onSend', async (req, reply, payload) => {
      const end = req.endSync;
      if (!end) return payload;
      const res = req.syncResponse;
      if (res) {
        for (const c of res.status.conditions ?? []) if (c.status === 'False' && c.type !== 'Ready' && c.type !== 'DeploymentReady' && c.type !== 'StatefulSetReady' && c.type !== 'MonitoringReady') observer.error(c.reason);
        end(outcomeOf(res));
      } else {
        observer.error(`http_${reply.statusCode}`);
        end('rejected');
      }
      return payload;
    });
  }

  async function runFinalize(request: SyncRequest): Promise<SyncResponse> {
    const now = opts.now();
    const alive = leasesToRevoke(request, now, opts.hookConfig.hmacKey);
    const revocations = alive.length > 0 ? await opts.reader.revoke(request.parent, alive) : [];
    return finalize(request, revocations, opts.now(), opts.hookConfig);
  }

  // Best effort: the answer goes out whatever happens here; what is not revoked expires with its TTL.
  async function revokeUnrecorded(request: SyncRequest, records: UnsignedLeaseRecord[], log: FastifyBaseLogger): Promise<void> {
    if (records.length === 0) return;
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

  app.post('/sync', { schema }, async (req, reply) => {
    const request = parseRequest(req.body);
    const log = req.log.child({ vaultapp: `${request.parent.metadata.namespace}/${request.parent.metadata.name}` });
    if (request.finalizing) {
      const res = await runFinalize(request);
      req.syncResponse = res;
      log.info(summary(res), 'finalized');
      return send(req, reply, res);
    }
    const now = opts.now();
    const material = await opts.reader.material(request.parent, planVaultWork(request, now, opts.hookConfig));
    const res = sync(request, material, now, opts.hookConfig);
    await revokeUnrecorded(request, unrecordedLeases(material, res, now), log);
    req.syncResponse = res;
    log.info(summary(res), 'synced');
    return send(req, reply, res);
  });

  app.post('/finalize', { schema }, async (req, reply) => {
    const request = parseRequest(req.body);
    const res = await runFinalize(request);
    req.syncResponse = res;
    req.log.info({ vaultapp: `${request.parent.metadata.namespace}/${request.parent.metadata.name}`, ...summary(res) }, 'finalized');
    return send(req, reply, res);
  });
};
