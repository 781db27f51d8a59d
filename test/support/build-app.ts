import type { SuiteContext, TestContext } from 'node:test';
import { type AppDeps, buildApp, type HookApp } from '../../src/http/app.js';
import type { VaultReader } from '../../src/vault/reader.js';

export const hookConfig = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5, logLevel: 'silent', bodyLimit: 1024 * 1024 };

// The tests' recorded reader is the CLI's and the bench's (src/vault/recorded-reader.ts).
export { recordedReader } from '../../src/vault/recorded-reader.js';

/** The clock of tests against a real Vault, whose leases run on the wall clock. */
export const wallClock = (): Date => new Date();

/** Everything of the app's dependencies but its config and reader: a logger, a clock, metrics, a Vault health check. */
type AppOptions = Omit<AppDeps, 'config' | 'reader'>;

/**
 * The hook's app for one test, closed when the test ends: `hookConfig` with `overrides`,
 * no logging and the fixtures' clock unless `options` say otherwise.
 */
export async function build(
  t: Pick<TestContext, 'after'> | SuiteContext,
  reader: VaultReader,
  overrides: Partial<AppDeps['config']> = {},
  options: AppOptions = {},
): Promise<HookApp> {
  // A suite's context has no `after`: the app is built in a test or a file-level before hook.
  if (!('after' in t)) throw new Error('build(t): t must be a test context (a test, or a before hook at the top of a file)');
  const app = await buildApp({ logger: false, now: () => new Date('2026-11-27T12:00:00Z'), ...options, config: { ...hookConfig, ...overrides }, reader });
  t.after(() => app.close());
  return app;
}
