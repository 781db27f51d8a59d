// The servers under test, each in a process of its own (bench/server.ts) so that its CPU
// time and peak RSS are its own; shared by bench/run.ts and bench/churn.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { productionNodeFlags } from '../test/support/node-flags.js';
import type { ServerConfig, ServerMode, ServerStats } from './shared.js';

// Child processes (the servers under test): ours, killed by pid at exit.
export const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children)
    if (c.exitCode === null && c.pid) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
});

export interface Server {
  mode: ServerMode;
  proc: ChildProcess;
  port: number;
  stats(gc?: boolean): Promise<ServerStats>;
  timings(): Promise<number[]>;
  setClock(ms: number): Promise<void>;
  /** Starts a CPU profile of the server (file given) or stops it and writes the file (none). */
  profile(file?: string): Promise<void>;
  stop(): Promise<void>;
}

/** RSS once listening, peak RSS, and heap retained after a full GC (MB). */
export interface Mem {
  startMB: number;
  peakMB: number;
  retainedMB: number;
  peakHeapTotalMB: number;
  peakExternalMB: number;
}
export const mem = (s: ServerStats): Mem => ({
  startMB: s.startRssKB / 1024,
  peakMB: s.maxRssKB / 1024,
  retainedMB: s.heapUsedBytes / 2 ** 20,
  peakHeapTotalMB: s.peakHeapTotalBytes / 2 ** 20,
  peakExternalMB: s.peakExternalBytes / 2 ** 20,
});

// The servers run as plain JavaScript, as the hook does in production (node dist/...):
// bench/server.ts and the src/ it imports bundled by esbuild (tsx's own compiler),
// packages left to node_modules. Under `--import tsx` a process carries tsx's loader
// thread (tens of MB of RSS) and source-map support; this is the fallback only.
export let serverEntry: { file: string; execArgv: string[]; how: string } | undefined;
export async function serverScript(): Promise<{ file: string; execArgv: string[]; how: string }> {
  if (serverEntry) return serverEntry;
  const src = fileURLToPath(new URL('./server.ts', import.meta.url));
  try {
    const { build } = await import('esbuild');
    const outfile = fileURLToPath(new URL('../node_modules/.cache/vaultapp-bench/server.mjs', import.meta.url));
    await build({ entryPoints: [src], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'warning' });
    serverEntry = { file: outfile, execArgv: [], how: 'plain JavaScript (bench/server.ts + src bundled by esbuild, packages from node_modules)' };
  } catch (err) {
    process.stderr.write(`[bench] esbuild unavailable (${(err as Error).message.split('\n')[0]}); servers run under tsx\n`);
    serverEntry = { file: src, execArgv: ['--import', 'tsx'], how: "TypeScript under tsx (esbuild was unavailable; RSS includes tsx's loader)" };
  }
  return serverEntry;
}

/** Node flags of the servers: BENCH_SERVER_FLAGS, else the ones the container image runs the hook with. */
export function serverFlags(): string[] {
  if (process.env.BENCH_SERVER_FLAGS !== undefined) return process.env.BENCH_SERVER_FLAGS.split(' ').filter(Boolean);
  return productionNodeFlags();
}

export async function startServer(cfg: ServerConfig): Promise<Server> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULT_')));
  const entry = await serverScript();
  const flags = serverFlags();
  const profile = process.env.BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`, `--cpu-prof-name=${cfg.mode}-${Date.now()}.cpuprofile`]
    : [];
  const proc = fork(entry.file, [], {
    execArgv: [...entry.execArgv, '--expose-gc', ...flags, ...profile],
    env: { ...env, BENCH_SERVER: JSON.stringify(cfg) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(proc);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server ${cfg.mode} did not start within 60 s`)), 60_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server ${cfg.mode} exited with ${code}`));
    });
    proc.on('message', (m: { type: string; port?: number }) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m.port!);
      }
    });
  });
  return {
    mode: cfg.mode,
    proc,
    port,
    stats: (gc = false) =>
      new Promise((resolve) => {
        const on = (m: { type: string; stats?: ServerStats }) => {
          if (m.type === 'stats') {
            proc.off('message', on);
            resolve(m.stats!);
          }
        };
        proc.on('message', on);
        proc.send({ type: 'stats', gc });
      }),
    setClock: (ms: number) =>
      new Promise((resolve) => {
        const on = (m: { type: string }) => {
          if (m.type === 'clock') {
            proc.off('message', on);
            resolve();
          }
        };
        proc.on('message', on);
        proc.send({ type: 'clock', ms });
      }),
    profile: (file?: string) =>
      new Promise((resolve) => {
        const on = (m: { type: string }) => {
          if (m.type === 'profile') {
            proc.off('message', on);
            resolve();
          }
        };
        proc.on('message', on);
        proc.send({ type: 'profile', ...(file ? { file } : {}) });
      }),
    timings: () =>
      new Promise((resolve) => {
        const on = (m: { type: string; timings?: number[] }) => {
          if (m.type === 'timings') {
            proc.off('message', on);
            resolve(m.timings!);
          }
        };
        proc.on('message', on);
        proc.send({ type: 'timings' });
      }),
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) {
          resolve();
          return;
        }
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(timer);
          children.delete(proc);
          resolve();
        });
        proc.send({ type: 'stop' });
      }),
  };
}
