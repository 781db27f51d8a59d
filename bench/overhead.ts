// The hook's overhead with Vault excluded, measured in a process of its own (started
// by bench/server.ts in mode "overhead", with the production node flags): the
// fleet driver's heap, thousands of parents large, would otherwise put its own GC
// pauses into the tail of these timings.
import { openSync, readSync } from 'node:fs';
import { Ajv } from 'ajv';
import pino from 'pino';
import { HookRequestSchema } from '../src/api/hook-schemas.js';
import { validateVaultApp } from '../src/api/validate.js';
import { reconcile } from '../src/hook/reconcile.js';
import type { SyncRequest } from '../src/hook/types.js';
import { buildApp } from '../src/http/app.js';
import { createLogger } from '../src/http/logger.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { recordedReader, type RecordedValues } from '../src/vault/recorded-reader.js';
import { percentile } from './report.js';

export interface OverheadInput {
  bodies: string[];
  values: RecordedValues;
  hmacKey: string;
  resyncSeconds: number;
  logLevel: string;
}
export interface Dist {
  p50: number;
  p99: number;
  mean: number;
}
export interface OverheadResult {
  samples: number;
  pipeline: Dist;
  undisturbed: Dist & { n: number };
  /** reconcile(): plan, the recorded read, sync() and the answer's stability bound. */
  syncOnly: Dist;
  validation: Dist;
  inject: Dist;
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

const dist = (xs: number[]): Dist => {
  const s = sorted(xs);
  return { p50: percentile(s, 50), p99: percentile(s, 99), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
};

/**
 * How often the scheduler has put this thread on a CPU (the third field of
 * /proc/thread-self/schedstat): a sample during which it changed was interrupted,
 * by another process or by the kernel. Undefined where the file is missing.
 */
function scheduleCounter(): (() => number) | undefined {
  try {
    const fd = openSync('/proc/thread-self/schedstat', 'r');
    const buf = Buffer.alloc(128);
    return () =>
      Number(
        buf
          .toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0))
          .trim()
          .split(' ')[2],
      );
  } catch {
    return undefined;
  }
}

export async function measureOverhead({ bodies, values, hmacKey, resyncSeconds, logLevel }: OverheadInput): Promise<OverheadResult> {
  const config = { hmacKey, resyncSeconds, errorBackoffMinSeconds: 5 };
  // Fastify's own ajv settings for route schemas.
  const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false });
  const validateHook = ajv.compile(HookRequestSchema);
  const reader = recordedReader({ values, options: { version: 1 } });
  const pipeline: number[] = [];
  const undisturbed: number[] = [];
  const scheduled = scheduleCounter();
  const syncOnly: number[] = [];
  const validation: number[] = [];
  const passes = 6;
  const ns = (a: bigint, b: bigint): number => Number(b - a) / 1000;
  for (let pass = 0; pass < passes; pass++) {
    for (const body of bodies) {
      const s0 = scheduled?.();
      const a = process.hrtime.bigint();
      const parsed = JSON.parse(body) as SyncRequest;
      if (!validateHook(parsed)) throw new Error('hook request schema refused a fleet request');
      const b = process.hrtime.bigint();
      const v = validateVaultApp(parsed.parent);
      if (!v.ok) throw new Error('VaultApp validation refused a fleet parent');
      const c = process.hrtime.bigint();
      const req: SyncRequest = { ...parsed, parent: v.value };
      const now = new Date();
      // The whole sync as the route runs it (reconcile: plan, read, sync). The recorded
      // reader stands for Vault and answers from memory: its time is counted, as small
      // as building the material from a map is.
      const { response } = await reconcile(req, reader, () => now, config);
      const g = process.hrtime.bigint();
      JSON.stringify(response);
      const h = process.hrtime.bigint();
      const s1 = scheduled?.();
      if (pass === 0) continue; // warm-up
      pipeline.push(ns(a, h));
      if (s0 !== undefined && s0 === s1) undisturbed.push(ns(a, h));
      syncOnly.push(ns(c, g));
      validation.push(ns(b, c));
    }
  }
  const app = await buildApp({
    config: { ...config, logLevel: logLevel, bodyLimit: 8 * 1024 * 1024 },
    reader,
    metrics: createMetrics(undefined),
    loggerInstance: createLogger(logLevel, pino.destination({ dest: '/dev/null', sync: true })),
  });
  const inject: number[] = [];
  for (let pass = 0; pass < 3; pass++) {
    for (const body of bodies) {
      const a = process.hrtime.bigint();
      const res = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/json' }, payload: body });
      const b = process.hrtime.bigint();
      if (res.statusCode !== 200) throw new Error(`inject answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
      if (pass > 0) inject.push(ns(a, b));
    }
  }
  await app.close();
  return {
    samples: pipeline.length,
    pipeline: dist(pipeline),
    undisturbed: { ...dist(undisturbed), n: undisturbed.length },
    syncOnly: dist(syncOnly),
    validation: dist(validation),
    inject: dist(inject),
  };
}
