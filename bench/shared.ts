// Types and helpers shared by bench/run.ts and bench/server.ts (kept apart from
// server.ts, whose import starts a server).
import type { ReaderStats } from '../src/vault/reader.js';

export type ServerMode = 'hook-k8s' | 'hook-token' | 'hook-recorded' | 'seed' | 'bare' | 'overhead';

export interface ServerConfig {
  mode: ServerMode;
  vaultAddr?: string;
  /** PEM of the CA of Vault's certificate (BENCH_VAULT_TLS). */
  vaultCaCert?: string;
  vaultToken?: string;
  jwtPath?: string;
  allowedRoles?: Record<string, string[]>;
  /** hook-recorded: spec path -> data. */
  recordedFile?: string;
  /** bare: file holding the canned answer. */
  bareBodyFile?: string;
  /** overhead: JSON file of the steady-state request bodies to time. */
  overheadBodiesFile?: string;
  logLevel: string;
  hmacKey: string;
  resyncSeconds: number;
  /** The hook's default refresh interval (VAULTAPP_REFRESH_SECONDS); absent: the resync interval. */
  refreshSeconds?: number;
  /** The hook's clock is set by {type:'clock', ms} messages (bench/churn.ts: an hour of VaultApp-time in seconds). */
  simulatedClock?: boolean;
}

export interface ServerStats {
  reader?: ReaderStats;
  tokens?: { logins: number; renewals: number; jwtRequests: number };
  seed?: { logins: number; reads: number; clients: number };
  /** Vault requests as the server's client counted them. */
  vaultRequests?: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  maxRssKB: number;
  /** maxRSS once listening, before any sync. */
  startRssKB: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Largest V8 heap (total) and external memory seen by a 100 ms sampler. */
  peakHeapTotalBytes: number;
  peakExternalBytes: number;
}

/** A positive number from the environment (a bench knob), else the default. */
export const envNumber = (name: string, def: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
