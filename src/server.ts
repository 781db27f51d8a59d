// Starts the hook: load configuration, listen, close gracefully on SIGTERM.
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './config/config.js';
import { buildApp } from './http/app.js';
import { createVault } from './vault/index.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`vaultapp hook: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const vault = createVault(config);
  const app = await buildApp({ config, reader: vault.reader, vaultHealth: () => vault.http.health() });
  if (config.hmacKeyEphemeral) app.log.warn('no VAULTAPP_HMAC_KEY: using a key for this process only; Deployments will roll after a restart');
  app.log.info({ vault: config.vault.address, auth: config.auth.method }, 'configuration loaded');
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    await app.close();
  });
  await app.listen({ port: config.port, host: config.host });
}

void main();
