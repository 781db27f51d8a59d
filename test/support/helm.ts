// `helm template` of charts/vaultapp with the pinned helm (scripts/ensure-helm.sh builds it
// once from its Go module and caches it), parsed like test/support/kustomize.ts parses kustomize.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { runEnsureScript } from './local.js';

export const CHART_DIR = fileURLToPath(new URL('../../charts/vaultapp/', import.meta.url));

/** Path of the pinned helm binary (built on first use: minutes on a cold Go cache). */
export async function ensureHelm(): Promise<string> {
  const lines = await runEnsureScript('ensure-helm.sh');
  return lines[lines.length - 1]!;
}

export interface HelmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm with `args`, and `values` (if given) as a values file (JSON is YAML). */
export function runHelm(helm: string, args: string[], values?: unknown): HelmRun {
  const dir = mkdtempSync(join(tmpdir(), 'vaultapp-helm-'));
  try {
    const file = join(dir, 'values.yaml');
    if (values !== undefined) writeFileSync(file, JSON.stringify(values));
    const argv = values === undefined ? args : [...args, '--values', file];
    const r = spawnSync(helm, argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The objects the chart renders with `values`, its CRD included, for release "vaultapp" in
 * `namespace`; throws with helm's message when helm refuses the values.
 */
export function helmTemplate(helm: string, values: unknown = {}, namespace = 'vaultapp-system'): any[] {
  const r = runHelm(helm, ['template', 'vaultapp', CHART_DIR, '--namespace', namespace, '--include-crds'], values);
  if (r.status !== 0) throw new Error(`helm template exited ${r.status}: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length) throw d.errors[0];
      return d.toJS();
    })
    .filter(Boolean);
}
