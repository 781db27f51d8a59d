// `npm run render -- <vaultapp.yaml> [--values <values.yaml>]` prints the hook's
// answer for a VaultApp on its first sync, as YAML. With --values the Vault
// material comes from a file ({path: {key: value}}), without Vault; otherwise
// Vault is read with the hook's own configuration (VAULT_ADDR, VAULT_TOKEN, ...).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { describeFieldErrors, validateVaultApp } from '../api/validate.js';
import { loadConfig } from '../config/config.js';
import { CHILD_TYPE } from '../hook/children/names.js';
import { sync } from '../hook/sync.js';
import { createVault } from '../vault/index.js';
import { recordedReader, type RecordedValues } from '../vault/recorded-reader.js';

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
const config = loadConfig({
  VAULTAPP_HMAC_KEY: 'render-only-key-not-for-clusters',
  ...process.env,
  ...(values.values ? { VAULTAPP_AUTH: 'token', VAULT_TOKEN: 'unused' } : {}),
});

// With --values the recorded reader answers as the real one would, for the spec's paths only.
const reader = values.values
  ? recordedReader({
      values: parse(readFileSync(values.values, 'utf8')) as RecordedValues,
      options: { missing: (p) => `cannot read path "${p}": not in ${values.values}` },
    })
  : createVault(config).reader;
const material = await reader.material(app);
const children = Object.fromEntries(Object.values(CHILD_TYPE).map((t) => [t, {}]));
process.stdout.write(stringify(sync({ parent: app, children }, material, new Date(), config), { lineWidth: 0 }));
