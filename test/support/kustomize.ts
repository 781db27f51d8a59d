// `kubectl kustomize` of a directory, parsed; undefined when kubectl is not on the machine
// (the tests that need it skip then). Overlays of several shipped pieces are written to a
// temporary directory, with paths relative to it: kustomize refuses absolute ones.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const METACONTROLLER_DIR = fileURLToPath(new URL('../../metacontroller/', import.meta.url));

let kubectl: string | null | undefined;
export function findKubectl(): string | undefined {
  if (kubectl === undefined) {
    try {
      kubectl = execFileSync('which', ['kubectl'], { encoding: 'utf8' }).trim() || null;
    } catch {
      kubectl = null;
    }
  }
  return kubectl ?? undefined;
}

/** The rendered YAML of a kustomization directory; undefined without kubectl. */
export function kustomizeText(dir: string): string | undefined {
  const bin = findKubectl();
  return bin ? execFileSync(bin, ['kustomize', dir, '--enable-helm=false'], { encoding: 'utf8' }) : undefined;
}

/** The objects a kustomization directory renders; undefined without kubectl. */
export function kustomize(dir: string): any[] | undefined {
  const text = kustomizeText(dir);
  return text === undefined ? undefined : parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);
}

/** Renders an overlay of `resources` and `components` (directories under metacontroller/). */
export function kustomizeOverlay(resources: string[], components: string[] = []): any[] | undefined {
  if (!findKubectl()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vaultapp-overlay-'));
  try {
    const rel = (p: string) => JSON.stringify(relative(dir, join(METACONTROLLER_DIR, p)));
    writeFileSync(join(dir, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${resources.map(rel).join(', ')}]`,
      `components: [${components.map(rel).join(', ')}]`,
    ].join('\n'));
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
