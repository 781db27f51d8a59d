// The fleet bench's report (bench/run.ts), first part: what was measured and how, the
// fleet's tables, ETag, and the hook's overhead with Vault excluded. The large fleet,
// the projection and the targets are bench/run-targets.ts.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import type { OverheadResult } from './overhead.js';
import { f, percentile, table } from './report.js';
import { rate, sorted, type BigResults, type FleetResults, type Phase } from './run-rounds.js';
import type { Settings, Setup } from './run-setup.js';
import { serverEntry, serverFlags, type Mem } from './servers.js';

/** Everything the rounds measured, and the load average around them. */
export interface RunResults {
  s: Settings;
  setup: Setup;
  fleet: FleetResults;
  overhead: OverheadResult;
  big: BigResults;
  load0: number[];
  load1: number[];
}

export const row = (ph: Phase, vsSeed: number | undefined): string[] => {
  const l = sorted(ph.latencies);
  return [
    ph.label,
    f(rate(ph), 0),
    f(percentile(l, 50), 2),
    f(percentile(l, 99), 2),
    f(ph.audit.total / ph.syncs, 2),
    f((ph.audit.logins / ph.syncs) * 1000, 1),
    vsSeed === undefined ? '—' : `${f(rate(ph) / vsSeed, 2)}×`,
  ];
};

export const memCell = (m: Mem | undefined): string => (m ? `${f(m.startMB, 0)} / ${f(m.peakMB, 0)} / ${f(m.retainedMB, 0)}` : '—');

const usDist = (ms: number[]): { p50: number; p99: number; mean: number } => {
  const l = sorted(ms.map((x) => x * 1000));
  return { p50: percentile(l, 50), p99: percentile(l, 99), mean: l.reduce((a, b) => a + b, 0) / l.length };
};

/** The one-sync-at-a-time latencies of the large fleet's hook, in µs: server side and as the driver saw them. */
export function sequentialStats(big: BigResults): { seqDist: ReturnType<typeof usDist> | undefined; seqServer: ReturnType<typeof usDist> | undefined } {
  return {
    seqDist: big.sequential && big.sequential.latenciesMs.length > 0 ? usDist(big.sequential.latenciesMs) : undefined,
    seqServer: big.sequentialServerMs.length > 0 ? usDist(big.sequentialServerMs) : undefined,
  };
}

export function fleetReport({ s, setup, fleet, overhead, big, load0, load1 }: RunResults): string[] {
  const out: string[] = [];
  const p = (line = ''): void => {
    out.push(line);
  };
  const { seqDist, seqServer } = sequentialStats(big);
  const seedRate = rate(fleet.steady.seed);
  const seedColdRate = rate(fleet.cold.seed);
  p('');
  p('# VaultApp hook benchmark');
  p('');
  p(`code measured: ${codeVersion()}`);
  p(
    `node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), Vault ${setup.version ?? '?'} dev server on loopback (${s.vaultTls ? 'HTTPS, -dev-tls' : 'plain HTTP'}) with a file audit device`,
  );
  p(`logins: ${setup.loginMethod}`);
  p(
    `load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${load1.map((x) => x.toFixed(2)).join(' ')} — other work shares these cores; compare ratios, not absolute times`,
  );
  p(
    `fleet: ${s.parents} VaultApps from examples/billing-service.yaml (distinct names/uids, ${s.namespaces} namespaces, one Vault role each), ${s.pathsPerParent} distinct KV v2 paths per parent out of ${s.paths} written to Vault`,
  );
  p(
    `       (${s.pathsPerParent + 1} secret entries per parent: the first path gives two keys; each path shared by ${Math.min(...setup.sharing.values())}–${Math.max(...setup.sharing.values())} parents)`,
  );
  p(
    `driver: real HTTP on loopback (node:http keep-alive), ${s.concurrency} syncs in flight, the tests' Metacontroller driver per VaultApp (requests as Metacontroller v4.17.2 sends them, answers applied as it applies them)`,
  );
  p(
    `servers: each in its own process, ${serverEntry?.how}, node flags "${serverFlags().join(' ')}" (${process.env.BENCH_SERVER_FLAGS !== undefined ? 'BENCH_SERVER_FLAGS' : "the Dockerfile's CMD"}); hook logging at "${s.logLevel}" (redaction and scrubbing as deployed) to /dev/null; resyncAfterSeconds ${s.resyncS}`,
  );
  p(
    `rounds: 1 cold round per approach, then ${s.rounds} steady rounds, interleaved (bare, seed, hook k8s, hook token in each), so that the machine's other load falls on all alike`,
  );
  p('');
  p(`## Fleet of ${s.parents} (steady state unless marked cold)`);
  p('');
  p(
    table(
      ['approach', 'syncs/s', 'p50 ms', 'p99 ms', 'Vault req/sync', 'logins/1000 syncs', 'ratio vs seed'],
      [
        row(fleet.steady.bare, seedRate),
        row(fleet.steady.seed, seedRate),
        row(fleet.steady.hook, seedRate),
        row(fleet.steady.hookEtag, seedRate),
        row(fleet.steady.hookTok, seedRate),
        row(fleet.cold.seed, seedColdRate),
        row(fleet.cold.hook, seedColdRate),
        row(fleet.cold.hookTok, seedColdRate),
      ],
    ),
  );
  const cut = [
    fleet.steady.bare,
    fleet.steady.seed,
    fleet.steady.hook,
    fleet.steady.hookEtag,
    fleet.steady.hookTok,
    fleet.cold.seed,
    fleet.cold.hook,
    fleet.cold.hookTok,
  ].filter((ph) => ph.skipped > 0);
  if (cut.length) p(`NOTE: cut short by the time budget: ${cut.map((ph) => `${ph.label} (${ph.skipped} parents not synced)`).join('; ')}`);
  p('');
  p('Vault requests come from Vault\'s audit log (request entries); "ratio vs seed" compares steady with steady and cold with cold.');
  p('');
  const detail = (ph: Phase, m: Mem | undefined): string[] => [
    ph.label,
    String(ph.syncs),
    String(ph.errors),
    f(ph.audit.kvReads / ph.syncs, 2),
    f(ph.readerReads / ph.syncs, 2),
    String(ph.sharedReads),
    String(ph.audit.mounts),
    String(ph.audit.logins),
    String(ph.logins),
    f(ph.clientVaultRequests / ph.syncs, 2),
    f(ph.hookCpuMs / ph.syncs, 3),
    f(ph.vaultCpuMs / ph.syncs, 3),
    f(ph.kubeCpuMs / ph.syncs, 3),
    f(ph.driverCpuMs / ph.syncs, 3),
    memCell(m),
  ];
  p(
    table(
      [
        'approach',
        'syncs',
        'failed',
        'KV reads/sync (audit)',
        'reads/sync (reader stats)',
        'shared reads',
        'mount lookups',
        'logins (audit)',
        'logins (client)',
        'Vault req/sync (client)',
        'server CPU ms/sync',
        'Vault CPU ms/sync',
        'API server CPU ms/sync',
        'driver CPU ms/sync',
        'RSS start / peak / heap kept, MB',
      ],
      [
        detail(fleet.steady.bare, fleet.rss.bare),
        detail(fleet.steady.seed, fleet.rss.seed),
        detail(fleet.steady.hook, fleet.rss.hook),
        detail(fleet.steady.hookEtag, undefined),
        detail(fleet.steady.hookTok, fleet.rss.hookTok),
        detail(fleet.cold.seed, undefined),
        detail(fleet.cold.hook, undefined),
        detail(fleet.cold.hookTok, undefined),
      ],
    ),
  );
  p('');
  p(
    '"server CPU" is the server process\'s own user+system time (the bare route, the seed baseline or the hook); "Vault CPU" is the Vault process\'s, "API server CPU" the kube-apiserver\'s (TokenReviews), from /proc;',
  );
  p('"driver CPU" is this process\'s (building requests, HTTP client, applying answers). All three share the same 2 cores with the machine\'s other work.');
  p(
    "RSS: when listening / process.resourceUsage().maxRSS over the server process's whole life (cold and steady rounds) / heap used after a full GC at the end.",
  );
  p(`correctness after the last round: seed ${fleet.correctness.seed}; hook (kubernetes) ${fleet.correctness.hook}; hook (token) ${fleet.correctness.hookTok}`);
  p('');
  p("## ETag (Metacontroller's webhook etag)");
  p('');
  const etagRow = (ph: Phase): string[] => [
    ph.label,
    String(ph.syncs),
    `${f((100 * ph.notModified) / Math.max(1, ph.syncs), 1)}%`,
    f(ph.bytesIn / Math.max(1, ph.syncs), 0),
    f(ph.hookCpuMs / ph.syncs, 3),
    f(ph.driverCpuMs / ph.syncs, 3),
    f(rate(ph), 0),
  ];
  p(
    table(
      ['steady rounds', 'syncs', 'answered 304', 'answer bytes/sync', 'hook CPU ms/sync', 'driver CPU ms/sync', 'syncs/s'],
      [etagRow(fleet.steady.hook), etagRow(fleet.steady.hookEtag)],
    ),
  );
  p('');
  p(
    'The hook still reads Vault and computes the answer to know whether it changed; a 304 saves sending the answer and Metacontroller\'s parsing of it ("driver CPU" stands in for Metacontroller).',
  );
  p('');
  p('## Hook overhead, Vault time excluded');
  p('');
  p(
    table(
      [`what (per sync, ${overhead.samples} samples over the fleet's steady-state requests)`, 'p50 µs', 'p99 µs', 'mean µs'],
      [
        [
          'JSON.parse + hook request schema (ajv) + VaultApp validation + plan + sync() + JSON.stringify',
          f(overhead.pipeline.p50, 0),
          f(overhead.pipeline.p99, 0),
          f(overhead.pipeline.mean, 0),
        ],
        [
          `  the same, only the ${overhead.undisturbed.n} samples the scheduler did not interrupt (no other process ran meanwhile)`,
          f(overhead.undisturbed.p50, 0),
          f(overhead.undisturbed.p99, 0),
          f(overhead.undisturbed.mean, 0),
        ],
        ['  of which reconcile() (plan, recorded read, sync)', f(overhead.syncOnly.p50, 0), f(overhead.syncOnly.p99, 0), f(overhead.syncOnly.mean, 0)],
        ['  of which the VaultApp validation (validateVaultApp)', f(overhead.validation.p50, 0), f(overhead.validation.p99, 0), f(overhead.validation.mean, 0)],
        [
          "whole Fastify app via app.inject, recorded reader (adds routing, Fastify's parser and validation, logging, light-my-request)",
          f(overhead.inject.p50, 0),
          f(overhead.inject.p99, 0),
          f(overhead.inject.mean, 0),
        ],
        ...(seqServer
          ? [
              [
                `the hook process over real HTTP on loopback, one sync at a time, recorded reader: server side, request received → answer sent (${big.sequentialServerMs.length} steady syncs of the ${s.big}-parent fleet)`,
                f(seqServer.p50, 0),
                f(seqServer.p99, 0),
                f(seqServer.mean, 0),
              ],
            ]
          : []),
        ...(seqDist
          ? [['  the same seen by the driver (adds its HTTP client, loopback and its own GC)', f(seqDist.p50, 0), f(seqDist.p99, 0), f(seqDist.mean, 0)]]
          : []),
      ],
    ),
  );
  p('');
  p('The pipeline and app.inject rows run in a process of their own (bench/overhead.ts) with the production node flags.');
  p('');
  return out;
}

/** The commit, and whether src/ had uncommitted changes (others edit it concurrently). */
function codeVersion(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim());
    return `commit ${head}${dirty.length ? `, plus uncommitted changes in src/ (${dirty.map((l) => l.slice(3)).join(', ')})` : ', src/ clean'}`;
  } catch {
    return 'unknown (no git)';
  }
}
