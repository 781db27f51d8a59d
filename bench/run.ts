// `npm run bench`: the hook against a real Vault dev server on loopback, a fleet of
// VaultApps synced through real HTTP at a fixed concurrency, next to the seed's
// Vault access pattern and a bare Fastify route (the HTTP ceiling). Prints figures;
// asserts nothing about timings. Ratios, not absolute times, are the result.
//
// Knobs (environment): BENCH_PARENTS (1000), BENCH_PATHS (300), BENCH_CONCURRENCY (32),
// BENCH_ROUNDS (steady rounds, 2), BENCH_BIG_PARENTS (10000), BENCH_LOG (info),
// BENCH_BUDGET_S (285: rounds stop early, and say so, past it), BENCH_PROFILE (a directory: CPU profiles of the servers),
// BENCH_SERVER_FLAGS (node flags for the server processes, e.g. "--max-semi-space-size=4"), VAULTAPP_VAULT_BIN (a vault binary; else scripts/ensure-vault.sh),
// BENCH_VAULT_TLS (1: Vault on HTTPS, -dev-tls; 0: plain HTTP), BENCH_KUBE (1: Vault's Kubernetes auth method doing a
// TokenReview against a real kube-apiserver for each login, as in a cluster; 0: Vault's JWT method checking the token itself).
//
// Why TLS and TokenReview by default: they are what a login costs in a cluster, and the
// seed's approach pays them on every sync (a new client is a new TLS connection, a login
// a TokenReview); on plain HTTP with a locally checked JWT its cost would be understated.
//
// The program is small: settings, setup (bench/run-setup.ts), rounds (bench/run-rounds.ts)
// and a report (bench/run-report.ts, bench/run-targets.ts). The hostile bodies, hostile
// reads, templates and churn benches are programs of their own, run after this one by
// `npm run bench`.
import { loadavg } from 'node:os';
import { fleetReport } from './run-report.js';
import { bigRounds, fleetRounds, measureOverheadInOwnProcess, rate } from './run-rounds.js';
import { settingsFromEnv, setUp, startClock } from './run-setup.js';
import { targetsReport } from './run-targets.js';

async function main(): Promise<void> {
  const s = settingsFromEnv();
  const clock = startClock(s.budgetS);
  const load0 = loadavg();
  clock.log(
    `starting: ${s.parents} parents, ${s.paths} paths, concurrency ${s.concurrency}, ${s.rounds} steady rounds, ${s.big} parents for the large round, log level ${s.logLevel}, budget ${s.budgetS}s`,
  );
  const setup = await setUp(s, clock);
  const fleet = await fleetRounds(s, clock, setup);
  clock.log('hook overhead: pure pipeline and app.inject with a recorded reader');
  const overhead = await measureOverheadInOwnProcess(
    setup.fleets.hook.drivers.map((d) => d.body()),
    setup,
  );
  const big = await bigRounds(s, clock, setup, rate(fleet.steady.hook));
  const load1 = loadavg();
  await setup.vault.stop();
  await setup.kube?.stop();

  const results = { s, setup, fleet, overhead, big, load0, load1 };
  const out = [...fleetReport(results), ...targetsReport(results), '', `total ${clock.elapsed()}`];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
