import type { FastifyPluginAsync } from 'fastify';

// Readiness does not depend on Vault: while Vault is down the hook must still
// answer syncs (keeping data and reporting the outage in status). The Vault
// state is shown in the body for whoever curls it, as last seen by a check that
// runs in the background: a probe that waited on a hanging Vault would outlast the
// kubelet's timeout, and every replica would go NotReady exactly when Vault hangs.
export const healthRoutes: FastifyPluginAsync<{ vaultHealth?: () => Promise<unknown> }> = async (app, opts) => {
  let closing = false;
  app.addHook('onClose', async () => {
    closing = true;
  });
  const vault = opts.vaultHealth ? lastVaultHealth(opts.vaultHealth) : undefined;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (closing) return reply.code(503).send({ status: 'shutting down' });
    return { status: 'ready', ...(vault ? { vault: vault() } : {}) };
  });
};

interface VaultHealthTiming {
  /** A probe finding the last check older than this starts another one. */
  maxAgeMs: number;
  /** A check with no answer by then is reported as such, and the next probe may start another. */
  timeoutMs: number;
}

const defaultTiming: VaultHealthTiming = { maxAgeMs: 10_000, timeoutMs: 5_000 };

/**
 * What the last Vault health check said, at once. A probe finding it stale starts
 * a new check and does not wait for it; one check at a time, so a hanging Vault
 * costs one open request, not one per probe.
 */
function lastVaultHealth(check: () => Promise<unknown>, timing: VaultHealthTiming = defaultTiming, now: () => number = Date.now): () => unknown {
  let last: unknown = { state: 'not checked yet' };
  let checkedAt = Number.NEGATIVE_INFINITY;
  let running = false;
  const seen = (result: unknown, started: number): void => {
    last = { ...(typeof result === 'object' && result !== null ? result : { result }), checkedAt: new Date(started).toISOString() };
  };
  const run = (): void => {
    running = true;
    const started = now();
    // Said when it happens; the check itself ends with the Vault client's own timeout.
    const timer = setTimeout(() => seen({ state: `no answer within ${timing.timeoutMs} ms` }, started), timing.timeoutMs);
    timer.unref();
    check()
      .then(
        (result) => seen(result, started),
        () => seen({ state: 'the check failed' }, started),
      )
      .finally(() => {
        clearTimeout(timer);
        checkedAt = started;
        running = false;
      });
  };
  return () => {
    if (!running && now() - checkedAt >= timing.maxAgeMs) run();
    return last;
  };
}
