// The node flags production runs with, read from the Dockerfile: the bench starts its
// server with them and the tests check them, so both read them here.
import { readFileSync } from 'node:fs';

/** The node flags of the container image's CMD (the Dockerfile's exec-form CMD line). */
export function productionNodeFlags(dockerfile = new URL('../../Dockerfile', import.meta.url)): string[] {
  const cmd = readFileSync(dockerfile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CMD '));
  const argv = cmd ? (JSON.parse(cmd.slice(4)) as string[]) : [];
  return argv.slice(1).filter((a) => a.startsWith('--'));
}
