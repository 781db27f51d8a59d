// spec.vault.templates: Secret keys rendered from the values of named vault.secrets
// entries with Liquid. Templates are tenant-written and run in the shared hook, so the
// engine is LiquidJS, made for untrusted templates, with every limit set: own properties
// only (no prototype, no constructor), no file system (include, render and layout are
// removed), parse, render-time and memory limits, and a cap on the output. Strict
// variables: a misspelt {{ db.usernme }} would otherwise render a connection string
// without its user, silently; strict, it is an error naming the key. Filters whose
// output depends on the clock are removed: a value that changes at every render would
// write the Secret at every sync, and each write brings the next sync. Pure.
import { Liquid } from 'liquidjs';
import { MAX_TEMPLATE_LENGTH } from '../api/vaultapp-schema.js';
import { problem, type Problem } from '../errors/catalog.js';
import { ownSet } from './own.js';

/** Milliseconds one template may render; the whole sync has Metacontroller's 10 s. */
export const RENDER_LIMIT_MS = 100;
/** Milliseconds all templates of one VaultApp may render in one sync: 32 hostile templates cost this, not 32 × the limit. */
export const RENDER_BUDGET_MS = 200;
/** LiquidJS's allocation budget per render (array and string building counts against it). */
export const MEMORY_LIMIT = 1_000_000;
/** Bytes one rendered value may have. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

const engine = new Liquid({
  templates: {},
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  parseLimit: MAX_TEMPLATE_LENGTH,
  renderLimit: RENDER_LIMIT_MS,
  memoryLimit: MEMORY_LIMIT,
});
for (const tag of ['include', 'render', 'layout', 'block']) delete engine.tags[tag];
for (const filter of Object.keys(engine.filters)) if (filter.startsWith('date')) engine.unregisterFilter(filter);

/** Values by entry name, then by the entry's Vault key: {{ db.username }}. */
export type TemplateValues = Record<string, Record<string, string>>;

// What LiquidJS says is about the template (a tag, a variable or filter name, a position);
// its first line only, cut short. Should a message ever quote a value (a filter's own error),
// the value is blanked: a condition is readable by far more people than the Secret.
function describeError(err: unknown, values: TemplateValues): string {
  const text = err instanceof Error ? err.message : String(err);
  let first = text.split('\n')[0] ?? '';
  for (const byKey of Object.values(values)) {
    for (const v of Object.values(byKey)) if (v.length >= 4) first = first.split(v).join('[value]');
  }
  return first.length > 200 ? `${first.slice(0, 200)}…` : first;
}

/** Renders every template; base64 values by key, or the problems naming the keys that failed. */
export function renderTemplates(templates: Record<string, string>, values: TemplateValues): { data: Record<string, string>; problems: Problem[] } {
  const data: Record<string, string> = {};
  const problems: Problem[] = [];
  // A fresh scope per template: nothing one template assigns is seen by the next.
  const started = performance.now();
  for (const [key, text] of Object.entries(templates).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const left = Math.floor(RENDER_BUDGET_MS - (performance.now() - started));
    if (left <= 0) {
      problems.push(
        problem(
          'TEMPLATE_ERROR',
          `template "${key}": not rendered, the templates before it used the ${RENDER_BUDGET_MS} ms a VaultApp's templates have per sync`,
        ),
      );
      continue;
    }
    let out: unknown;
    try {
      out = engine.parseAndRenderSync(text, scopeOf(values), { renderLimit: Math.min(RENDER_LIMIT_MS, left) });
    } catch (err) {
      problems.push(problem('TEMPLATE_ERROR', `template "${key}": ${describeError(err, values)}`));
      continue;
    }
    const rendered = typeof out === 'string' ? out : String(out);
    const bytes = Buffer.byteLength(rendered, 'utf8');
    if (bytes > MAX_OUTPUT_BYTES) {
      problems.push(problem('TEMPLATE_ERROR', `template "${key}": renders ${bytes} bytes, more than the ${MAX_OUTPUT_BYTES} a template may`));
      continue;
    }
    ownSet(data, key, Buffer.from(rendered, 'utf8').toString('base64'));
  }
  return { data, problems };
}

// Copies with own properties only: the scope holds strings under plain objects, nothing else.
function scopeOf(values: TemplateValues): Record<string, Record<string, string>> {
  const scope: Record<string, Record<string, string>> = {};
  for (const [name, byKey] of Object.entries(values)) {
    const entry: Record<string, string> = {};
    for (const [k, v] of Object.entries(byKey)) ownSet(entry, k, v);
    ownSet(scope, name, entry);
  }
  return scope;
}
