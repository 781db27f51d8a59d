// Render cost of spec.vault.templates (issue 12 item 3): the connection string,
// rendered as a sync renders it (parse + render, no cache), and one template at the
// render-time limit, for scale. `npx tsx bench/templates.ts`.
import { renderTemplates, RENDER_LIMIT_MS } from '../src/hook/templates.js';

const values = { db: { username: 'v-kubernetes-billing-Xk2f9', password: 'A1b2-C3d4-E5f6-G7h8-I9j0' } };
const example = { DATABASE_URL: 'postgresql://{{ db.username }}:{{ db.password | url_encode }}@db:5432/app' };
const N = 20_000;
for (let i = 0; i < 2000; i++) renderTemplates(example, values); // warm-up
let started = process.cpuUsage();
for (let i = 0; i < N; i++) renderTemplates(example, values);
let used = process.cpuUsage(started);
const perRender = (used.user + used.system) / N;
console.log(`the issue's connection string: ${perRender.toFixed(1)} µs of CPU per render (${N} renders)`);

started = process.cpuUsage();
const hostile = renderTemplates({ K: '{% for i in (1..10000) %}{% for j in (1..10000) %}x{% endfor %}{% endfor %}' }, values);
used = process.cpuUsage(started);
console.log(
  `a hostile nested loop: ${((used.user + used.system) / 1000).toFixed(0)} ms of CPU, then refused (${hostile.problems[0]?.message}); limit ${RENDER_LIMIT_MS} ms`,
);
