// Starts the hook: load configuration, listen, close gracefully on SIGTERM.
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { buildApp } from './http/app.js';
import { describeHookSecurity, hookSecurityProblem } from './http/auth.js';
import { createLogger } from './http/logger.js';
import { createMetrics } from './metrics/metrics.js';
import { createVault } from './vault/index.js';

function fail(message: string): never {
  console.error(`vaultapp hook: ${message}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const problem = hookSecurityProblem(config);
  if (problem) fail(problem);
  const log = createLogger(config.logLevel);
  const vault = createVault(config, (err, where) => log.error({ err, where }, 'unexpected error in the Vault layer'));
  const metrics = createMetrics({ requests: vault.requests, tokens: vault.tokens.stats, reader: vault.reader.stats, queue: vault.queue });
  const app = await buildApp({ config, reader: vault.reader, vaultHealth: () => vault.http.health(), metrics, loggerInstance: log });
  if (config.hmacKeyEphemeral) app.log.warn('no VAULTAPP_HMAC_KEY: using a key for this process only; Deployments will roll after a restart');
  if (config.hookSecurity.mode === 'none')
    app.log.warn('VAULTAPP_HOOK_AUTH=none: /sync and /finalize accept any caller; only a NetworkPolicy keeps others out');
  app.log.info({ vault: config.vault.address, vaultAuth: config.auth.method, hook: describeHookSecurity(config.hookSecurity) }, 'configuration loaded');
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    await app.close();
  });
  await app.listen({ port: config.port, host: config.host });
}

void main();
