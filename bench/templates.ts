// spec.vault.templates: what rendering costs, and the
// worst event-loop stall hostile templates cause. The cost: the connection string
// rendered as a sync renders it (parse + render, no cache, under the deadline), and the
// deadline's own share (arming V8's watchdog starts a thread). The stall: each hostile
// VaultApp synced through app.inject (recorded reader, logging off) while
// perf_hooks.monitorEventLoopDelay samples the loop; a delay is how long /healthz and every
// other tenant's sync waited. Target: no stall past the render budget. Prints figures,
// asserts nothing. `npm run bench` runs it after the hostile reads; `npx tsx bench/templates.ts` alone.
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { VaultApp } from '../src/api/vaultapp-schema.js';
import { runWithin } from '../src/hook/secret-data/deadline.js';
import { MAX_INPUT_CHARS, RENDER_BUDGET_MS, RENDER_TIME_MS, renderTemplates } from '../src/hook/secret-data/templates.js';
import { buildApp } from '../src/http/app.js';
import { recordedReader } from '../src/vault/recorded-reader.js';
import { loadExample, request } from '../test/fixtures/requests.js';

const values = { db: { username: 'v-kubernetes-billing-Xk2f9', password: 'A1b2-C3d4-E5f6-G7h8-I9j0' } };
const example = { DATABASE_URL: 'postgresql://{{ db.username }}:{{ db.password | url_encode }}@db:5432/app' };

/** Microseconds of process CPU per call of `fn`, over `n` calls after a warm-up. */
function cpuPerCall(n: number, fn: () => void): number {
  for (let i = 0; i < n / 10; i++) fn();
  const started = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / n;
}

function renderCostReport(): string[] {
  const N = 5000;
  const render = cpuPerCall(N, () => renderTemplates(example, values));
  const deadline = cpuPerCall(N, () => runWithin(RENDER_TIME_MS, () => {}));
  return [
    `the issue's connection string: ${render.toFixed(1)} µs of CPU per render of a VaultApp's templates (${N} renders), of which the deadline ${deadline.toFixed(1)} µs (its watchdog thread, once per VaultApp per rendering sync; syncs that render nothing pay none)`,
  ];
}

// Each holds the loop its own way: refused at parse (the removed filters), by LiquidJS's
// limits between nodes, or cut by the deadline inside one node.
const contains50 = `{% assign a = (1..99999) %}{% if ${Array(50).fill('a contains 0').join(' or ')} %}y{% endif %}`;
const nestedLoops = '{% for i in (1..10000) %}{% for j in (1..10000) %}x{% endfor %}{% endfor %}';
const hostile: [string, Record<string, string>][] = [
  ['the where_exp over 10,000 (was 11.9 s)', { K: '{% assign a = (1..10000) %}{% assign b = a | where_exp: "x", "a contains 0" %}{{ b | size }}' }],
  ['group_by_exp over 450,000 (was 1.5 s)', { K: '{% assign a = (1..450000) %}{{ a | group_by_exp: "x", "x" | size }}' }],
  ['contains over 99,999, 50 times in one tag', { K: contains50 }],
  ['sort_natural of 49,999 (all the memory limit leaves)', { K: '{{ (1..49999) | sort_natural | size }}' }],
  // One native call each, which the deadline cannot stop midway: the caps keep it short.
  ['a list of 100,000 numbers written out', { K: '{{ (1..100000) }}' }],
  ['a string against a list of 100,000', { K: '{% if "x" contains (1..100000) %}y{% endif %}' }],
  ['a range of 100,000 url_encoded', { K: '{{ (1..100000) | url_encode | size }}' }],
  [`a value of ${MAX_INPUT_CHARS - 1} characters: slugify`, { K: '{{ db.big | slugify | size }}' }],
  [`a value of ${MAX_INPUT_CHARS - 1} characters: url_encode`, { K: '{{ db.big | url_encode | size }}' }],
  [`a value of ${MAX_INPUT_CHARS - 1} characters: replace "" (splits before it charges)`, { K: '{{ db.big | replace: "", "x" | size }}' }],
  ['nested loops of 10^4 × 10^4', { K: nestedLoops }],
  ['a string doubled 30 times', { K: '{% assign s = "xxxxxxxxxx" %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}{{ s }}' }],
  ['32 templates of the 50 × contains', Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`t${String(i).padStart(2, '0')}`, contains50]))],
  ['32 templates of nested loops', Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`t${String(i).padStart(2, '0')}`, nestedLoops]))],
];

interface StallResult {
  name: string;
  outcome: string;
  maxDelayMs: number;
  cpuMs: number;
}

function appWith(templates: Record<string, string>): VaultApp {
  const app = loadExample();
  app.spec.vault.secrets = [
    { path: 'kv/data/billing/database', key: 'username', name: 'db' },
    { path: 'kv/data/billing/database', key: 'password', name: 'db' },
    { path: 'kv/data/billing/database', key: 'big', name: 'db' },
  ];
  app.spec.vault.templates = templates;
  return app;
}

export async function measureTemplateStalls(): Promise<StallResult[]> {
  // A value as long as the templates may read, in every VaultApp of the bench.
  const big = 'é-a '.repeat(MAX_INPUT_CHARS / 4).slice(0, MAX_INPUT_CHARS - 1 - values.db.username.length - values.db.password.length);
  const reader = recordedReader({ values: { 'kv/data/billing/database': { ...values.db, big } } });
  const config = { hmacKey: 'bench-hmac-key-0123456789abcdef', resyncSeconds: 300, errorBackoffMinSeconds: 5, logLevel: 'silent', bodyLimit: 8 * 1024 * 1024 };
  const app = await buildApp({ config, reader, logger: false, unchangedAnswers: false });
  const results: StallResult[] = [];
  try {
    const send = (templates: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(request(appWith(templates))) });
    await send(example); // compiles validators, warms the JIT
    for (const [name, templates] of hostile) {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      // The histogram counts from its first tick: a block before it would go unseen.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const cpu = process.cpuUsage();
      const res = await send(templates);
      const used = process.cpuUsage(cpu);
      // One more turn of the loop, so that a block at the very end is sampled too.
      await new Promise((resolve) => setTimeout(resolve, 2));
      histogram.disable();
      const synced = (JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string; message: string }[] } }).status?.conditions?.find(
        (c) => c.type === 'SecretsSynced',
      );
      results.push({
        name,
        outcome: outcomeOf(res.statusCode, synced?.status === 'True' ? undefined : synced?.message),
        maxDelayMs: histogram.max / 1e6,
        cpuMs: (used.user + used.system) / 1000,
      });
    }
  } finally {
    await app.close();
  }
  return results;
}

// The first template's problem, without the key: what stopped it.
function outcomeOf(status: number, message: string | undefined): string {
  if (status !== 200) return `HTTP ${status}`;
  const first = (message ?? 'rendered').split('; ')[0]!.replace(/^template "[^"]*": /, '');
  return first
    .replace(/ \(docs\/templates\.md .*\)$/, '')
    .replace(/ the \d+ ms all templates .*$/, '')
    .replace(/ the \d+ characters templates may read$/, '')
    .replace(/, the templates before it used$/, '');
}

export async function templateStallReport(): Promise<string[]> {
  const rows = await measureTemplateStalls();
  const width = Math.max(...rows.map((r) => r.name.length));
  const outcomeWidth = Math.max(...rows.map((r) => r.outcome.length));
  const worst = Math.max(...rows.map((r) => r.maxDelayMs));
  return [
    `## Hostile templates: worst event-loop stall while the hook syncs each (budget ${RENDER_BUDGET_MS} ms a VaultApp; load average ${loadavg()[0]!.toFixed(1)})`,
    '',
    `${'templates'.padEnd(width)}  ${'first outcome'.padEnd(outcomeWidth)}  ${'max loop delay ms'.padStart(17)}  ${'CPU ms'.padStart(7)}`,
    ...rows.map(
      (r) => `${r.name.padEnd(width)}  ${r.outcome.padEnd(outcomeWidth)}  ${r.maxDelayMs.toFixed(1).padStart(17)}  ${r.cpuMs.toFixed(1).padStart(7)}`,
    ),
    '',
    `target: no stall past the render budget (${RENDER_BUDGET_MS} ms) | measured: worst ${worst.toFixed(1)} ms | ${worst <= RENDER_BUDGET_MS ? 'MET' : 'NOT MET'}`,
    `In-process, app.inject, recorded reader. LiquidJS's render limit (what is left of ${RENDER_TIME_MS} ms, checked between nodes) ends most; the deadline cuts what holds one node.`,
    'The delay is wall clock: on a loaded machine it includes time the process was not scheduled (CPU ms beside it).',
    '',
    ...renderCostReport(),
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`\n${(await templateStallReport()).join('\n')}\n`);
}
