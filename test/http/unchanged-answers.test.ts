// The same /sync request again, with the etag of the answer the client holds: 304
// without parsing or syncing, while the answer stands (src/http/answer-reuse.ts).
// Anything else (another byte, another etag, no etag, time past the bound, /finalize,
// YAML) is synced in full. The reader counts syncs that reached the Vault edge.
import type { VaultPlan, PathRead, VaultMaterial } from '../../src/hook/contract.js';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { VaultApp } from '../../src/api/vaultapp-schema.js';
import { UnchangedAnswers } from '../../src/http/answer-reuse.js';
import { build } from '../support/build-app.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { VaultReader } from '../../src/vault/reader.js';
import { loadExample } from '../fixtures/requests.js';
import { MetacontrollerDriver } from '../support/metacontroller-driver.js';
import { tempDir } from '../support/tls-certs.js';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const config = {
  hmacKey: 'test-hmac-key-0123456789',
  resyncSeconds: 60,
  refreshSeconds: 300,
  errorBackoffMinSeconds: 5,
  logLevel: 'silent',
  bodyLimit: 1024 * 1024,
};

/** The Vault edge for a plan, answering recorded values; counts the syncs that reached it. */
function planReader(): VaultReader & { calls: number } {
  const reader = {
    calls: 0,
    stats: { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 },
    async revoke() {
      reader.calls++;
      return [];
    },
    async material(_app: VaultApp, plan: VaultPlan): Promise<VaultMaterial> {
      reader.calls++;
      const reads: Record<string, PathRead> = {};
      for (const [path, p] of Object.entries(plan))
        reads[path] = p.action === 'keep' ? { ok: true, unchanged: true } : { ok: true, engine: 'kv2', data: { url: 'postgres://db', key: 'k' }, version: 1 };
      return { auth: { ok: true }, reads, ...(Object.values(plan).every((p) => p.action === 'keep') ? { vaultSkipped: true } : {}) };
    },
  };
  return reader;
}

interface Setup {
  app: FastifyInstance;
  reader: ReturnType<typeof planReader>;
  clock: { ms: number };
  mc: MetacontrollerDriver;
  answers: UnchangedAnswers;
  lines: Record<string, unknown>[];
}

async function setup(t: TestContext, answers = new UnchangedAnswers()): Promise<Setup> {
  const clock = { ms: T0 };
  const reader = planReader();
  const lines: Record<string, unknown>[] = [];
  const stream = {
    write: (s: string) => {
      lines.push(JSON.parse(s) as Record<string, unknown>);
    },
  };
  const { default: pino } = await import('pino');
  const app = await build(t, reader, config, {
    now: () => new Date(clock.ms),
    unchangedAnswers: answers,
    metrics: createMetrics(undefined),
    loggerInstance: pino({ level: 'debug' }, stream),
  });
  const mc = new MetacontrollerDriver(app, loadExample(), undefined, { now: () => new Date(clock.ms) });
  await mc.settle(20);
  return { app, reader, clock, mc, answers, lines };
}

describe('answers given again unchanged', () => {
  it('a resync of an unchanged VaultApp is answered 304 without a sync, logged and counted', async (t) => {
    const s = await setup(t);
    s.clock.ms += 60_000;
    await s.mc.sync(); // the first resync is synced; its answer is remembered
    const calls = s.reader.calls;
    for (let i = 0; i < 2; i++) {
      s.clock.ms += 60_000;
      const before = s.mc.counts.notModified;
      const res = await s.mc.sync();
      assert.equal(s.mc.counts.notModified, before + 1, 'answered 304');
      assert.equal(res.resyncAfterSeconds, 60);
    }
    assert.equal(s.reader.calls, calls, 'no sync reached the Vault edge');
    assert.ok(s.answers.hits >= 2);
    const line = s.lines.filter((l) => l.msg === 'synced').at(-1)!;
    assert.equal(line.unchanged, true);
    assert.equal(line.vaultapp, 'default/billing-service');
    assert.equal(line.level, 20, "a ready VaultApp's unchanged answer is logged at debug");
    assert.equal(
      s.lines.filter((l) => l.msg === 'synced' && l.level === 30).length,
      s.mc.counts.syncs - s.mc.counts.notModified,
      'every answer that was news, at info',
    );
    const metrics = (await s.app.inject('/metrics')).body;
    assert.match(metrics, /^vaultapp_syncs_answered_unchanged_total [1-9]/m);
    assert.match(metrics, /^vaultapp_sync_duration_seconds_count\{outcome="ready"\} [1-9]/m);
  });

  it('synced in full again once the refresh is one resync away, and reads Vault when it is due', async (t) => {
    const s = await setup(t);
    for (let i = 0; i < 3; i++) {
      s.clock.ms += 60_000;
      await s.mc.sync();
    }
    const calls = s.reader.calls;
    s.clock.ms = T0 + 241_000; // read at T0, refresh 300 s, resync 60 s: the answer counts down from here
    const res = await s.mc.sync();
    assert.equal(s.reader.calls, calls + 1, 'synced, not answered from memory');
    assert.equal(res.resyncAfterSeconds, 59);
  });

  it('another byte in the request, another etag, or none: synced in full', async (t) => {
    const s = await setup(t);
    s.clock.ms += 60_000;
    await s.mc.sync();
    const body = s.mc.body(false);
    const etag = (await s.app.inject({ method: 'POST', url: '/sync', payload: body, headers: { 'content-type': 'application/json' } })).headers.etag as string;
    const post = (payload: string, headers: Record<string, string>) =>
      s.app.inject({ method: 'POST', url: '/sync', payload, headers: { 'content-type': 'application/json', ...headers } });

    let calls = s.reader.calls;
    assert.equal((await post(body, { 'if-none-match': etag })).statusCode, 304);
    assert.equal(s.reader.calls, calls, 'the same request with the etag: from memory');

    const oneByte = body.replace('"replicas":3', '"replicas":4');
    assert.notEqual(oneByte, body);
    for (const [what, payload, headers] of [
      ['no etag', body, {}],
      ['another etag', body, { 'if-none-match': '"other"' }],
      ['another body', oneByte, { 'if-none-match': etag }],
    ] as [string, string, Record<string, string>][]) {
      calls = s.reader.calls;
      const res = await post(payload, headers);
      assert.equal(s.reader.calls, calls + 1, `${what}: synced`);
      assert.ok(res.statusCode === 200 || res.statusCode === 304, `${what}: ${res.statusCode}`);
    }
    calls = s.reader.calls;
    assert.equal((await post(body, { accept: 'application/yaml', 'if-none-match': etag })).statusCode, 200, 'YAML: another representation, another etag');
    assert.equal(s.reader.calls, calls + 1);
  });

  it('/finalize is never answered from memory', async (t) => {
    const s = await setup(t);
    const body = s.mc.body(false).replace('"finalizing":false', '"finalizing":true');
    const first = await s.app.inject({ method: 'POST', url: '/finalize', payload: body, headers: { 'content-type': 'application/json' } });
    const calls = s.reader.calls;
    await s.app.inject({
      method: 'POST',
      url: '/finalize',
      payload: body,
      headers: { 'content-type': 'application/json', 'if-none-match': first.headers.etag as string },
    });
    assert.equal(s.answers.hits, 0);
    assert.ok(s.reader.calls >= calls, 'finalize ran');
  });

  it('a hostile body (prototype members, left out by the parser; then no valid parent) is refused and never remembered', async (t) => {
    const s = await setup(t);
    const size = s.answers.size;
    const res = await s.app.inject({
      method: 'POST',
      url: '/sync',
      payload: '{"__proto__":{"polluted":1},"parent":{}}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 400);
    assert.equal(s.answers.size, size);
  });

  it('the store keeps at most its bound, dropping the least recently used', () => {
    const answers = new UnchangedAnswers(2);
    const entry = (etag: string) => ({ etag, until: T0 + 1000, vaultapp: 'ns/a', outcome: 'ready', errors: [] });
    answers.remember('a', entry('"a"'));
    answers.remember('b', entry('"b"'));
    assert.ok(answers.lookup('a', '"a"', T0));
    answers.remember('c', entry('"c"'));
    assert.equal(answers.size, 2);
    assert.equal(answers.lookup('b', '"b"', T0), undefined, 'b was the least recently used');
    assert.ok(answers.lookup('a', '"a"', T0));
    assert.equal(answers.lookup('a', '"a"', T0 + 1000), undefined, 'not at its bound');
    assert.equal(answers.size, 1, 'and an entry past its bound is gone');
  });

  it("a remembered answer is no way around the hook's authentication: without or with a wrong bearer, 401 and 403", async (t) => {
    const token = 'metacontroller-bearer-token-0123456789';
    const tokenFile = join(tempDir('vaultapp-answers-'), 'token');
    writeFileSync(tokenFile, token);
    const answers = new UnchangedAnswers();
    const clock = { ms: T0 };
    const app = await build(
      t,
      planReader(),
      { ...config, hookSecurity: { tokenFile, reloadSeconds: 3600 } },
      { now: () => new Date(clock.ms), unchangedAnswers: answers },
    );
    const mc = new MetacontrollerDriver(app, loadExample(), undefined, { now: () => new Date(clock.ms), bearerToken: token });
    await mc.settle(20);
    clock.ms += 60_000;
    await mc.sync();
    const body = mc.body(false);
    const post = (headers: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/sync', payload: body, headers: { 'content-type': 'application/json', ...headers } });
    const etag = (await post({ authorization: `Bearer ${token}` })).headers.etag as string;
    const hits = answers.hits;
    assert.equal((await post({ authorization: `Bearer ${token}`, 'if-none-match': etag })).statusCode, 304, 'with the token: from memory');
    assert.equal(answers.hits, hits + 1);
    assert.equal((await post({ 'if-none-match': etag })).statusCode, 401);
    assert.equal((await post({ authorization: 'Bearer wrong-token-0123456789abcdef', 'if-none-match': etag })).statusCode, 403);
    assert.equal(answers.hits, hits + 1, 'refused before the body is read: no entry consulted');
  });
});
