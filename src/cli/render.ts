// `npm run render -- <vaultapp.yaml> [--values <values.yaml>]` prints the hook's
// answer for a VaultApp on its first sync, as YAML: reconciled as the hook would
// (planned, read, synced, credentials it could not record revoked). With --values the
// Vault material comes from a file ({path: {key: value}}), without Vault; otherwise
// Vault is read with the hook's own configuration (VAULT_ADDR, VAULT_TOKEN, ...).
// A mistake in how it is called is one line on stderr, never a stack trace: exit 2
// for the arguments or the configuration, 1 for a file that cannot be read or is not valid.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { describeFieldErrors, validateVaultApp } from '../api/validate.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { CHILD_TYPE } from '../hook/children/names.js';
import type { VaultEdge } from '../hook/contract.js';
import { reconcile } from '../hook/reconcile.js';
import type { SyncResponse } from '../hook/types.js';
import { createVault } from '../vault/index.js';
import { recordedReader, type RecordedValues } from '../vault/recorded-reader.js';

const USAGE = 'usage: npm run render -- <vaultapp.yaml> [--values <values.yaml>]';

function fail(code: 1 | 2, message: string): never {
  console.error(`render: ${message}`);
  process.exit(code);
}

function readYaml(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(1, `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`);
  }
  try {
    return parse(text);
  } catch (err) {
    fail(1, `${file} is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

// Offline, Vault was never asked: the recorded reader's login is not a login.
function offline(res: SyncResponse, valuesFile: string): SyncResponse {
  const conditions = res.status.conditions?.map((c) =>
    c.type === 'VaultAuthenticated'
      ? { ...c, status: 'Unknown' as const, reason: 'Offline', message: `rendered offline from ${valuesFile}: Vault was not asked` }
      : c,
  );
  return { ...res, status: { ...res.status, ...(conditions ? { conditions } : {}) } };
}

let args: ReturnType<typeof parseArgs<{ allowPositionals: true; options: { values: { type: 'string' } } }>>;
try {
  args = parseArgs({ allowPositionals: true, options: { values: { type: 'string' } } });
} catch (err) {
  fail(2, `${(err as Error).message.split('\n')[0]} (${USAGE})`);
}
const file = args.positionals[0];
if (!file || args.positionals.length > 1) fail(2, USAGE);
const valuesFile = args.values.values;

const parsed = validateVaultApp(readYaml(file, 'the VaultApp'));
if (!parsed.ok) fail(1, `${file}: ${describeFieldErrors(parsed.errors)}`);
const app = parsed.value;

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig({
    VAULTAPP_HMAC_KEY: 'render-only-key-not-for-clusters',
    ...process.env,
    ...(valuesFile ? { VAULTAPP_AUTH: 'token', VAULT_TOKEN: 'unused' } : {}),
  });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  fail(
    2,
    `${err.message}; to read Vault, configure it as for the hook (VAULT_ADDR, and VAULTAPP_AUTH=token with VAULT_TOKEN), or pass --values <values.yaml> to render offline`,
  );
}

// With --values the recorded reader answers as the real one would, for the spec's paths only.
const reader: VaultEdge = valuesFile
  ? recordedReader({
      values: readYaml(valuesFile, 'the values file') as RecordedValues,
      options: { missing: (p) => `cannot read path "${p}": not in ${valuesFile}` },
    })
  : createVault(config).reader;
const children = Object.fromEntries(Object.values(CHILD_TYPE).map((t) => [t, {}]));
const { response, unrecorded } = await reconcile({ parent: app, children }, reader, () => new Date(), config);
if (unrecorded && (unrecorded.error !== undefined || unrecorded.failures.length > 0))
  console.error(`render: credentials issued for ${unrecorded.paths.join(', ')} could not all be revoked; they expire with their TTL`);
process.stdout.write(stringify(valuesFile ? offline(response, valuesFile) : response, { lineWidth: 0 }));
