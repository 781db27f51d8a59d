import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import type { VaultMaterial } from '../../src/hook/material.js';
import type { VaultReader } from '../../src/vault/reader.js';

export const hookConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5, logLevel: 'silent', bodyLimit: 1024 * 1024 };

/** A reader that answers from a recorded material and counts calls. */
export function recordedReader(material: VaultMaterial): VaultReader & { calls: number } {
  const reader = {
    calls: 0,
    stats: { reads: 0, sharedReads: 0, leasesIssued: 0, leasesRenewed: 0, leasesRevoked: 0, withoutVault: 0 },
    async material() {
      reader.calls++;
      return material;
    },
    async revoke() {
      reader.calls++;
      return [];
    },
  };
  return reader;
}

export async function build(t: TestContext, reader: VaultReader, overrides: Partial<typeof hookConfig> = {}): Promise<FastifyInstance> {
  const app = await buildApp({ config: { ...hookConfig, ...overrides }, reader, logger: false, now: () => new Date('2026-11-27T12:00:00Z') });
  t.after(() => app.close());
  return app;
}
