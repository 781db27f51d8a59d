// `npm run render -- <vaultapp.yaml> [--values <values.yaml>]` prints the hook's
// answer for a VaultApp on its first sync, as YAML. With --values the Vault
// material comes from a file ({path: {key: value}}), without Vault; otherwise
// Vault is read with the hook's own configuration (VAULT_ADDR, VAULT_TOKEN, ...).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { describeFieldErrors, validateVaultApp } from '../api/validate.js';
import { loadConfig } from '../config/config.js';
import { pathsOf } from '../hook/data-from.js';
import type { VaultMaterial } from '../hook/material.js';
import { CHILD_TYPE } from '../hook/observed.js';
import { sync } from '../hook/sync.js';
import { createVault } from '../vault/index.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { values: { type: 'string' } } });
const file = positionals[0];
if (!file) {
  console.error('usage: npm run render -- <vaultapp.yaml> [--values <values.yaml>]');
  process.exit(2);
}
const parsed = validateVaultApp(parse(readFileSync(file, 'utf8')));
if (!parsed.ok) {
  console.error(`${file}: ${describeFieldErrors(parsed.errors)}`);
  process.exit(1);
}
const app = parsed.value;
const config = loadConfig({ VAULTAPP_HMAC_KEY: 'render-only-key-not-for-clusters', ...process.env, ...(values.values ? { VAULTAPP_AUTH: 'token', VAULT_TOKEN: 'unused' } : {}) });

let material: VaultMaterial;
if (values.values) {
  const byPath = parse(readFileSync(values.values, 'utf8')) as Record<string, Record<string, unknown>>;
  material = { auth: { ok: true }, reads: Object.fromEntries(Object.entries(byPath).map(([p, data]) => [p, { ok: true as const, engine: 'kv2' as const, data }])) };
  for (const path of pathsOf(app)) {
    material.reads[path] ??= { ok: false, problem: { code: 'VAULT_PATH_NOT_FOUND', message: `cannot read path "${path}": not in ${values.values}` } };
  }
} else {
  material = await createVault(config).reader.material(app);
}
const children = Object.fromEntries(Object.values(CHILD_TYPE).map((t) => [t, {}]));
process.stdout.write(stringify(sync({ parent: app, children }, material, new Date(), config), { lineWidth: 0 }));
