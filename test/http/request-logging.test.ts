// What a sync writes to the log: one line at info (what was decided, for which
// VaultApp), Fastify's request lines only at debug.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { capturedLogger } from '../support/captured-logger.js';
import { loadExample, request } from '../fixtures/requests.js';
import { build, recordedReader } from '../support/build-app.js';

const material = {
  auth: { ok: true as const },
  reads: {
    'kv/data/billing/database': { ok: true as const, engine: 'kv2' as const, data: { url: 'postgres://db-secret-value' } },
    'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'px-secret-value' } },
  },
};

async function linesOfOneSync(t: TestContext, level: string): Promise<Array<Record<string, unknown>>> {
  const { log: logger, lines } = capturedLogger(level);
  const app = await build(t, recordedReader(material), { logLevel: level }, { loggerInstance: logger });
  // Closed before the lines are read, so that the request's last line is written.
  try {
    const res = await app.inject({ method: 'POST', url: '/sync', payload: request(loadExample()) });
    assert.equal(res.statusCode, 200);
  } finally {
    await app.close();
  }
  const text = lines.join('');
  assert.ok(!text.includes('secret-value'), 'no Secret value in the log');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg !== 'Server listening at' && !String(l.msg).startsWith('Server listening'));
}

describe('request logging', () => {
  it('at info: one line per sync, naming the VaultApp and its conditions', async (t) => {
    const lines = await linesOfOneSync(t, 'info');
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['synced'],
    );
    assert.equal(lines[0]!.vaultapp, 'default/billing-service');
    assert.deepEqual(lines[0]!.conditions, {
      VaultAuthenticated: 'True',
      SecretsSynced: 'True',
      DeploymentReady: 'Creating',
      MonitoringReady: 'Creating',
      Ready: 'Creating',
    });
  });

  it("at debug: Fastify's request line comes back, with method, path, host, peer and status only", async (t) => {
    const lines = await linesOfOneSync(t, 'debug');
    const done = lines.find((l) => l.msg === 'request completed');
    assert.ok(done, `lines: ${lines.map((l) => l.msg).join(', ')}`);
    assert.deepEqual(Object.keys(done.req as object).sort(), ['host', 'method', 'remoteAddress', 'url']);
    assert.deepEqual(done.res, { statusCode: 200 });
    assert.equal(typeof done.responseTime, 'number');
  });
});
