// What every harness needs from the machine: a free loopback port, and the output of
// one of the scripts/ensure-*.sh (each builds or installs something once, cached under
// ~/.cache/vaultapp, and prints what the tests need on stdout, one item a line).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** A port nothing listens on right now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs scripts/<name> and resolves with the non-empty lines of its stdout. Its stderr
 * passes through: a cold build or install takes minutes and shows its progress.
 */
export function runEnsureScript(name: string): Promise<string[]> {
  const script = fileURLToPath(new URL(`../../scripts/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      if (code === 0 && lines.length > 0) resolve(lines);
      else reject(new Error(`scripts/${name} exited ${code}; stdout: ${out.trim() || '(nothing)'}; its stderr is above`));
    });
  });
}

/**
 * Runs scripts/<name> with `env` as its whole environment and resolves with its exit code,
 * stdout and stderr (for tests of the scripts themselves; the harnesses use runEnsureScript).
 */
export function runEnsureScriptCaptured(name: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = fileURLToPath(new URL(`../../scripts/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
