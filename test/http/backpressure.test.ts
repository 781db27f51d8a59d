// Back-pressure: syncs beyond the bounded queue in front of Vault get 429 with
// Retry-After at once (Metacontroller honours it), and the metric says so.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../src/metrics/metrics.js';
import { BoundedQueue, QueueFullError } from '../../src/vault/bounded-queue.js';
import type { VaultReader } from '../../src/vault/reader.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, recordedReader } from '../support/build-app.js';

describe('BoundedQueue', () => {
  it('runs up to its concurrency, queues up to its length, refuses beyond', async () => {
    const q = new BoundedQueue(2, 1);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const running = [q.run(() => gate), q.run(() => gate), q.run(() => gate)];
    await assert.rejects(
      q.run(async () => 1),
      (e: unknown) => e instanceof QueueFullError && e.retryAfterSeconds >= 1,
    );
    assert.equal(q.depth, 1);
    release();
    await Promise.all(running);
    assert.equal(await q.run(async () => 'free again'), 'free again');
    assert.equal(q.rejected, 1);
  });
});

describe('POST /sync under back-pressure', () => {
  it('answers 429 with Retry-After when the queue is full, and counts it', async (t) => {
    const queue = new BoundedQueue(1, 1);
    const base = recordedReader({
      auth: { ok: true },
      reads: {
        'kv/data/billing/database': { ok: true, engine: 'kv2', data: { url: 'u' } },
        'kv/data/billing/provider-x': { ok: true, engine: 'kv2', data: { key: 'k' } },
      },
    });
    const slow: VaultReader = {
      ...base,
      material: (app, plan) =>
        queue.run(async () => {
          await new Promise((r) => setTimeout(r, 200));
          return base.material(app, plan);
        }),
    };
    const metrics = createMetrics({
      requests: new Map(),
      tokens: { logins: 0, renewals: 0, jwtRequests: 0, cacheHits: 0, cacheMisses: 0 },
      reader: base.stats,
      queue,
    });
    const app = await build(t, slow, {}, { metrics });
    const send = () => app.inject({ method: 'POST', url: '/sync', payload: request(loadExample()) });
    const [a, b, c] = await Promise.all([send(), send(), send()]);
    assert.deepStrictEqual([a.statusCode, b.statusCode, c.statusCode].sort(), [200, 200, 429]);
    const refused = [a, b, c].find((r) => r.statusCode === 429)!;
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(refused.json().code, 'OVERLOADED');
    const text = (await app.inject('/metrics')).body;
    assert.match(text, /^vaultapp_vault_queue_rejected_total 1$/m);
    assert.match(text, /^vaultapp_sync_errors_total\{reason="http_429"\} 1$/m);
  });
});
