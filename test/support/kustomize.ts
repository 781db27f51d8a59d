// `kubectl kustomize` of a directory, parsed. kubectl comes from scripts/ensure-kubectl.sh
// (one the machine has, else the pinned build from tools/kube-server; CI uses only the
// pinned one): a test file awaits ensureKubectl() in a before() hook, and the render
// functions then run synchronously. Overlays of several shipped pieces are written to a
// temporary directory, with paths relative to it: kustomize refuses absolute ones.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { runEnsureScript } from './local.js';

export const METACONTROLLER_DIR = fileURLToPath(new URL('../../metacontroller/', import.meta.url));

/** A cold build of the pinned kubectl takes minutes: the before() hook that awaits ensureKubectl() needs this timeout. */
export const ENSURE_KUBECTL_TIMEOUT_MS = 30 * 60_000;

let kubectl: string | undefined;
/** Path of the kubectl the renders use; rejects (the test fails, never skips) when there is none and none can be built. */
export async function ensureKubectl(): Promise<string> {
  kubectl ??= (await runEnsureScript('ensure-kubectl.sh')).at(-1)!;
  return kubectl;
}

function kubectlPath(): string {
  if (!kubectl) throw new Error('test/support/kustomize.ts: await ensureKubectl() in a before() hook first');
  return kubectl;
}

/** The rendered YAML of a kustomization directory. */
export function kustomizeText(dir: string): string {
  return execFileSync(kubectlPath(), ['kustomize', dir, '--enable-helm=false'], { encoding: 'utf8' });
}

/** The objects a kustomization directory renders. */
export function kustomize(dir: string): any[] {
  return parseAllDocuments(kustomizeText(dir))
    .map((d) => d.toJS())
    .filter(Boolean);
}

/** Renders an overlay of `resources` and `components` (directories under metacontroller/). */
export function kustomizeOverlay(resources: string[], components: string[] = []): any[] {
  const dir = mkdtempSync(join(tmpdir(), 'vaultapp-overlay-'));
  try {
    const rel = (p: string) => JSON.stringify(relative(dir, join(METACONTROLLER_DIR, p)));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${resources.map(rel).join(', ')}]`,
        `components: [${components.map(rel).join(', ')}]`,
      ].join('\n'),
    );
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
