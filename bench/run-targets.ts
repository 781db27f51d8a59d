// The fleet bench's report (bench/run.ts), second part: the large fleet, the projection
// of its capacity, and the targets the hook is held to, each with its verdict.
import { f, table } from './report.js';
import { memCell, row, sequentialStats, type RunResults } from './run-report.js';
import { rate, type Phase } from './run-rounds.js';
import type { Mem } from './servers.js';

export function targetsReport({ s, fleet, overhead, big }: RunResults): string[] {
  const out: string[] = [];
  const p = (line = ''): void => {
    out.push(line);
  };
  const seedRate = rate(fleet.steady.seed);
  const { seqDist, seqServer } = sequentialStats(big);
  p(`## ${s.big} VaultApps`);
  p('');
  const needed = s.big / s.resyncS;
  // Capacity per CPU-second of the hook from the 10,000-parent round against Vault when it ran (the target's fleet), else from the 1,000-parent steady rounds.
  const capacityPhase = big.memVault && big.steady.syncs > 0 ? big.steady : fleet.steady.hook;
  const singleCore = capacityPhase.syncs / (capacityPhase.hookCpuMs / 1000);
  const singleCoreSmall = fleet.steady.hook.syncs / (fleet.steady.hook.hookCpuMs / 1000);
  const wall = rate(fleet.steady.hook);
  const pipelineCeiling = 1e6 / overhead.pipeline.mean;
  const bigRow = (ph: Phase, m: Mem): string[] => [
    ...row(ph, undefined).slice(0, 6),
    `${ph.syncs}${ph.skipped ? ` (${ph.skipped} cut)` : ''}`,
    f(ph.hookCpuMs / ph.syncs, 3),
    memCell(m),
  ];
  const bigRows: string[][] = [bigRow(big.cold, big.memRecorded)];
  if (big.memVault) bigRows.push(bigRow(big.steady, big.memVault));
  else bigRows.push(bigRow(big.recorded, big.memRecorded));
  p(
    table(
      [
        'round',
        'syncs/s',
        'p50 ms',
        'p99 ms',
        'Vault req/sync',
        'logins/1000 syncs',
        'syncs',
        'hook CPU ms/sync',
        'hook process RSS start / peak / heap kept, MB',
      ],
      bigRows,
    ),
  );
  p('');
  p(
    big.memVault
      ? `the cold round ran with a recorded reader (to build the observed children quickly), the steady round in a fresh hook process against the real Vault (its few logins are that process's first, one per role)${big.steady.skipped ? ` — cut short by the time budget after ${big.steady.syncs} syncs` : ''}; ${big.check}`
      : `both rounds ran with a recorded reader (no time left in the budget for a Vault-backed round); ${big.check}`,
  );
  p('');
  p(`projection: ${s.big} parents at a ${s.resyncS} s resync need ${f(needed, 1)} syncs/s`);
  p(
    `  single-core steady-state capacity of the hook (steady syncs per CPU-second of the hook process, real Vault, real HTTP), ${capacityPhase.label}: ${f(singleCore, 0)} syncs/s → headroom ${f(singleCore / needed, 1)}×`,
  );
  p(`  the same from the ${s.parents}-parent steady rounds: ${f(singleCoreSmall, 0)} syncs/s → headroom ${f(singleCoreSmall / needed, 1)}×`);
  p(
    `  end-to-end wall clock on this shared 2-core machine (hook + Vault + driver on the same cores):                    ${f(wall, 0)} syncs/s → headroom ${f(wall / needed, 1)}×`,
  );
  p(
    `  pure pipeline ceiling (1 / mean of the overhead above, no HTTP, no Vault):                                        ${f(pipelineCeiling, 0)} syncs/s → headroom ${f(pipelineCeiling / needed, 1)}×`,
  );
  p('');
  p('## Targets');
  p('');
  const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
  const steadyLoginsAudit = (fleet.steady.hook.audit.logins / fleet.steady.hook.syncs) * 1000;
  const steadyLoginsClient = (fleet.steady.hook.logins / fleet.steady.hook.syncs) * 1000;
  const readsPerSync = fleet.steady.hook.audit.kvReads / fleet.steady.hook.syncs;
  // Judged on the cold round: a VaultApp's first syncs read its paths, and the steady syncs
  // inside the refresh interval read nothing at all (which a per-sync equality would call a miss).
  const coldReadsPerParent = fleet.cold.hook.audit.kvReads / s.parents;
  const readerPerSync = fleet.steady.hook.readerReads / fleet.steady.hook.syncs;
  const ratio = rate(fleet.steady.hook) / seedRate;
  const ownCpuRatio = fleet.steady.seed.hookCpuMs / fleet.steady.seed.syncs / (fleet.steady.hook.hookCpuMs / fleet.steady.hook.syncs);
  const peakBig = big.memVault ?? big.memRecorded;
  p(
    table(
      ['target', 'measured', 'verdict'],
      [
        [
          '0 logins per 1,000 steady-state syncs',
          `${f(steadyLoginsAudit, 1)} (audit log), ${f(steadyLoginsClient, 1)} (token source) over ${fleet.steady.hook.syncs} syncs`,
          verdict(fleet.steady.hook.audit.logins === 0 && fleet.steady.hook.logins === 0),
        ],
        [
          `reads ≤ distinct paths (${s.pathsPerParent}) per VaultApp`,
          `${f(coldReadsPerParent, 2)} KV reads per VaultApp over its first syncs (audit, cold round); steady ${f(readsPerSync, 2)} KV reads/sync (audit), ${f(readerPerSync, 2)} (reader stats), inside the refresh interval; seed: ${f(fleet.steady.seed.audit.kvReads / fleet.steady.seed.syncs, 2)}/sync`,
          verdict(
            coldReadsPerParent > 0 &&
              coldReadsPerParent <= s.pathsPerParent + 1e-9 &&
              readsPerSync <= s.pathsPerParent + 1e-9 &&
              fleet.steady.hook.errors === 0,
          ),
        ],
        [
          "≥ 5× the seed approach's syncs/s",
          `${f(ratio, 2)}× (${f(rate(fleet.steady.hook), 0)} vs ${f(seedRate, 0)} syncs/s, steady, hook, Vault and API server on the same cores); for context, per CPU-second of each approach's own process (Vault and API server on other machines): ${f(ownCpuRatio, 2)}×`,
          `${verdict(ratio >= 5)} (syncs/s on this machine)`,
        ],
        [
          'hook overhead p99 ≤ 2 ms',
          `${seqServer ? `${f(seqServer.p99 / 1000, 3)} ms in the hook process over real HTTP, one sync at a time (${f(seqDist!.p99 / 1000, 3)} ms seen by the driver); ` : ''}${f(overhead.pipeline.p99 / 1000, 3)} ms pipeline (${f(overhead.undisturbed.p99 / 1000, 3)} ms uninterrupted samples); through app.inject ${f(overhead.inject.p99 / 1000, 3)} ms`,
          `${verdict((seqServer?.p99 ?? overhead.pipeline.p99) <= 2000)}${seqServer ? ' (hook process, real HTTP)' : ' (pipeline)'}`,
        ],
        [
          `${s.big} VaultApps at ${s.resyncS} s resync with ≥ 10× headroom`,
          `${f(singleCore / needed, 1)}× single-core (${f(singleCore, 0)} syncs/s); ${f(wall / needed, 1)}× end-to-end wall clock`,
          `${verdict(singleCore / needed >= 10)} (single-core), ${verdict(wall / needed >= 10)} (wall clock)`,
        ],
        [
          `peak RSS < 150 MB with ${s.big} parents`,
          `${f(peakBig.peakMB, 0)} MB (${big.memVault ? 'Vault-backed' : 'recorded-reader'} hook process; ${f(peakBig.startMB, 0)} MB when listening; V8 heap at most ${f(peakBig.peakHeapTotalMB, 0)} MB, external at most ${f(peakBig.peakExternalMB, 0)} MB; ${f(peakBig.retainedMB, 0)} MB heap kept after GC)`,
          verdict(peakBig.peakMB < 150),
        ],
      ],
    ),
  );
  p('');
  return out;
}
