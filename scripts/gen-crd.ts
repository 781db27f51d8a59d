// Writes crds/vaultapp.yaml from the schema. `npm run gen:crd`; a test fails when it drifts.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCrdYaml } from '../src/api/crd-yaml.js';

const target = fileURLToPath(new URL('../crds/vaultapp.yaml', import.meta.url));
writeFileSync(target, renderCrdYaml());
console.log(`wrote ${target}`);
