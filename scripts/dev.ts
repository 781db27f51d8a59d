// `npm run dev`: brings the hook up on a local default. Starts a Vault dev server
// (built once by scripts/ensure-vault.sh), mounts KV v2 at kv/ as the example
// expects, writes the example's secrets, and serves the hook on PORT (8080).
import { buildApp } from '../src/http/app.js';
import { loadConfig } from '../src/config/config.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createVault } from '../src/vault/index.js';
import { enableKv, startVaultServer, writeKv } from '../test/support/vault-server.js';

const vault = await startVaultServer({ rootToken: 'dev-root-token' });
await enableKv(vault, 'kv', 2);
await writeKv(vault, 'kv', 2, 'billing/database', { url: 'postgres://billing:dev-password@billing-db:5432/billing' });
await writeKv(vault, 'kv', 2, 'billing/provider-x', { key: 'dev-provider-x-api-key' });

const config = loadConfig({
  ...process.env,
  VAULT_ADDR: vault.addr,
  VAULT_TOKEN: vault.token,
  VAULTAPP_AUTH: 'token',
  // A fixed key so the version annotation is the same across dev restarts; never use it in a cluster.
  VAULTAPP_HMAC_KEY: process.env.VAULTAPP_HMAC_KEY ?? 'dev-only-hmac-key-not-for-clusters',
});
const v = createVault(config);
const metrics = createMetrics({ requests: v.requests, tokens: v.tokens.stats, reader: v.reader.stats, queue: v.queue });
const app = await buildApp({ config, reader: v.reader, vaultHealth: () => v.http.health(), metrics });
const shutdown = async (): Promise<void> => {
  await app.close();
  await vault.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
await app.listen({ port: config.port, host: '127.0.0.1' });
// With VAULTAPP_TLS_CERT_FILE/KEY_FILE set the hook serves HTTPS, and curl needs the CA (--cacert).
const hookUrl = `${config.hookSecurity.tls ? 'https' : 'http'}://127.0.0.1:${config.port}`;
const bearer = config.hookSecurity.tokenFile ? ` -H "Authorization: Bearer $(cat ${config.hookSecurity.tokenFile})"` : '';
console.log(`
VaultApp hook on ${hookUrl}, Vault dev server on ${vault.addr}
  export VAULT_ADDR=${vault.addr} VAULT_TOKEN=${vault.token}
Try it:
  curl -s -H 'Content-Type: application/yaml' -H 'Accept: application/yaml'${bearer} \\
       --data-binary @examples/sync-request.yaml ${hookUrl}/sync
  curl -s -H 'Content-Type: application/json'${bearer} \\
       --data-binary @examples/sync-request.json ${hookUrl}/sync
Ctrl-C stops both.`);
