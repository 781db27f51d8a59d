import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import type { VaultReader } from '../../src/vault/reader.js';

export const hookConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5, logLevel: 'silent', bodyLimit: 1024 * 1024 };

// The tests' recorded reader is the CLI's and the bench's (src/vault/recorded-reader.ts).
export { recordedReader } from '../../src/vault/recorded-reader.js';

export async function build(t: TestContext, reader: VaultReader, overrides: Partial<typeof hookConfig> = {}): Promise<FastifyInstance> {
  const app = await buildApp({ config: { ...hookConfig, ...overrides }, reader, logger: false, now: () => new Date('2026-11-27T12:00:00Z') });
  t.after(() => app.close());
  return app;
}
