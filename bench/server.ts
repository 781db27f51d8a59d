// One server under test, in its own process so that its CPU time and peak RSS are
// its own (the fleet driver and Vault run in other processes). Started by
// bench/run.ts with BENCH_SERVER (JSON) in its environment; talks over the IPC
// channel: {type:'ready', port} once listening, then answers {type:'stats'} and
// {type:'stop'}.
//
// Modes:
//   hook-k8s       the real hook: buildApp + createVault, Kubernetes auth (Vault's JWT
//                  method at auth/kubernetes), controller identity with an allowed-roles list
//   hook-token     the real hook: buildApp + createVault, token auth
//   hook-recorded  the real hook's HTTP application with a reader answering from the
//                  values written to Vault (no Vault calls)
//   seed           BASELINE: buildApp with bench/seed-reader.ts (new client + login per
//                  sync, one read per entry)
//   bare           the HTTP ceiling: a bare Fastify route that parses the JSON body and
//                  answers a canned body of the hook's answer size
//   overhead       not a server: times the hook's pipeline and app (bench/overhead.ts) on
//                  recorded values, sends {type:'overhead', result} and exits
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { buildApp, type HookApp } from '../src/http/app.js';
import { createLogger } from '../src/http/logger.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createVault, type Vault } from '../src/vault/index.js';
import { recordedReader, type RecordedValues } from '../src/vault/recorded-reader.js';
import { measureOverhead } from './overhead.js';
import { createSeedReader } from './seed-reader.js';
import type { ServerConfig, ServerStats } from './shared.js';

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env.BENCH_SERVER ?? '{}') as ServerConfig;
  if (cfg.mode === 'overhead') {
    const result = await measureOverhead({
      bodies: JSON.parse(readFileSync(cfg.overheadBodiesFile!, 'utf8')) as string[],
      values: JSON.parse(readFileSync(cfg.recordedFile!, 'utf8')) as RecordedValues,
      hmacKey: cfg.hmacKey,
      resyncSeconds: cfg.resyncSeconds,
      logLevel: cfg.logLevel,
    });
    process.send!({ type: 'overhead', result }, () => process.exit(0));
    return;
  }
  // The hook's logging as deployed (LOG_LEVEL, redaction, credential scrubbing), written to /dev/null.
  const logger: FastifyBaseLogger = createLogger(cfg.logLevel, pino.destination({ dest: '/dev/null', sync: true }));
  const hookConfig = {
    hmacKey: cfg.hmacKey,
    resyncSeconds: cfg.resyncSeconds,
    errorBackoffMinSeconds: 5,
    logLevel: cfg.logLevel,
    bodyLimit: 8 * 1024 * 1024,
    ...(cfg.refreshSeconds !== undefined ? { refreshSeconds: cfg.refreshSeconds } : {}),
  };
  // Simulated time: the hook's `now` is what the bench last set, else the real clock.
  let clockMs: number | undefined;
  const clock = cfg.simulatedClock ? { now: () => (clockMs === undefined ? new Date() : new Date(clockMs)) } : {};
  const common = {
    vault: { address: cfg.vaultAddr ?? '', ...(cfg.vaultCaCert ? { caCert: cfg.vaultCaCert } : {}), timeoutMs: 4000 },
    syncDeadlineMs: 7000,
    hmacKey: cfg.hmacKey,
  };

  // Wired as src/server.ts wires the hook: Prometheus metrics (the sync observer) and Vault health.
  const vaultStats = (v: Vault) => () => ({
    reader: { ...v.reader.stats },
    tokens: { logins: v.tokens.stats.logins, renewals: v.tokens.stats.renewals, jwtRequests: v.tokens.stats.jwtRequests },
    vaultRequests: [...v.requests.values()].reduce((n, c) => n + c.count, 0),
  });
  let stats: () => Partial<ServerStats> = () => ({});
  let app: HookApp;
  switch (cfg.mode) {
    case 'hook-k8s':
    case 'hook-token': {
      const v = createVault({
        ...common,
        auth:
          cfg.mode === 'hook-k8s'
            ? { method: 'kubernetes', mount: 'kubernetes', identity: { model: 'controller', jwtPath: cfg.jwtPath!, allowedRoles: cfg.allowedRoles! } }
            : { method: 'token', token: cfg.vaultToken! },
      });
      const metrics = createMetrics({ requests: v.requests, tokens: v.tokens.stats, reader: v.reader.stats });
      app = await buildApp({ ...clock, config: hookConfig, reader: v.reader, vaultHealth: () => v.http.health(), metrics, loggerInstance: logger });
      stats = vaultStats(v);
      break;
    }
    case 'hook-recorded': {
      const values = JSON.parse(readFileSync(cfg.recordedFile!, 'utf8')) as RecordedValues;
      const reader = recordedReader({ values, options: { version: 1 } });
      app = await buildApp({ ...clock, config: hookConfig, reader, metrics: createMetrics(undefined), loggerInstance: logger });
      stats = () => ({ reader: { ...reader.stats } });
      break;
    }
    case 'seed': {
      const reader = createSeedReader({
        address: cfg.vaultAddr!,
        ...(cfg.vaultCaCert ? { caCert: cfg.vaultCaCert } : {}),
        mount: 'kubernetes',
        jwtPath: cfg.jwtPath!,
        timeoutMs: 4000,
      });
      // The seed's approach syncs in full every time: no answer is given again unchanged.
      app = await buildApp({ ...clock, config: hookConfig, reader, metrics: createMetrics(undefined), loggerInstance: logger, unchangedAnswers: false });
      stats = () => ({ reader: { ...reader.stats }, seed: { ...reader.counts }, vaultRequests: reader.counts.logins + reader.counts.reads });
      break;
    }
    case 'bare': {
      const canned = readFileSync(cfg.bareBodyFile!, 'utf8');
      const bare = Fastify({ loggerInstance: logger, bodyLimit: hookConfig.bodyLimit });
      bare.post('/sync', async (_req, reply) => reply.type('application/json').send(canned));
      app = bare;
      break;
    }
    default:
      throw new Error(`unknown mode ${String(cfg.mode)}`);
  }
  // Server-side time of each answered /sync (Fastify's elapsedTime: request received →
  // answer sent), taken by {type:'timings'}: with one sync at a time it is the hook's
  // own time, the driver's HTTP client and GC excluded.
  const timings: number[] = [];
  app.addHook('onResponse', async (req, reply) => {
    if (req.url === '/sync' && timings.length < 1_000_000) timings.push(reply.elapsedTime);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;

  const startRssKB = process.resourceUsage().maxRSS;
  // What the peak RSS is made of: the largest V8 heap and external memory, sampled.
  const peak = { heapTotal: 0, external: 0 };
  setInterval(() => {
    const m = process.memoryUsage();
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.external = Math.max(peak.external, m.external);
  }, 100).unref();
  // CPU profile of a window the bench chooses (BENCH_PROFILE_MEASURED): {file} starts, {} stops and writes.
  let inspector: Session | undefined;
  let profileFile = '';
  const profile = async (msg: { file?: string }): Promise<void> => {
    if (msg.file) {
      inspector = new Session();
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
      profileFile = msg.file;
    } else if (inspector) {
      const { profile: p } = await inspector.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(p));
      inspector.disconnect();
      inspector = undefined;
    }
  };
  process.on('message', (msg: { type: string; gc?: boolean; ms?: number }) => {
    if (msg.type === 'clock') {
      clockMs = msg.ms;
      process.send!({ type: 'clock' });
    } else if (msg.type === 'stats') {
      // With --expose-gc (bench/run.ts passes it) a full collection first, so heapUsed is what is retained.
      if (msg.gc) (globalThis as { gc?: () => void }).gc?.();
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      const out: ServerStats = {
        ...stats(),
        cpuUserUs: cpu.user,
        cpuSystemUs: cpu.system,
        maxRssKB: process.resourceUsage().maxRSS,
        startRssKB,
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        peakHeapTotalBytes: peak.heapTotal,
        peakExternalBytes: peak.external,
      };
      process.send!({ type: 'stats', stats: out });
    } else if (msg.type === 'profile') {
      void profile(msg as { type: 'profile'; file?: string }).then(() => process.send!({ type: 'profile' }));
    } else if (msg.type === 'timings') {
      process.send!({ type: 'timings', timings: timings.splice(0) });
    } else if (msg.type === 'stop') {
      void app.close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'ready', port });
}

main().catch((err) => {
  process.stderr.write(`bench server failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
